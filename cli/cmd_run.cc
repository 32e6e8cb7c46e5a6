// SPDX-License-Identifier: GPL-2.0-only
//
// snapsim run: one seed of one scenario, end to end. Prints what happened (crashes, recoveries,
// every invariant's verdict), the trace hash and the command that replays it. Exit 0 when every
// invariant held, 1 on findings, 2 on bad input.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "absl/flags/declare.h"
#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "cli/command.h"
#include "cli/run_options.h"
#include "sim/check/invariants.h"
#include "sim/run/replay_case.h"
#include "sim/run/run.h"
#include "util/atomic_file.h"

ABSL_FLAG(std::string, scenario, "default", "scenario name (a file NAME.toml in the scenario dir)");
ABSL_FLAG(std::string, scenario_dir, "", "directory of scenario files (default: the project's)");
ABSL_FLAG(std::string, seed, "", "the run's 64-bit seed (decimal or 0x hex)");
ABSL_FLAG(std::string, trace, "", "write every event as JSON lines to this file");
// The help lists the names from core/named_options.h (built when --help asks for it).
ABSL_FLAG(std::vector<std::string>, option, {}, snapsim::cli::OptionFlagHelp());
ABSL_FLAG(std::string, replay_case, "", "replay a minimized case file instead of a seed");
ABSL_FLAG(std::string, export_dir, "", "write the first crash state's origin.img and cow.img here");
ABSL_FLAG(bool, plant_nondeterminism, false,
          "TESTING ONLY: let the process id decide one step, to prove that re-checks and pinned "
          "trace hashes catch nondeterminism (docs/determinism.md)");
ABSL_DECLARE_FLAG(bool, json);

