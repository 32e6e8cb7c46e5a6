// SPDX-License-Identifier: GPL-2.0-only
//
// Fuzz target: scenario TOML text (scenarios/*.toml, the scenario_toml of a replay case) through
// ParseScenario. A scenario that parses must survive its canonical form: ScenarioToToml, parsed
// again, gives an equal Scenario (scenario_toml.h's contract).
#include <cstdint>
#include <string_view>

#include "fuzz/fuzz_target.h"
#include "sim/workload/scenario_toml.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace snapsim;
  CheckRoundTrip(std::string_view(reinterpret_cast<const char*>(data), size), ParseScenario,
                 ScenarioToToml);
  return 0;
}
