// SPDX-License-Identifier: GPL-2.0-only
//
// Flags shared by the commands that run simulations (run, campaign, explore, minimize): which
// scenario, where scenarios live, and named store/target options layered over the scenario's.
#ifndef SNAPSIM_CLI_RUN_OPTIONS_H_
#define SNAPSIM_CLI_RUN_OPTIONS_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "sim/workload/scenario.h"

namespace snapsim::cli {

// The named options `--option` accepts, each a corrected behaviour or the newer-kernel copy skip.
const std::vector<std::string>& KnownOptionNames();

// Sets each named option on the scenario. Error names the unknown option.
absl::Status ApplyOptions(const std::vector<std::string>& names, Scenario& scenario);

// Loads the scenario called `name` from `dir` (empty: the default directory) and applies options.
absl::StatusOr<Scenario> LoadScenarioWithOptions(const std::string& name, const std::string& dir,
                                                 const std::vector<std::string>& options);

// "snapsim run --scenario NAME [--option X ...]" : the prefix of a replay command.
std::string ReplayPrefix(const std::string& scenario, const std::vector<std::string>& options,
                         const std::string& dir);

// Parses a seed: decimal or 0x-hex u64. Error names the text.
absl::StatusOr<uint64_t> ParseSeed(const std::string& text);

}  // namespace snapsim::cli

#endif  // SNAPSIM_CLI_RUN_OPTIONS_H_
