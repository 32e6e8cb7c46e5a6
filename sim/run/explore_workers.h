// SPDX-License-Identifier: GPL-2.0-only
//
// ExploreInWorkers: the bounded-exhaustive exploration (explore.h) split over worker processes.
// Worker w of N explores crash points first + w, first + w + N, ... (interleaved, because a later
// point replays a longer prefix and costs more), and sends each point's PointResult as one JSON
// line through a pipe. The parent adds them up in point order, so the result, the findings and
// the log are those of Explore() whatever N is (tests/explore_test.cc).
//
// A worker stops after the first point its workload does not reach; the parent stops every
// worker once the points it has added reach that end. A worker that dies or sends a line the
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
