// SPDX-License-Identifier: GPL-2.0-only
//
// snapsim explore: the bounded-exhaustive mode. Enumerates every crash state at every crash point
// up to the bound and checks each; ends with "all states up to bound K hold" or the findings.
// Exit 0 when everything held, 1 on findings, 2 on bad input.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "absl/flags/declare.h"
#include "absl/flags/flag.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "cli/command.h"
#include "cli/run_options.h"
#include "sim/check/invariants.h"
#include "sim/run/explore.h"
#include "sim/run/explore_workers.h"

ABSL_FLAG(uint32_t, bound, 64, "crash points to explore (I/O completions 1..bound)");
ABSL_FLAG(uint64_t, max_states, snapsim::kDefaultMaxStatesPerPoint,
          "crash states per crash point; beyond it tears are left out, then the point skipped");
ABSL_FLAG(bool, no_prune, false, "check every enumerated state, even equal images");
ABSL_FLAG(bool, no_tears, false, "enumerate only whole-write keep/drop, no sector tears");
ABSL_FLAG(uint32_t, crash_point, 0,
          "explore this crash point alone (1-based I/O completion; the bound is ignored)");
ABSL_FLAG(std::string, state, "",
          "with --crash-point: check only this crash state (its index in the point's "
          "enumeration, as a finding names it)");
ABSL_FLAG(std::string, check_reads, "direct",
          "how each crash state's checks read: direct (from the devices' content where a read "
          "returns the same bytes) or through-target (bios through the simulated I/O path)");
ABSL_FLAG(bool, no_incremental, false,
          "recover every crash state from scratch (no reuse of a recovery whose metadata bytes "
          "are the same; slower, the same verdicts)");
ABSL_DECLARE_FLAG(std::string, scenario);
ABSL_DECLARE_FLAG(std::string, scenario_dir);
ABSL_DECLARE_FLAG(std::string, seed);
ABSL_DECLARE_FLAG(std::vector<std::string>, option);
ABSL_DECLARE_FLAG(bool, json);
ABSL_DECLARE_FLAG(uint32_t, jobs);

