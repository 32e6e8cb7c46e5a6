// SPDX-License-Identifier: GPL-2.0-only
//
// Bounded-exhaustive exploration (the model-checker mode). For one scenario and seed, the run's
// steps are executed without their random crashes; crash point k is the moment just before the
// k-th I/O completion is delivered, for k = 1..bound. At each crash point every legal crash state
// is enumerated: every subset of the non-durable writes of the origin and of every COW (a
// scenario with several snapshots has one COW each; a power cut hits them all at once), and (when
// the product stays within max_states_per_point) every sector tear of each. Each state is recovered
// and checked against every invariant.
//
// Pruning: two crash states that leave the same bytes on every sector any non-durable write
// touches are the same disk image, so only the first is checked. States are compared by a 64-bit
// hash of those bytes per device (a collision, odds 2^-64 per pair, would skip a state). That
// covers a write identical to the durable content and a write fully overwritten by a later kept
// one. Because recovery and checks are deterministic functions of the images and the model,
// pruning never hides a finding (tests/explore_test.cc shows it against the unpruned
// enumeration).
//
// Incremental checks (ExploreOptions::incremental): each device's crash image is rebuilt in
// place from state to state, and a state whose bytes equal an earlier state's on every sector
// that state's recovery read reuses its recovery and re-reads only the chunks the point's writes
// touch (docs/checker.md, "Incremental checks"). Every state gets the findings and verdict
// counts a recovery from scratch gives it (tests/explore_test.cc compares them state by state).
//
// Each finding carries the command that explores exactly its crash point and state again
// (ExploreOptions::only_point, only_state), which reproduces it (tests/cli_explore_test.cc).
#ifndef SNAPSIM_SIM_RUN_EXPLORE_H_
#define SNAPSIM_SIM_RUN_EXPLORE_H_

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "nlohmann/json.hpp"
#include "sim/check/finding.h"
#include "sim/run/run.h"
#include "sim/workload/scenario.h"
#include "sim/workload/workload.h"

namespace snapsim {

// Crash states a point may have before tears are left out, then the point is skipped (both
// counted in the result and named in its summary). With 65,536 explore-small up to bound 64 skips
// no point and keeps the tears of 30 of its 51 (335,487 states: 1.7 s on one core, 0.8-0.9 s on
// two; 16,384 kept them at 23 points, 4,096 skipped three points).
inline constexpr uint64_t kDefaultMaxStatesPerPoint = 65536;

struct ExploreOptions {
  uint64_t seed = 1;
  uint32_t bound = 64;  // crash points (I/O completions), >= 1
  uint64_t max_states_per_point = kDefaultMaxStatesPerPoint;  // beyond: no tears; again: skip
  bool tears = true;  // enumerate sector tears of multi-sector writes
  bool prune = true;  // skip states equal to one already checked
  // How each crash state's checks read (sim/run/run.h); kThroughTarget is the slow reference.
  CheckReads check_reads = CheckReads::kDirect;
  // A state whose metadata bytes equal those of the last state recovered from scratch at its
  // point reuses that recovery and checks only the views again (RunOptions::reuse_recovery).
  // False: every state recovers from scratch (the reference the tests compare with).
  bool incremental = true;
  // TEST ONLY: called with every checked (not pruned) state's findings, as the check returned
  // them (before the explorer names the state in them).
  std::function<void(uint32_t point, uint64_t state, const std::vector<Finding>& findings)>
      on_state_checked;
  // Replay of one finding: explore crash point `only_point` alone (the bound is ignored), and
  // of its states only `only_state` (unpruned). 0 / nullopt: every point up to the bound, every
  // state. The state index counts the point's enumeration, so tears and max_states_per_point
  // must be as when the finding was found (its replay command carries them).
  uint32_t only_point = 0;
  std::optional<uint64_t> only_state;
  std::ostream* log_out = nullptr;
  // Findings replay with "<replay_prefix> --seed N --crash-point P --state I [...]": the explore
  // command with the scenario and its options, e.g. "snapsim explore --scenario S".
  std::string replay_prefix;
};

struct ExploreResult {
  uint32_t crash_points = 0;            // crash points reached (<= bound)
  uint32_t points_without_tears = 0;    // where tears would exceed the per-point limit
  uint32_t points_over_bound = 0;       // skipped: too many states even without tears
  bool run_ended_before_bound = false;  // the workload has fewer completions than the bound
  bool state_out_of_range = false;      // only_state is not a state of only_point
  uint64_t states_at_point = 0;         // with only_point: the states it enumerates
  uint64_t states_enumerated = 0;
  uint64_t states_pruned = 0;
  uint64_t states_checked = 0;
  // Of the states checked, those recovered from scratch; the others reused the recovery of a
  // state with the same metadata bytes (ExploreOptions::incremental).
  uint64_t states_recovered = 0;
  VerdictCounts verdicts;
  std::vector<Finding> findings;  // one per invariant, first crash point that shows it

  // "all N states up to bound K hold" or "K findings: ...".
  std::string Summary(uint32_t bound) const;
};

ExploreResult Explore(const Scenario& scenario, const ExploreOptions& options);

// One crash point's share of an exploration. Points are independent (each replays the workload
// from the start), so they can be explored in any order or process and added up in point order.
struct PointResult {
  uint32_t point = 0;
  bool reached = false;             // the workload has this many completions
  bool without_tears = false;       // tears would exceed the per-point limit
  bool over_bound = false;          // skipped: too many states even without tears
  bool state_out_of_range = false;  // only_state is not a state of this point
  uint64_t states_at_point = 0;
  uint64_t states_enumerated = 0;
  uint64_t states_pruned = 0;
  uint64_t states_checked = 0;
  uint64_t states_recovered = 0;
  VerdictCounts verdicts;         // of the whole replay, as Explore adds them
  std::vector<Finding> findings;  // one per invariant, the first state that shows it
};

// The steps every crash point replays: the seed's workload without its random crashes.
std::vector<Step> ExploreSteps(const Scenario& scenario, uint64_t seed);
// Explores crash point `point` alone. REQUIRES: point >= 1.
PointResult ExplorePoint(const Scenario& scenario, const std::vector<Step>& steps,
                         const ExploreOptions& options, uint32_t point);
// Adds the next point's result to `total` (and logs it to options.log_out). Add points in
// increasing order; returns false when the point was not reached: the exploration ends there.
bool AddPoint(const PointResult& point, const ExploreOptions& options, ExploreResult& total);

void to_json(nlohmann::json& j, const PointResult& p);
void from_json(const nlohmann::json& j, PointResult& p);

}  // namespace snapsim

#endif  // SNAPSIM_SIM_RUN_EXPLORE_H_
