// SPDX-License-Identifier: GPL-2.0-only
//
// Every scenario in scenarios/ is a ctest test over its fixed ctest seeds. A scenario that
// expects "clean" must find nothing within the contract; one that names an invariant must find
// it on at least one of its seeds (it is a known finding of the faithful store). Every scenario
// must show, by its probes, that the faults it configures fired.
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "sim/run/run.h"
#include "sim/workload/scenario.h"
#include "sim/workload/scenario_toml.h"
#include "sim/world/fault_profile.h"
#include "tests/support/test_paths.h"

namespace snapsim {
namespace {

std::string ScenarioDir() { return std::string(testing::kSourceDir) + "/scenarios"; }

std::vector<std::string> ScenarioNames() {
  std::vector<std::string> names;
  absl::StatusOr<std::vector<Scenario>> all = ListScenarios(ScenarioDir());
  if (all.ok()) {
    for (const Scenario& s : *all) names.push_back(s.name);
  }
  return names;
}

class ScenarioSeedsTest : public ::testing::TestWithParam<std::string> {};

TEST_P(ScenarioSeedsTest, OutcomeMatchesExpectation) {
  absl::StatusOr<Scenario> scenario = LoadScenarioByName(GetParam(), ScenarioDir());
  ASSERT_TRUE(scenario.ok()) << scenario.status();
  std::vector<std::string> within;
  std::vector<std::string> all;
  uint64_t crashes = 0;
  uint64_t fault_probes = 0;
  for (uint64_t seed : scenario->ctest_seeds) {
    RunResult r = RunSeed(*scenario, seed);
    EXPECT_EQ(r.outcome.rfind("error", 0), std::string::npos) << r.outcome;
    crashes += r.crashes;
    for (const auto& [name, count] : r.probes) fault_probes += count;
    for (const Finding& f : r.findings) {
      all.push_back(f.invariant);
      if (f.contract == Contract::kWithin)
        within.push_back(f.invariant + " (" + f.replay_command + ")");
    }
  }
  if (scenario->expect == "clean") {
    EXPECT_TRUE(within.empty()) << "first: " << within[0];
  } else {
    EXPECT_NE(std::find(all.begin(), all.end(), scenario->expect), all.end())
        << scenario->name << " no longer finds " << scenario->expect;
  }
  EXPECT_GT(crashes + fault_probes, 0u)
      << "no crash and no fault fired: the scenario tests nothing";
}

// With every corrected option on, no scenario may find anything within the contract.
TEST_P(ScenarioSeedsTest, CorrectedStoreHolds) {
  absl::StatusOr<Scenario> scenario = LoadScenarioByName(GetParam(), ScenarioDir());
  ASSERT_TRUE(scenario.ok()) << scenario.status();
  ApplyCorrectedOptions(*scenario);
  for (uint64_t seed : scenario->ctest_seeds) {
    RunResult r = RunSeed(*scenario, seed);
    for (const Finding& f : r.findings) {
      EXPECT_NE(f.contract, Contract::kWithin)
          << f.invariant << " with every correction on: " << f.replay_command
          << " --option corrected\n"
          << f.detail;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Scenarios, ScenarioSeedsTest, ::testing::ValuesIn(ScenarioNames()),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           std::string name = info.param;
                           for (char& ch : name) {
                             if (ch == '-') ch = '_';
                           }
                           return name;
                         });

}  // namespace
}  // namespace snapsim
