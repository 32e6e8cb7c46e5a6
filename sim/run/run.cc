// SPDX-License-Identifier: GPL-2.0-only
#include "sim/run/run.h"

#include "sim/run/planted_nondeterminism.h"
#include "sim/run/simulation.h"
#include "sim/workload/workload_generator.h"
#include "sim/world/prng.h"

namespace snapsim {

std::vector<Step> StepsForSeed(const Scenario& scenario, uint64_t seed) {
  Prng workload = Prng(seed).Split("workload");
  return GenerateWorkload(scenario, workload);
}

FaultProfile EffectiveFaults(const Scenario& scenario, uint64_t seed) {
  if (!scenario.swarm) return scenario.faults;
  Prng fault_prng = Prng(seed).Split("faults");
  SwarmOptions swarm;
  swarm.allow_beyond_contract = scenario.faults.BreaksContract();
  swarm.origin_sectors = scenario.geometry.origin_sectors;
  swarm.cow_sectors = scenario.geometry.cow_sectors;
  return SwarmProfile(fault_prng, swarm);
}

RunResult RunSteps(const Scenario& scenario, uint64_t seed, const std::vector<Step>& steps,
                   const RunOptions& options) {
  if (options.plant_nondeterminism) {
    RunOptions plain = options;
    plain.plant_nondeterminism = false;
    return RunSteps(scenario, seed, PlantedNondeterminism(steps), plain);
  }
  Simulation simulation(scenario, seed, options);
  return simulation.Run(steps);
}

RunResult RunSeed(const Scenario& scenario, uint64_t seed, const RunOptions& options) {
  return RunSteps(scenario, seed, StepsForSeed(scenario, seed), options);
}

}  // namespace snapsim
