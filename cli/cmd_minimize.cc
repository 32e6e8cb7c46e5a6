// SPDX-License-Identifier: GPL-2.0-only
//
// snapsim minimize: shrinks a failing seed to a minimal replayable case (a JSON file that
// `snapsim run --replay-case FILE` replays). Exit 0 when a case was written, 2 on bad input or
// when the seed does not fail.
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include "absl/flags/declare.h"
#include "absl/flags/flag.h"
#include "absl/strings/str_format.h"
#include "cli/command.h"
#include "cli/run_options.h"
#include "sim/run/minimize.h"
#include "sim/run/run.h"

ABSL_FLAG(std::string, out, "",
          "where the command writes its output (minimize: the case file, default "
          "snapsim-case-SCENARIO-SEED.json; campaign: the report directory; export: the image "
          "directory; kernel: the work directory, new or empty); existing files are never "
          "overwritten");
ABSL_FLAG(std::string, invariant, "", "invariant to keep failing (default: the first finding)");
ABSL_DECLARE_FLAG(std::string, scenario);
ABSL_DECLARE_FLAG(std::string, scenario_dir);
ABSL_DECLARE_FLAG(std::string, seed);
ABSL_DECLARE_FLAG(std::vector<std::string>, option);

namespace snapsim::cli {
namespace {

constexpr char kUsage[] =
    "usage: snapsim minimize --scenario NAME --seed N [--out CASE.json] [--invariant NAME]\n\n"
    "Delta-debugs the seed's workload steps and fault families down to a minimal case that\n"
    "still fails the same invariant, and writes it as a replayable case file. Replay it with\n"
    "`snapsim run --replay-case CASE.json`.\n"
    "Exit status: 0 case written, 2 bad input, or the seed does not fail.";

int Fail(const std::string& problem) {
  absl::FPrintF(stderr, "snapsim minimize: %s\n", problem);
  return kExitUsage;
}

int MinimizeMain(const std::vector<std::string>& args) {
  if (!args.empty()) return Fail("unexpected argument '" + args[0] + "'");
  if (absl::GetFlag(FLAGS_seed).empty()) return Fail("--seed is required");
  absl::StatusOr<uint64_t> seed = ParseSeed(absl::GetFlag(FLAGS_seed));
  if (!seed.ok()) return Fail(std::string(seed.status().message()));
  const std::vector<std::string> names = absl::GetFlag(FLAGS_option);
  absl::StatusOr<Scenario> scenario = LoadScenarioWithOptions(
      absl::GetFlag(FLAGS_scenario), absl::GetFlag(FLAGS_scenario_dir), names);
  if (!scenario.ok()) return Fail(std::string(scenario.status().message()));
  std::string out = absl::GetFlag(FLAGS_out);
  if (out.empty()) out = absl::StrFormat("snapsim-case-%s-%u.json", scenario->name, *seed);
  if (std::filesystem::exists(out)) {
    return Fail(absl::StrFormat("%s already exists; not overwriting it (choose --out)", out));
  }
  MinimizeOptions options;
  options.invariant = absl::GetFlag(FLAGS_invariant);
  options.log_out = &std::cout;
  absl::StatusOr<MinimizeResult> result = Minimize(*scenario, *seed, options);
  if (!result.ok()) return Fail(std::string(result.status().message()));
  if (absl::Status s = SaveReplayCase(result->replay_case, out); !s.ok()) {
    return Fail(absl::StrFormat("cannot write %s: %s", out, s.message()));
  }
  absl::PrintF("%s\nwrote %s\nreplay: snapsim run --replay-case %s\n", result->replay_case.note,
               out, out);
  return kExitOk;
}

}  // namespace

SNAPSIM_REGISTER_COMMAND(minimize,
                         Command{"minimize",
                                 "shrink a failing seed to a minimal replayable case",
                                 kUsage,
                                 {"scenario", "scenario_dir", "seed", "option", "out", "invariant"},
                                 &MinimizeMain});

}  // namespace snapsim::cli
