// SPDX-License-Identifier: GPL-2.0-only
//
// The TOML form of a Scenario (scenario.h): reading the files in scenarios/ and writing the
// canonical text a run prints and a replay case embeds. docs/scenarios.md is the format.
//
// Contract:
//  - Errors are one line, "<file>:<line>: <field>: <problem>", e.g.
//    "scenarios/x.toml:12: workload.max_in_flight: must be 1..256, got 0". Unknown keys, missing
//    required keys, wrong types, values out of range and TOML syntax errors are all errors.
//  - ScenarioToToml writes every field (defaults included) in a fixed order; parsing its output
//    gives back an equal Scenario (source_file aside).
//  - The [faults] keys are the rows of kFaultFields (sim/world/fault_fields.h); the [store] and
//    [target] booleans are the rows of kNamedOptions (core/named_options.h).
#ifndef SNAPSIM_SIM_WORKLOAD_SCENARIO_TOML_H_
#define SNAPSIM_SIM_WORKLOAD_SCENARIO_TOML_H_

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "sim/workload/scenario.h"

namespace snapsim {

// Parses TOML text; `source` names it in errors (a path, or "<case.json> scenario").
absl::StatusOr<Scenario> ParseScenario(std::string_view toml_text, std::string_view source);
// Reads and parses a file; its `name` must equal the file's stem.
absl::StatusOr<Scenario> LoadScenarioFile(const std::string& path);
// `dir`/`name`.toml.
absl::StatusOr<Scenario> LoadScenarioByName(std::string_view name, const std::string& dir);
// Every *.toml in `dir`, sorted by name; the first broken file is the error.
absl::StatusOr<std::vector<Scenario>> ListScenarios(const std::string& dir);

// Canonical TOML of every field.
std::string ScenarioToToml(const Scenario& scenario);

}  // namespace snapsim

#endif  // SNAPSIM_SIM_WORKLOAD_SCENARIO_TOML_H_