namespace snapsim::cli {
namespace {

constexpr char kUsage[] =
    "usage: snapsim run [--scenario NAME] --seed N [--trace FILE] [--option NAME...] [--json]\n"
    "       snapsim run --replay-case CASE.json [--trace FILE] [--json]\n\n"
    "Runs one seed: a crash-and-recover workload on simulated devices, checking every\n"
    "invariant after each recovery. Prints the verdicts, the trace hash and the replay command.\n"
    "A replay case that records its trace hash (minimized cases do) must replay with it; if not,\n"
    "one line on stderr says so and the exit status is 1 (not checked with --option).\n"
    "Exit status: 0 every invariant held, 1 findings, 2 bad input.";

int Fail(const std::string& problem) {
  absl::FPrintF(stderr, "snapsim run: %s\n", problem);
  return kExitUsage;
}

void PrintHuman(const RunResult& r, const std::string& log) {
  std::cout << log;
  absl::PrintF("\nverdicts (checked / failed):\n");
  for (const InvariantInfo& info : kInvariants) {
    auto it = r.verdicts.find(std::string(info.name));
    if (it == r.verdicts.end()) {
      absl::PrintF("  %-28s not exercised\n", info.name);
    } else {
      absl::PrintF("  %-28s %6u / %-4u %s\n", info.name, it->second.checked, it->second.failed,
                   it->second.failed == 0 ? "holds" : "VIOLATED");
    }
  }
  absl::PrintF("faults fired:");
  int fired = 0;
  for (const auto& [name, count] : r.probes) {
    if (count == 0) continue;
    absl::PrintF(" %s=%u", name, count);
    ++fired;
  }
  absl::PrintF("%s\n", fired == 0 ? " none" : "");
  for (const Finding& f : r.findings) {
    absl::PrintF(
        "\nFINDING %s%s (%s, %s contract) at crash %u (%s)\n  expected: %s\n  actual:   %s\n"
        "  %s\n",
        f.invariant, OnSnapshot(f, r.snapshots), FindingSeverityName(f.severity),
        ContractName(f.contract), f.crash_index, f.crash_point.empty() ? "no crash" : f.crash_point,
        f.expected, f.actual, f.detail);
  }
  absl::PrintF("\nseed %u: %s; %u events, %u I/Os, %u crashes, %u crash states checked\n", r.seed,
               r.outcome, r.events, r.ios, r.crashes, r.crash_states_checked);
  absl::PrintF("trace hash %016x\n", r.trace_hash);
  absl::PrintF("replay: %s\n", r.replay_command);
}

int RunMain(const std::vector<std::string>& args) {
  if (!args.empty()) return Fail("unexpected argument '" + args[0] + "'");
  const std::string case_path = absl::GetFlag(FLAGS_replay_case);
  // A case holds its own scenario and seed: a flag that would choose others is a contradiction.
  for (const char* chosen_by_case : {"seed", "scenario", "scenario_dir"}) {
    if (!case_path.empty() && GivenFlagValues(chosen_by_case)) {
      return Fail(
          absl::StrFormat("--replay-case runs the case's own scenario and seed: --%s "
                          "cannot be given with it",
                          absl::StrReplaceAll(chosen_by_case, {{"_", "-"}})));
    }
  }
  Scenario scenario;
  uint64_t seed = 0;
  std::vector<Step> steps;
  RunOptions options;
  std::optional<ReplayCase> replay_case;  // checked against its recorded trace hash
  if (!case_path.empty()) {
    absl::StatusOr<ReplayCase> replay = LoadReplayCase(case_path);
    if (!replay.ok()) return Fail(std::string(replay.status().message()));
    if (absl::GetFlag(FLAGS_option).empty()) replay_case = *replay;
    scenario = replay->scenario;
    seed = replay->seed;
    steps = replay->steps;
    // --option switches corrections on over the case's own options: "does the fix hold here?"
    const std::vector<std::string> names = absl::GetFlag(FLAGS_option);
    if (absl::Status s = ApplyOptions(names, scenario); !s.ok()) {
      return Fail(std::string(s.message()));
    }
    options.replay_prefix = "snapsim run --replay-case " + case_path;
    if (!names.empty())
      absl::StrAppend(&options.replay_prefix, " --option ", absl::StrJoin(names, ","));
    options.replay_prefix_is_complete = true;
  } else {
    if (absl::GetFlag(FLAGS_seed).empty()) return Fail("--seed is required (or --replay-case)");
    absl::StatusOr<uint64_t> parsed = ParseSeed(absl::GetFlag(FLAGS_seed));
    if (!parsed.ok()) return Fail(std::string(parsed.status().message()));
    seed = *parsed;
    const std::vector<std::string> names = absl::GetFlag(FLAGS_option);
    absl::StatusOr<Scenario> loaded = LoadScenarioWithOptions(
        absl::GetFlag(FLAGS_scenario), absl::GetFlag(FLAGS_scenario_dir), names);
    if (!loaded.ok()) return Fail(std::string(loaded.status().message()));
    scenario = *loaded;
    steps = StepsForSeed(scenario, seed);
    options.replay_prefix = ReplayPrefix(scenario.name, names, absl::GetFlag(FLAGS_scenario_dir));
  }
  std::ostringstream trace;
  std::ostringstream log;
  const std::string trace_path = absl::GetFlag(FLAGS_trace);
  if (!trace_path.empty()) {
    // Refused before the run, so no work is thrown away and nothing at the path is replaced.
    if (absl::Status s = CheckNewFilePath(trace_path); !s.ok()) {
      return Fail(absl::StrFormat("--trace %s", s.message()));
    }
    options.trace_out = &trace;
  }
  if (!absl::GetFlag(FLAGS_json)) options.log_out = &log;
  options.export_dir = absl::GetFlag(FLAGS_export_dir);
  if (std::error_code ec; !options.export_dir.empty() &&
                          std::filesystem::exists(options.export_dir, ec) &&
                          !std::filesystem::is_directory(options.export_dir, ec)) {
    return Fail(
        absl::StrFormat("--export-dir %s: exists and is not a directory", options.export_dir));
  }
  // Refused before the run, as `export` does: an image the user has is never overwritten.
  for (const char* image : {"origin.img", "cow.img"}) {
    if (options.export_dir.empty()) break;
    const std::string path = (std::filesystem::path(options.export_dir) / image).string();
    if (absl::Status s = CheckNewFilePath(path); !s.ok()) {
      return Fail(absl::StrFormat("--export-dir: %s", s.message()));
    }
  }
  options.plant_nondeterminism = absl::GetFlag(FLAGS_plant_nondeterminism);
  absl::Status export_status;
  options.export_status = &export_status;
  RunResult result = RunSteps(scenario, seed, steps, options);
  if (!trace_path.empty()) {
    if (absl::Status s = WriteNewFileAtomically(trace_path, trace.str()); !s.ok()) {
      return Fail(absl::StrFormat("cannot write trace %s: %s", trace_path, s.message()));
    }
  }
  if (!export_status.ok()) {
    return Fail(absl::StrFormat("--export-dir: export failed: %s", export_status.message()));
  }
  if (absl::GetFlag(FLAGS_json)) {
    std::cout << nlohmann::json(result).dump(2) << "\n";
  } else {
    PrintHuman(result, log.str());
  }
  if (result.outcome.rfind("error", 0) == 0) return Fail(result.outcome);
  if (replay_case) {
    if (absl::Status s = CheckReplayHash(*replay_case, result.trace_hash, case_path); !s.ok()) {
      absl::FPrintF(stderr, "snapsim run: %s\n", s.message());
      return kExitFindings;
    }
  }
  return result.findings.empty() ? kExitOk : kExitFindings;
}

}  // namespace

SNAPSIM_REGISTER_COMMAND(run, Command{"run",
                                      "run one seed of a scenario and check every invariant",
                                      kUsage,
                                      {"scenario", "scenario_dir", "seed", "trace", "option",
                                       "replay_case", "export_dir", "json", "plant_nondeterminism"},
                                      &RunMain});

}  // namespace snapsim::cli
