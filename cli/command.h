// SPDX-License-Identifier: GPL-2.0-only
//
// The registry of `snapsim` subcommands. A subcommand is one cli/cmd_<name>.cc file that defines
// its flags with ABSL_FLAG and registers itself with SNAPSIM_REGISTER_COMMAND; main.cc finds it
// by name, so adding a command touches nothing else.
//
// Contract:
//  - Abseil flags are process-global. A command lists the names of the flags it accepts in
//    `flags`; main rejects any other flag before parsing (one-line error, exit kExitUsage). A
//    command may accept a flag another command defines: ABSL_DECLARE_FLAG it and list its name.
//  - Flag names use '_' in code; on the command line '-' and '_' are interchangeable
//    (--chunk-sha256 is --chunk_sha256), and help prints them with '-'.
//  - Run() receives the positional arguments after the command name (flags already parsed) and
//    returns the process exit code: kExitOk, kExitFindings, or kExitUsage. Errors are one line on
//    stderr, "snapsim <command>: <problem>".
//  - Registration runs during static initialisation, in any order; Commands() is sorted by name.
#ifndef SNAPSIM_CLI_COMMAND_H_
#define SNAPSIM_CLI_COMMAND_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace snapsim::cli {

inline constexpr int kExitOk = 0;        // success, nothing found
inline constexpr int kExitFindings = 1;  // the command ran and found damage / violations
inline constexpr int kExitUsage = 2;     // bad usage or unusable input

using CommandMain = int (*)(const std::vector<std::string>& args);

struct Command {
  std::string_view name;     // "inspect"
  std::string_view summary;  // one line for the command list
  std::string_view usage;    // "snapsim inspect COW_IMAGE [--json] ...", then a description
  std::vector<std::string_view> flags;  // names of the Abseil flags the command accepts
  CommandMain run;
};

// Every registered command, sorted by name.
const std::vector<Command>& Commands();
// The command called `name`, or nullptr.
const Command* FindCommand(std::string_view name);

// Every value given for the flag `name` (spelled with '_') on the command line, in order, or
// nullopt when it was not given; boolean flags are not recorded. main fills this in before it runs
// the command, from the arguments it parsed (never from /proc): for commands that accept a scalar
// flag more than once (campaign's --scenario).
std::optional<std::vector<std::string>> GivenFlagValues(std::string_view name);

// Adds a command at static-initialisation time. Use through SNAPSIM_REGISTER_COMMAND.
struct CommandRegistrar {
  explicit CommandRegistrar(Command command);
};

#define SNAPSIM_REGISTER_COMMAND(ident, ...) \
  static const ::snapsim::cli::CommandRegistrar snapsim_command_registrar_##ident(__VA_ARGS__)

}  // namespace snapsim::cli

#endif  // SNAPSIM_CLI_COMMAND_H_