namespace snapsim::cli {
namespace {

constexpr uint32_t kMaxBound = 100000;

constexpr char kUsage[] =
    "usage: snapsim explore --scenario NAME [--bound K] [--seed N] [--option NAME...]\n"
    "                       [--crash-point P [--state I]] [--max-states M] [--no-tears]\n"
    "                       [--jobs N] [--check-reads direct|through-target] [--no-incremental]\n\n"
    "Model-checker mode: replays the scenario's workload for one seed and, at every crash point\n"
    "up to K (each I/O completion), enumerates every legal crash state (every subset of the\n"
    "non-durable writes and every sector tear), prunes equal images, recovers and checks each.\n"
    "Each finding prints the command that checks exactly its crash state again:\n"
    "--crash-point P alone explores one point, with --state I only its I-th state.\n"
    "--jobs N splits the crash points over N worker processes (0, the default: one per core);\n"
    "the result is the same for every N. --check-reads through-target reads every check through\n"
    "the simulated I/O path (slower; the same verdicts, a cross-check of the direct reads).\n"
    "A crash state whose metadata (every sector recovery read) equals that of the last state\n"
    "recovered at its point reuses that recovery and checks only the views again;\n"
    "--no-incremental recovers every state from scratch (slower; the same verdicts).\n"
    "Exit status: 0 all states hold, 1 findings, 2 bad input.";

int Fail(const std::string& problem) {
  absl::FPrintF(stderr, "snapsim explore: %s\n", problem);
  return kExitUsage;
}

int ExploreMain(const std::vector<std::string>& args) {
  if (!args.empty()) return Fail("unexpected argument '" + args[0] + "'");
  const std::vector<std::string> names = absl::GetFlag(FLAGS_option);
  absl::StatusOr<Scenario> scenario = LoadScenarioWithOptions(
      absl::GetFlag(FLAGS_scenario), absl::GetFlag(FLAGS_scenario_dir), names);
  if (!scenario.ok()) return Fail(std::string(scenario.status().message()));
  ExploreOptions options;
  const std::string seed_text = absl::GetFlag(FLAGS_seed).empty() ? "1" : absl::GetFlag(FLAGS_seed);
  absl::StatusOr<uint64_t> seed = ParseSeed(seed_text);
  if (!seed.ok()) return Fail(std::string(seed.status().message()));
  options.seed = *seed;
  options.bound = absl::GetFlag(FLAGS_bound);
  if (options.bound == 0 || options.bound > kMaxBound) {
    return Fail(absl::StrCat("--bound must be 1..", kMaxBound));
  }
  options.max_states_per_point = absl::GetFlag(FLAGS_max_states);
  if (options.max_states_per_point == 0) return Fail("--max-states must be at least 1");
  options.prune = !absl::GetFlag(FLAGS_no_prune);
  options.tears = !absl::GetFlag(FLAGS_no_tears);
  const std::string check_reads = absl::GetFlag(FLAGS_check_reads);
  if (check_reads == "direct") {
    options.check_reads = CheckReads::kDirect;
  } else if (check_reads == "through-target") {
    options.check_reads = CheckReads::kThroughTarget;
  } else {
    return Fail(
        absl::StrCat("bad --check-reads '", check_reads, "': expected direct or through-target"));
  }
  options.incremental = !absl::GetFlag(FLAGS_no_incremental);
  options.only_point = absl::GetFlag(FLAGS_crash_point);
  if (options.only_point > kMaxBound)
    return Fail(absl::StrCat("--crash-point must be 1..", kMaxBound));
  if (!absl::GetFlag(FLAGS_state).empty()) {
    if (options.only_point == 0) return Fail("--state needs --crash-point");
    uint64_t state = 0;
    if (!absl::SimpleAtoi(absl::GetFlag(FLAGS_state), &state)) {
      return Fail(absl::StrCat("bad --state '", absl::GetFlag(FLAGS_state),
                               "': expected a state index (0, 1, ...)"));
    }
    options.only_state = state;
  }
  options.replay_prefix =
      ReplayPrefix(scenario->name, names, absl::GetFlag(FLAGS_scenario_dir), "explore");
  const bool json = absl::GetFlag(FLAGS_json);
  if (!json) options.log_out = &std::cout;
  uint32_t jobs = absl::GetFlag(FLAGS_jobs);
  if (jobs > kMaxExploreWorkers) {
    return Fail(absl::StrCat("--jobs is at most ", kMaxExploreWorkers));
  }
  if (jobs == 0) jobs = static_cast<uint32_t>(std::max(1L, ::sysconf(_SC_NPROCESSORS_ONLN)));
  if (options.only_point > 0) jobs = 1;  // one point is one process's work
  jobs = std::min(jobs, options.bound);
  // Wall-clock time is only reported, never part of a decision.
  const auto started = std::chrono::steady_clock::now();
  ExploreResult result;
  if (jobs == 1) {
    result = Explore(*scenario, options);
  } else {
    absl::StatusOr<ExploreResult> parallel = ExploreInWorkers(*scenario, options, jobs);
    if (!parallel.ok()) {
      absl::FPrintF(stderr, "snapsim explore: %s\n", parallel.status().message());
      return kExitUsage;
    }
    result = *std::move(parallel);
  }
  const double wall_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  const double states_per_second =
      wall_seconds > 0 ? static_cast<double>(result.states_checked) / wall_seconds : 0.0;
  if (result.state_out_of_range) {
    return Fail(absl::StrCat("crash point ", options.only_point, " has ", result.states_at_point,
                             " crash states: no state ", *options.only_state));
  }
  if (options.only_point > 0 && result.crash_points == 0) {
    return Fail(absl::StrCat("the workload of seed ", options.seed, " ends before crash point ",
                             options.only_point));
  }
  if (json) {
    nlohmann::json j = {{"scenario", scenario->name},
                        {"seed", options.seed},
                        {"bound", options.bound},
                        {"crash_points", result.crash_points},
                        {"states_enumerated", result.states_enumerated},
                        {"states_pruned", result.states_pruned},
                        {"states_checked", result.states_checked},
                        {"states_recovered", result.states_recovered},
                        {"points_without_tears", result.points_without_tears},
                        {"points_over_bound", result.points_over_bound},
                        {"verdicts", result.verdicts},
                        {"findings", result.findings},
                        {"summary", result.Summary(options.bound)},
                        {"jobs", jobs},
                        {"check_reads", check_reads},
                        {"incremental", options.incremental},
                        {"wall_seconds", wall_seconds},
                        {"states_per_second", states_per_second}};
    std::cout << j.dump(2) << "\n";
  } else {
    for (const Finding& f : result.findings) {
      absl::PrintF("FINDING %s%s at %s\n  expected: %s\n  actual:   %s\n  %s\n  replay: %s\n",
                   f.invariant, OnSnapshot(f, scenario->SnapshotCount()), f.crash_point, f.expected,
                   f.actual, f.detail, f.replay_command);
    }
    if (options.only_point > 0) {
      absl::PrintF(
          "explored crash point %u only%s\n", options.only_point,
          options.only_state ? absl::StrCat(", crash state ", *options.only_state, " only") : "");
    }
    absl::PrintF("%s\n", result.Summary(options.bound));
    absl::PrintF("rate: %.0f crash states checked/s with %u worker%s over %.2f s\n",
                 states_per_second, jobs, jobs == 1 ? "" : "s", wall_seconds);
    absl::PrintF("recovered from scratch: %u of %u states checked (%s)\n", result.states_recovered,
                 result.states_checked,
                 options.incremental ? "the others reused the recovery of a state with the same "
                                       "metadata bytes"
                                     : "--no-incremental");
  }
  return result.findings.empty() ? kExitOk : kExitFindings;
}

}  // namespace

SNAPSIM_REGISTER_COMMAND(explore,
                         Command{"explore",
                                 "enumerate every crash state up to a bound and check it",
                                 kUsage,
                                 {"scenario", "scenario_dir", "seed", "option", "bound",
                                  "max_states", "no_prune", "no_tears", "crash_point", "state",
                                  "json", "jobs", "check_reads", "no_incremental"},
                                 &ExploreMain});

}  // namespace snapsim::cli
