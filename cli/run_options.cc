// SPDX-License-Identifier: GPL-2.0-only
#include "cli/run_options.h"

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "core/named_options.h"
#include "sim/workload/scenario_toml.h"
#include "util/absl_view.h"

namespace snapsim::cli {

absl::Status ApplyOptions(const std::vector<std::string>& names, Scenario& scenario) {
  for (const std::string& name : names) {
    if (name == kCorrectedOptionName) {
      ApplyCorrectedOptions(scenario);
    } else if (const NamedOption* option = FindNamedOption(name)) {
      SetNamedOption(*option, scenario.store, scenario.target);
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat("unknown --option '", name, "' (known: ", NamedOptionNames(), ")"));
    }
  }
  return absl::OkStatus();
}

std::string OptionFlagHelp() {
  return absl::StrCat(
      "named store/target options over the scenario's (comma-separated or repeated): ",
      NamedOptionNames());
}

void PrintNamedOptions(FILE* out) {
  absl::FPrintF(out,
                "\nnamed options (--option):\n  %-34s every option below that answers a finding\n",
                AbslView(kCorrectedOptionName));
  for (const NamedOption& option : kNamedOptions) {
    absl::FPrintF(out, "  %-34s %s\n", AbslView(option.name), AbslView(option.help));
  }
}

absl::StatusOr<Scenario> LoadScenarioWithOptions(const std::string& name, const std::string& dir,
                                                 const std::vector<std::string>& options) {
  absl::StatusOr<Scenario> scenario =
      LoadScenarioByName(name, dir.empty() ? DefaultScenarioDir() : dir);
  if (!scenario.ok()) return scenario.status();
  if (absl::Status s = ApplyOptions(options, *scenario); !s.ok()) return s;
  return scenario;
}

std::string ReplayPrefix(const std::string& scenario, const std::vector<std::string>& options,
                         const std::string& dir, const std::string& command) {
  std::string out = absl::StrCat("snapsim ", command, " --scenario ", scenario);
  if (!dir.empty()) absl::StrAppend(&out, " --scenario-dir ", dir);
  // One flag, comma-joined: Abseil keeps only the last of a repeated flag.
  if (!options.empty()) absl::StrAppend(&out, " --option ", absl::StrJoin(options, ","));
  return out;
}

absl::StatusOr<uint64_t> ParseSeed(const std::string& text) {
  uint64_t seed = 0;
  bool ok = false;
  if (absl::StartsWith(text, "0x") || absl::StartsWith(text, "0X")) {
    ok = absl::SimpleHexAtoi(text.substr(2), &seed);
  } else {
    ok = !text.empty() && text[0] != '-' && text[0] != '+' && absl::SimpleAtoi(text, &seed);
  }
  if (!ok) {
    return absl::InvalidArgumentError(
        absl::StrCat("bad seed '", text, "': expected an unsigned 64-bit number"));
  }
  return seed;
}

}  // namespace snapsim::cli
