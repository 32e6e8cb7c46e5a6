// SPDX-License-Identifier: GPL-2.0-only
//
// snapsim export: runs one seed and writes the durable images of its first crash state (the
// origin and the COW as they were when the simulated machine died) as files, so that `snapsim
// inspect`, a real dm-snapshot on loop devices, or a hex editor can look at them.
// Exit 0 images written, 1 the run also had findings (images written all the same), 2 bad input,
// an image already there, or a run that never crashed.
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "absl/flags/declare.h"
#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "cli/command.h"
#include "cli/run_options.h"
#include "sim/run/run.h"

ABSL_DECLARE_FLAG(std::string, scenario);
ABSL_DECLARE_FLAG(std::string, scenario_dir);
ABSL_DECLARE_FLAG(std::string, seed);
ABSL_DECLARE_FLAG(std::vector<std::string>, option);
ABSL_DECLARE_FLAG(std::string, out);

namespace snapsim::cli {
namespace {

namespace fs = std::filesystem;

constexpr char kUsage[] =
    "usage: snapsim export [--scenario NAME] --seed N --out DIR [--option NAME...]\n\n"
    "Runs the seed and writes the durable images at its first crash to DIR/origin.img and\n"
    "DIR/cow.img (never overwriting them), then prints the commands that inspect them.\n"
    "Exit status: 0 written, 1 written and the run had findings, 2 bad input, existing\n"
    "images, or a run without a crash.";

constexpr const char* kImageNames[] = {"origin.img", "cow.img"};

int Fail(const std::string& problem) {
  absl::FPrintF(stderr, "snapsim export: %s\n", problem);
  return kExitUsage;
}

int ExportMain(const std::vector<std::string>& args) {
  if (!args.empty()) return Fail("unexpected argument '" + args[0] + "'");
  if (absl::GetFlag(FLAGS_seed).empty()) return Fail("--seed is required");
  absl::StatusOr<uint64_t> seed = ParseSeed(absl::GetFlag(FLAGS_seed));
  if (!seed.ok()) return Fail(std::string(seed.status().message()));
  const std::string out = absl::GetFlag(FLAGS_out);
  if (out.empty()) return Fail("--out DIR is required");
  std::error_code ec;
  if (fs::exists(out, ec) && !fs::is_directory(out, ec)) {
    return Fail(absl::StrCat(out, " exists and is not a directory"));
  }
  for (const char* name : kImageNames) {
    const fs::path image = fs::path(out) / name;
    if (fs::exists(image, ec)) {
      return Fail(absl::StrCat(image.string(), " already exists; not overwriting it"));
    }
  }
  const std::vector<std::string> names = absl::GetFlag(FLAGS_option);
  absl::StatusOr<Scenario> scenario = LoadScenarioWithOptions(
      absl::GetFlag(FLAGS_scenario), absl::GetFlag(FLAGS_scenario_dir), names);
  if (!scenario.ok()) return Fail(std::string(scenario.status().message()));

  RunOptions options;
  options.replay_prefix = ReplayPrefix(scenario->name, names, absl::GetFlag(FLAGS_scenario_dir));
  options.export_dir = out;
  absl::Status export_status;
  options.export_status = &export_status;
  const RunResult result = RunSeed(*scenario, *seed, options);
  if (result.outcome.rfind("error", 0) == 0) return Fail(result.outcome);
  if (!export_status.ok()) return Fail(absl::StrCat("export failed: ", export_status.message()));
  for (const char* name : kImageNames) {
    if (!fs::exists(fs::path(out) / name, ec)) {
      return Fail(
          absl::StrFormat("seed %u of %s wrote no %s (the run never crashed, or the "
                          "write failed): try another seed",
                          *seed, scenario->name, name));
    }
  }
  const std::string cow = (fs::path(out) / "cow.img").string();
  const std::string origin = (fs::path(out) / "origin.img").string();
  absl::PrintF("seed %u of %s: first crash state written to %s (origin.img, cow.img)\n", *seed,
               scenario->name, out);
  absl::PrintF("run: %s: %u crashes, %u findings; replay: %s\n", result.outcome, result.crashes,
               result.findings.size(), result.replay_command);
  absl::PrintF(
      "inspect it:\n  snapsim inspect %s\n  snapsim inspect --json %s\n"
      "  snapsim inspect --origin %s --chunk-sha256 %s\n",
      cow, cow, origin, cow);
  return result.findings.empty() ? kExitOk : kExitFindings;
}

}  // namespace

SNAPSIM_REGISTER_COMMAND(export, Command{"export",
                                         "write the first crash state of a seed as image files",
                                         kUsage,
                                         {"scenario", "scenario_dir", "seed", "option", "out"},
                                         &ExportMain});

}  // namespace snapsim::cli
