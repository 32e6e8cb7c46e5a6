// SPDX-License-Identifier: GPL-2.0-only
//
// snapsim scenarios [--dir DIR]: lists the scenario files, one line each: the name and the first
// line of the description. A broken file stops the listing with its one-line error (file, line,
// field), so a typo in scenarios/ shows up here before a run needs the file.
#include <cstdio>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/str_format.h"
#include "cli/command.h"
#include "sim/workload/scenario.h"
#include "sim/workload/scenario_toml.h"

ABSL_FLAG(std::string, dir, "",
          "directory of scenario files (default: $SNAPSIM_SCENARIO_DIR, else the project's "
          "scenarios/)");

namespace snapsim::cli {
namespace {

constexpr char kUsage[] =
    "snapsim scenarios [--dir DIR]\n\n"
    "Lists the scenarios: name and the first line of the description. Exits 2 naming the file,\n"
    "line and field of the first broken scenario file.";

int RunScenarios(const std::vector<std::string>& args) {
  if (!args.empty()) {
    absl::FPrintF(stderr, "snapsim scenarios: takes no arguments (see snapsim scenarios --help)\n");
    return kExitUsage;
  }
  std::string dir = absl::GetFlag(FLAGS_dir);
  if (dir.empty()) dir = DefaultScenarioDir();
  absl::StatusOr<std::vector<Scenario>> scenarios = ListScenarios(dir);
  if (!scenarios.ok()) {
    absl::FPrintF(stderr, "snapsim scenarios: %s\n", scenarios.status().message());
    return kExitUsage;
  }
  size_t width = 0;
  for (const Scenario& s : *scenarios) width = std::max(width, s.name.size());
  for (const Scenario& s : *scenarios) {
    const std::string summary = s.description.substr(0, s.description.find('\n'));
    absl::PrintF("%-*s  %s\n", static_cast<int>(width), s.name, summary);
  }
  return kExitOk;
}

}  // namespace

SNAPSIM_REGISTER_COMMAND(scenarios, Command{
                                        .name = "scenarios",
                                        .summary = "list the scenario files",
                                        .usage = kUsage,
                                        .flags = {"dir"},
                                        .run = RunScenarios,
                                    });

}  // namespace snapsim::cli
