// SPDX-License-Identifier: GPL-2.0-only
//
// TEST ONLY: a planted nondeterminism (RunOptions::plant_nondeterminism, `--plant-nondeterminism`)
// that proves the campaign's re-checks and the pinned trace hashes catch one (docs/determinism.md).
// It breaks, on purpose, the rule that pointer values and the process never decide anything.
#ifndef SNAPSIM_SIM_RUN_PLANTED_NONDETERMINISM_H_
#define SNAPSIM_SIM_RUN_PLANTED_NONDETERMINISM_H_

#include <vector>

#include "sim/workload/workload.h"

namespace snapsim {

// `steps` without one step. Which one is decided by a hash of an address and the process id, as
// the iteration order of a hash map keyed by pointers would be, so two processes running the same
// seed almost always drop different steps (and never the same trace as without the plant, unless
// the dropped step changes nothing).
std::vector<Step> PlantedNondeterminism(const std::vector<Step>& steps);

}  // namespace snapsim

#endif  // SNAPSIM_SIM_RUN_PLANTED_NONDETERMINISM_H_
