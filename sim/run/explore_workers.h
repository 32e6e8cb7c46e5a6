// SPDX-License-Identifier: GPL-2.0-only
//
// ExploreInWorkers: the bounded-exhaustive exploration (explore.h) split over worker processes.
// The parent hands crash points out in order, one at a time, to whichever worker is idle (over
// a socket per worker: the point number out, the PointResult back as one JSON line), because
// points differ a hundredfold in cost. It adds the results up in point order, so the result,
// the findings and the log are those of Explore() whatever N is and whichever worker explored
// what (tests/explore_test.cc).
//
// Once a point reports that the workload ended before it, no later point is handed out; every
// worker is stopped once the points added reach that end. A worker that dies or sends a line the
// parent cannot read fails the exploration with an error naming the worker and the point.
#ifndef SNAPSIM_SIM_RUN_EXPLORE_WORKERS_H_
#define SNAPSIM_SIM_RUN_EXPLORE_WORKERS_H_

#include <cstdint>

#include "absl/status/statusor.h"
#include "sim/run/explore.h"
#include "sim/workload/scenario.h"

namespace snapsim {

inline constexpr uint32_t kMaxExploreWorkers = 256;

// REQUIRES: 1 <= workers <= kMaxExploreWorkers; options.only_point == 0 (one point is one
// process's work: use Explore).
absl::StatusOr<ExploreResult> ExploreInWorkers(const Scenario& scenario,
                                               const ExploreOptions& options, uint32_t workers);

}  // namespace snapsim

#endif  // SNAPSIM_SIM_RUN_EXPLORE_WORKERS_H_
