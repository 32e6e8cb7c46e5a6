// SPDX-License-Identifier: GPL-2.0-only
//
// One simulated run, end to end: build the world from a scenario and a seed, execute the steps
// (origin and snapshot bios, flushes, reloads, merges, crashes), recover after every crash the way
// a rebooted machine would, and check every invariant after each recovery and at quiescent points.
//
// Determinism: everything derives from `seed` through named Prng streams ("workload", "devices",
// "faults", "crash"); the same scenario, steps and seed give a byte-identical trace and the same
// trace hash.
#ifndef SNAPSIM_SIM_RUN_RUN_H_
#define SNAPSIM_SIM_RUN_RUN_H_

#include <cstdint>
#include <functional>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "sim/check/finding.h"
#include "sim/workload/scenario.h"
#include "sim/workload/workload.h"

namespace snapsim {

class PageStore;
class Model;

// A crash state handed to the exhaustive explorer instead of drawing fates at random.
struct CrashPointContext;

// How the checks after a crash read the snapshot and the origin.
enum class CheckReads : uint8_t {
  // As a user would: a bio through the target and the simulated I/O path, scheduler included.
  kThroughTarget,
  // In an explorer's check of a crash state, where a read returns the same bytes either way
  // (nothing in flight, no merge, quiet faults), straight from the devices' content: the
  // target's completed table picks COW chunk or origin, a latent read error still fails the
  // read. Elsewhere, and in the run that leads to the crash point, through the target. The
  // scratch check runs fewer events; verdicts and findings are the same (tests/explore_test.cc).
  kDirect,
};

struct RunOptions {
  std::ostream* trace_out = nullptr;  // JSON lines, or null
  std::ostream* log_out = nullptr;    // what happened, for people, or null
  // Printed in findings: "<prefix> --seed N" replays. Default "snapsim run --scenario NAME".
  std::string replay_prefix;
  // The prefix is the whole replay command (a replay case names its seed itself).
  bool replay_prefix_is_complete = false;
  // Exhaustive mode: crash when the `crash_at_completion`-th I/O completion is delivered
  // (1-based), hand the crash state to `on_crash_point`, and end the run. 0: off.
  uint64_t crash_at_completion = 0;
  std::function<void(CrashPointContext&)> on_crash_point;
  // How the checks of a crash state read (the explorer's: kDirect unless asked otherwise).
  CheckReads check_reads = CheckReads::kThroughTarget;
  // Explorer: a crash state with the same bytes as a state recovered from scratch at this crash
  // point, on every sector that state's recovery and table checks read, reuses that recovery
  // (same activation, same table, what it wrote written again), so only the views are checked
  // again on the new images. Taken where CheckReads::kDirect reads directly, with one snapshot
  // and no merge; elsewhere every state recovers from scratch. The verdicts are the same either
  // way (tests/explore_test.cc compares every state).
  bool reuse_recovery = false;
  // Write the durable images at the first crash (or at the end) here, if set: "<dir>/origin.img"
  // and "<dir>/cow.img".
  std::string export_dir;
  // If set, receives the export's outcome when one was attempted (left alone otherwise).
  absl::Status* export_status = nullptr;
  // TEST ONLY (sim/run/planted_nondeterminism.h): the process decides which workload step is
  // dropped, to prove that re-checks and pinned trace hashes catch nondeterminism. Off (the
  // default), it changes nothing.
  bool plant_nondeterminism = false;
};

RunResult RunSeed(const Scenario& scenario, uint64_t seed, const RunOptions& options = {});
RunResult RunSteps(const Scenario& scenario, uint64_t seed, const std::vector<Step>& steps,
                   const RunOptions& options = {});
// The fault profile a run of this seed uses: the scenario's, or its swarm draw.
FaultProfile EffectiveFaults(const Scenario& scenario, uint64_t seed);
// The scenario a run of this seed sees. A swarm scenario on a zeroed COW starts a quarter of its
// seeds on leftover COW data (a reused LV: only the header chunk is zero) with chunks of one or
// two sectors, so the table reaches areas the store must zero first, and crash triggers weighted
// towards area zeroings and area writes. Drawn from a stream of its own: the fault draw and the
// other seeds stay as they were. Other scenarios: unchanged.
Scenario ScenarioForSeed(const Scenario& scenario, uint64_t seed);
// The steps RunSeed would execute.
std::vector<Step> StepsForSeed(const Scenario& scenario, uint64_t seed);

}  // namespace snapsim

#endif  // SNAPSIM_SIM_RUN_RUN_H_
