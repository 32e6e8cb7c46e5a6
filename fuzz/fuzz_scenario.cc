// SPDX-License-Identifier: GPL-2.0-only
//
// Fuzz target: scenario TOML text (scenarios/*.toml, the scenario_toml of a replay case) through
// ParseScenario. A scenario that parses must survive its canonical form: ScenarioToToml, parsed
// again, gives an equal Scenario (scenario_toml.h's contract).
#include <cstdint>
#include <string_view>

#include "absl/status/statusor.h"
#include "fuzz/fuzz_target.h"
#include "sim/workload/scenario_toml.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace snapsim;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<Scenario> scenario = ParseScenario(text, "fuzz.toml");
  if (!scenario.ok()) {
    FuzzCheck(!scenario.status().message().empty(), "a refused scenario says why");
    return 0;
  }
  absl::StatusOr<Scenario> again = ParseScenario(ScenarioToToml(*scenario), "canonical.toml");
  FuzzCheck(again.ok(), "the canonical TOML of a scenario parses");
  FuzzCheck(*again == *scenario, "the canonical TOML gives back an equal scenario");
  return 0;
}
