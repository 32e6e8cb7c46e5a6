// SPDX-License-Identifier: GPL-2.0-only
//
// Minimizer: shrinks a failing run to a small replayable case that fails the same invariant.
//
// Method: delta debugging (Zeller's ddmin) over the workload steps, then over the fault
// families (each switched off if the failure survives), then single-step removal until no step
// can go. The candidate "still fails" when RunSteps reports a finding with the same invariant
// on the same snapshot (several snapshots: the snapshot of the original's first finding of that
// invariant), and, when MinimizeOptions::keep is set, keep holds of it too.
// The effective fault profile (after swarm selection) is written into the case, so the case
// replays without the swarm draw. Every candidate run is deterministic, so the result is too.
#ifndef SNAPSIM_SIM_RUN_MINIMIZE_H_
#define SNAPSIM_SIM_RUN_MINIMIZE_H_

#include <cstdint>
#include <functional>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "sim/run/replay_case.h"
#include "sim/workload/scenario.h"

namespace snapsim {

struct MinimizeOptions {
  // Invariant to keep failing; empty: the first finding of the original run.
  std::string invariant;
  uint32_t max_runs = 4000;  // candidate runs at most (kMaxMinimizeRuns caps it)
  // Also required of every candidate that fails the invariant, e.g. "a correction still makes it
  // pass", so that the case keeps the failure's cause. Each call counts as one run of max_runs.
  // Null: the invariant alone.
  std::function<bool(const Scenario& scenario, uint64_t seed, const std::vector<Step>& steps)> keep;
  std::ostream* log_out = nullptr;
};

struct MinimizeResult {
  ReplayCase replay_case;
  size_t original_steps = 0;
  uint32_t runs = 0;
  uint32_t fault_families_removed = 0;
};

inline constexpr uint32_t kMaxMinimizeRuns = 100000;

// FailedPrecondition if the seed does not fail (or not that invariant).
absl::StatusOr<MinimizeResult> Minimize(const Scenario& scenario, uint64_t seed,
                                        const MinimizeOptions& options);

}  // namespace snapsim

#endif  // SNAPSIM_SIM_RUN_MINIMIZE_H_
