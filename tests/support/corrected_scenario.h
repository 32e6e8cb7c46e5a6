// SPDX-License-Identifier: GPL-2.0-only
//
// Scenarios for the checker tests: loaded from the source tree's scenarios/, optionally with
// every corrected option on (the store the checker must find clean, so that only a mutation or
// the property under test can cause a finding).
#ifndef SNAPSIM_TESTS_SUPPORT_CORRECTED_SCENARIO_H_
#define SNAPSIM_TESTS_SUPPORT_CORRECTED_SCENARIO_H_

#include <string>

#include "gtest/gtest.h"
#include "sim/workload/scenario.h"
#include "sim/workload/scenario_toml.h"
#include "tests/support/test_paths.h"

namespace snapsim::testing {

// scenarios/<name>.toml; a load error fails the calling test and gives an empty Scenario.
inline Scenario LoadTestScenario(const std::string& name) {
  absl::StatusOr<Scenario> s = LoadScenarioByName(name, std::string(kSourceDir) + "/scenarios");
  if (!s.ok()) {
    ADD_FAILURE() << s.status();
    return Scenario{};
  }
  return *s;
}

inline Scenario LoadCorrectedScenario(const std::string& name) {
  Scenario scenario = LoadTestScenario(name);
  ApplyCorrectedOptions(scenario);
  return scenario;
}

// A scenario name as a gtest parameter name ("garbage-cow" -> "garbage_cow").
inline std::string TestNameOf(std::string name) {
  for (char& ch : name) {
    if (ch == '-') ch = '_';
  }
  return name;
}

}  // namespace snapsim::testing

#endif  // SNAPSIM_TESTS_SUPPORT_CORRECTED_SCENARIO_H_
