// SPDX-License-Identifier: GPL-2.0-only
#include "sim/run/run.h"

#include "sim/run/planted_nondeterminism.h"
#include "sim/run/simulation.h"
#include "sim/workload/workload_generator.h"
#include "sim/world/prng.h"

namespace snapsim {

std::vector<Step> StepsForSeed(const Scenario& scenario, uint64_t seed) {
  Prng workload = Prng(seed).Split("workload");
  return GenerateWorkload(ScenarioForSeed(scenario, seed), workload);
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

Scenario ScenarioForSeed(const Scenario& scenario, uint64_t seed) {
  if (!scenario.swarm || scenario.geometry.cow_initial != CowInitial::kZero) return scenario;
  Prng prng = Prng(seed).Split("cow-initial");
  if (!prng.Chance(Ratio{1, 4})) return scenario;
  Scenario s = scenario;
  s.geometry.cow_initial = CowInitial::kGarbage;
  s.geometry.chunk_sectors = prng.Chance(Ratio{1, 2}) ? 1 : 2;
  // Most crashes of these seeds land just after an area was zeroed or written, where a store
  // that skipped a zeroing would show the leftover bytes as a table.
  s.crash.trigger_weights[static_cast<size_t>(CrashTrigger::kNextAreaZeroed)] += 4;
  s.crash.trigger_weights[static_cast<size_t>(CrashTrigger::kAreaWriteCompleted)] += 2;
  return s;
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
