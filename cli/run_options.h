// SPDX-License-Identifier: GPL-2.0-only
//
// Flags shared by the commands that run simulations (run, campaign, explore, minimize): which
// scenario, where scenarios live, and named store/target options layered over the scenario's.
#ifndef SNAPSIM_CLI_RUN_OPTIONS_H_
#define SNAPSIM_CLI_RUN_OPTIONS_H_

#include <cstdio>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "sim/workload/scenario.h"

namespace snapsim::cli {

// Sets each named option (core/named_options.h, or `corrected`) on the scenario. Error names
// the unknown option and lists the known ones, on one line.
absl::Status ApplyOptions(const std::vector<std::string>& names, Scenario& scenario);

// The --option flag's help: what it does and the names it accepts.
std::string OptionFlagHelp();

// "named options" and one line per option with its help, for `--help` of commands with --option.
void PrintNamedOptions(FILE* out);

// Loads the scenario called `name` from `dir` (empty: the default directory) and applies options.
absl::StatusOr<Scenario> LoadScenarioWithOptions(const std::string& name, const std::string& dir,
                                                 const std::vector<std::string>& options);

// "snapsim run --scenario NAME [--option X ...]" : the prefix of a replay command (of
// `snapsim explore` with command "explore").
std::string ReplayPrefix(const std::string& scenario, const std::vector<std::string>& options,
                         const std::string& dir, const std::string& command = "run");

// Parses a seed: decimal or 0x-hex u64. Error names the text.
absl::StatusOr<uint64_t> ParseSeed(const std::string& text);

}  // namespace snapsim::cli

#endif  // SNAPSIM_CLI_RUN_OPTIONS_H_
