// SPDX-License-Identifier: GPL-2.0-only
//
// A workload is an explicit list of steps. The generator turns (scenario, workload stream of the
// run's Prng) into steps; the run executes them; the minimizer deletes steps; a minimized case
// stores them. Executing the same steps with the same seed gives the same run.
#ifndef SNAPSIM_SIM_WORKLOAD_WORKLOAD_H_
#define SNAPSIM_SIM_WORKLOAD_WORKLOAD_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/format.h"
#include "nlohmann/json.hpp"

namespace snapsim {

enum class StepKind : uint8_t {
  kOriginWrite,  // write [sector, sector+count) of the origin device
  kOriginRead,
  kSnapshotWrite,  // write through the snapshot device
  kSnapshotRead,
  kOriginFlush,     // empty FLUSH to the origin device
  kSnapshotFlush,   // empty FLUSH to the snapshot device (goes to the COW device)
  kDrain,           // wait until no bio is in flight (a quiescent point: the model checks here)
  kReload,          // clean deactivate + reactivate from disk (drains first)
  kStartMerge,      // switch to a snapshot-merge target and start merging (drains first)
  kMergeInterrupt,  // stop a running merge (deactivate) and resume it with a new target
  kCrash,           // crash the world at the point `trigger` names, then recover
  // Several snapshots ([[snapshots]]): lvcreate -s / lvremove of further snapshot `snapshot`
  // (>= 1) on the live origin (drains first). Placed by GenerateWorkload at the scenario's
  // create_at_step / remove_at_step; a make of an existing or a removal of an absent snapshot
  // (a minimized case may hold one) does nothing.
  kMakeSnapshot,
  kRemoveSnapshot,
};

// Where a kCrash step stops the world. The run recognises these points from the I/O stream alone
// (a FLUSH|FUA write of an area chunk is the area write, a plain all-zero write of an area chunk
// is the next-area zeroing), never from the store's private state.
enum class CrashTrigger : uint8_t {
  kAfterEvents,         // after `count` more scheduler events (0: at once)
  kAreaWriteSubmitted,  // when the next area write is submitted (queued, not complete)
  kAreaWriteCompleted,  // just after the next area write completes (before its callbacks)
  kNextAreaZeroed,      // just after the next zeroing of a metadata area completes
  kCopyCompleted,       // just after the next exception copy's COW write completes
  kMergeStep,           // just after the next merge copy's origin write completes
  kHeaderWritten,       // just after the next write of the COW header completes (a new
                        //   snapshot's setup, before area 0 is zeroed; or an invalidation)
};

// Bound on the steps of one run (generated or replayed): every producer asserts it.
inline constexpr size_t kMaxStepsPerRun = 100'000;

// Names used in JSON and scenario files: "origin_write", ..., "merge_start", "crash";
// "after_events", "area_write_submitted", ... Parse* return nullopt for an unknown name.
const char* CrashTriggerName(CrashTrigger trigger);
const char* StepKindName(StepKind kind);
// A read or a write (of the origin or a snapshot): the steps with a sector and a count.
bool IsIo(StepKind kind);
// kMakeSnapshot or kRemoveSnapshot.
bool IsSnapshotStep(StepKind kind);
// Step::snapshot applies: the make and remove steps, and snapshot reads, writes and FLUSHes.
bool TakesSnapshotIndex(StepKind kind);
std::optional<CrashTrigger> ParseCrashTrigger(std::string_view name);
std::optional<StepKind> ParseStepKind(std::string_view name);

inline constexpr size_t kNumStepKinds = static_cast<size_t>(StepKind::kRemoveSnapshot) + 1;
inline constexpr size_t kNumCrashTriggers = static_cast<size_t>(CrashTrigger::kHeaderWritten) + 1;

struct Step {
  StepKind kind = StepKind::kDrain;
  sector_t sector = 0;  // reads and writes only
  uint32_t count = 0;   // sectors for reads and writes; events for kCrash/kAfterEvents
  CrashTrigger trigger = CrashTrigger::kAfterEvents;  // kCrash only
  // Simulated time to wait before issuing this step, in ns (models think time between bios).
  uint64_t delay_ns = 0;
  // kMakeSnapshot and kRemoveSnapshot: the further snapshot, >= 1. Snapshot reads, writes and
  // FLUSHes: the snapshot they go to, 0 the first. Other kinds: 0.
  uint32_t snapshot = 0;
};

// JSON form: {"kind": "origin_write", "sector": 8, "count": 4, "delay_ns": 0} (reads and
// writes), {"kind": "crash", "trigger": "after_events", "count": 12}, {"kind": "drain"},
// {"kind": "snapshot_create", "snapshot": 1}. Fields
// that do not apply to the kind are left out; from_json treats a missing one as 0 and throws
// std::invalid_argument for an unknown kind, trigger or key.
void to_json(nlohmann::json& j, const Step& s);
void from_json(const nlohmann::json& j, Step& s);

}  // namespace snapsim

#endif  // SNAPSIM_SIM_WORKLOAD_WORKLOAD_H_
