// SPDX-License-Identifier: GPL-2.0-only
//
// snapsim campaign: many seeds of some scenarios in forked workers (sim/campaign/campaign.h), then
// the lowest seed of each within-contract finding minimized to a replayable case with a trace
// (sim/campaign/campaign_minimize.h), and the reports written (reports/report_files.h). Resumable:
// a rerun with the same scenarios, seeds and shard skips the jobs already done. Exit 0 clean, 1
// findings, 2 bad input (nothing touched), 130 interrupted.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <map>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "absl/flags/declare.h"
#include "absl/flags/flag.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "cli/command.h"
#include "cli/run_options.h"
#include "core/named_options.h"
#include "reports/markdown_report.h"
#include "reports/report_files.h"
#include "sim/campaign/attribution.h"
#include "sim/campaign/campaign.h"
#include "sim/campaign/campaign_minimize.h"
#include "sim/campaign/finding_catalogue.h"
#include "sim/run/minimize.h"
#include "sim/run/run.h"
#include "sim/workload/scenario.h"
#include "sim/workload/scenario_toml.h"
#include "sim/world/prng.h"
#include "sim/world/trace.h"
#include "util/atomic_file.h"

ABSL_FLAG(std::string, seeds, "",
          "seed range A..B (inclusive), A.. (open: needs --budget) or one seed; default 1..20, "
          "or 1.. with --budget");
ABSL_FLAG(std::string, budget, "",
          "wall-clock budget (60s, 10m, 6h, 1h30m): start no seed after it; whole seeds only");
ABSL_FLAG(uint32_t, jobs, 0, "worker processes at a time (0: the number of cores)");
ABSL_FLAG(std::string, shard, "0/1", "run shard I of N (jobs whose index % N == I)");
ABSL_FLAG(std::string, seed_timeout, "10m", "kill a job running longer and report it");
ABSL_FLAG(uint32_t, minimize_runs, 400,
          "runs at most when minimizing each cause's case (bounds the time it takes)");
ABSL_FLAG(bool, no_minimize, false,
          "skip minimizing one case per within-contract cause after the seeds");
ABSL_FLAG(uint32_t, attribute_runs, snapsim::kDefaultAttributedRunsPerGroup,
          "failing runs replayed at most per (invariant, scenario) group to attribute their cause");
ABSL_FLAG(bool, no_attribute, false,
          "skip attributing failing runs to the finding catalogue (no causes in the report)");
ABSL_FLAG(std::string, recheck, "1/64",
          "re-run this ratio of the runs (A/B, 0, 1 or off), plus every run with a finding, in "
          "another worker process and compare trace hashes and results");
ABSL_DECLARE_FLAG(bool, plant_nondeterminism);
ABSL_DECLARE_FLAG(std::string, scenario);
ABSL_DECLARE_FLAG(std::string, scenario_dir);
ABSL_DECLARE_FLAG(std::vector<std::string>, option);
ABSL_DECLARE_FLAG(std::string, out);

namespace snapsim::cli {
namespace {

namespace fs = std::filesystem;

constexpr char kUsage[] =
    "usage: snapsim campaign [--scenario NAME ...] [--seeds A..B] [--budget DURATION]\n"
    "                        [--jobs N] [--out DIR] [--shard I/N] [--seed-timeout DURATION]\n"
    "                        [--option NAME ...] [--scenario-dir DIR] [--minimize-runs N]\n"
    "                        [--no-minimize] [--attribute-runs N] [--no-attribute]\n"
    "                        [--recheck RATIO]\n\n"
    "Runs every seed of the range on every scenario in forked workers, writing one result line\n"
    "per job to DIR/results.jsonl as it ends, then attributes each failing run to the finding\n"
    "catalogue by replaying it with corrections on (scenarios/findings/catalogue.toml), minimizes\n"
    "one run of each within-contract cause (unexplained first, at most 8) into DIR/cases/ and\n"
    "writes DIR/summary.json, summary.md, index.html and junit.xml. Rerunning the same campaign\n"
    "into the same DIR resumes it (and reuses the cases in DIR/cases/).\n"
    "Re-checks: --recheck 1/64 (the default) runs 1 in 64 runs, and every run with a finding,\n"
    "again in another worker process and compares trace hash and result; a mismatch is a\n"
    "finding `nondeterminism` with two traces in DIR/nondeterminism/. --recheck off: none.\n"
    "Scenarios: --scenario repeated or comma-separated; default every scenario file whose name\n"
    "does not start with \"explore-\". Seeds: default 1..20; with --budget alone, 1.. until the\n"
    "budget ends. --out defaults to snapsim-report. Ctrl-C stops at once and keeps what is done.\n"
    "Exit status: 0 no finding, 1 findings, 2 bad input, 130 interrupted.";

constexpr uint64_t kDefaultSeedFirst = 1;
constexpr uint64_t kDefaultSeedLast = 20;
constexpr const char* kDefaultOut = "snapsim-report";
constexpr const char* kExplorePrefix = "explore-";
constexpr size_t kMaxScenarios = 256;
constexpr int kMaxBudgetDays = 365;
constexpr int kMaxSeedTimeoutDays = 7;

int Fail(const std::string& problem) {
  absl::FPrintF(stderr, "snapsim campaign: %s\n", problem);
  return kExitUsage;
}

// Abseil keeps only the last value of a repeated flag; the campaign accepts `--scenario a
// --scenario b` (and comma-separated names), so it takes every occurrence main parsed.
// nullopt: not given.
std::optional<std::vector<std::string>> ScenarioFlagValues() {
  std::optional<std::vector<std::string>> given = GivenFlagValues("scenario");
  if (!given) return std::nullopt;
  std::vector<std::string> values;
  for (const std::string& value : *given) {
    for (absl::string_view part : absl::StrSplit(value, ',', absl::SkipEmpty())) {
      values.emplace_back(part);
    }
  }
  return values;
}

// Scenarios named on the command line, else every scenario file but the explorer's.
absl::StatusOr<std::vector<std::string>> ScenarioNames(const std::string& dir) {
  std::optional<std::vector<std::string>> given = ScenarioFlagValues();
  if (given) {
    if (given->empty()) return absl::InvalidArgumentError("--scenario needs a name");
    std::vector<std::string> unique;
    for (const std::string& name : *given) {
      if (std::find(unique.begin(), unique.end(), name) != unique.end()) {
        return absl::InvalidArgumentError(absl::StrCat("scenario ", name, " is named twice"));
      }
      unique.push_back(name);
    }
    return unique;
  }
  absl::StatusOr<std::vector<Scenario>> all = ListScenarios(dir);
  if (!all.ok()) return all.status();
  std::vector<std::string> names;
  for (const Scenario& s : *all) {
    if (!absl::StartsWith(s.name, kExplorePrefix)) names.push_back(s.name);
  }
  if (names.empty()) return absl::InvalidArgumentError(absl::StrCat("no scenario in ", dir));
  return names;
}

struct SeedRange {
  uint64_t first = kDefaultSeedFirst;
  std::optional<uint64_t> last;
};

absl::StatusOr<SeedRange> ParseSeedRange(const std::string& text, bool have_budget) {
  SeedRange range;
  if (text.empty()) {
    if (!have_budget) range.last = kDefaultSeedLast;
    return range;
  }
  const size_t dots = text.find("..");
  if (dots == std::string::npos) {
    absl::StatusOr<uint64_t> seed = ParseSeed(text);
    if (!seed.ok()) return seed.status();
    range.first = *seed;
    range.last = *seed;
    return range;
  }
  absl::StatusOr<uint64_t> first = ParseSeed(text.substr(0, dots));
  if (!first.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("bad --seeds '", text, "': expected A..B"));
  }
  range.first = *first;
  const std::string last_text = text.substr(dots + 2);
  if (last_text.empty()) {
    if (!have_budget) {
      return absl::InvalidArgumentError(
          absl::StrCat("--seeds ", text, " is open-ended: give --budget too, or an end seed"));
    }
    return range;
  }
  absl::StatusOr<uint64_t> last = ParseSeed(last_text);
  if (!last.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("bad --seeds '", text, "': expected A..B"));
  }
  if (*last < *first) {
    return absl::InvalidArgumentError(
        absl::StrCat("bad --seeds '", text, "': the last seed is below the first"));
  }
  range.last = *last;
  return range;
}

// A positive duration of at most `max_days` days, in milliseconds; `what` names the flag in
// errors. The cap keeps deadlines (now + duration) far from overflowing.
absl::StatusOr<uint64_t> ParseMs(const std::string& text, const char* what, int max_days) {
  absl::Duration d;
  if (!absl::ParseDuration(text, &d) || d <= absl::ZeroDuration() ||
      d == absl::InfiniteDuration()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "bad ", what, " '", text, "': expected a positive duration such as 90s, 10m, 6h"));
  }
  if (d > absl::Hours(24) * max_days) {
    return absl::InvalidArgumentError(absl::StrCat("bad ", what, " '", text, "': at most ",
                                                   max_days, " days (", max_days * 24, "h)"));
  }
  return static_cast<uint64_t>(absl::ToInt64Milliseconds(d));
}

absl::Status ParseShard(const std::string& text, CampaignConfig& config) {
  std::vector<std::string> parts = absl::StrSplit(text, '/');
  uint32_t index = 0, count = 0;
  if (parts.size() != 2 || !absl::SimpleAtoi(parts[0], &index) ||
      !absl::SimpleAtoi(parts[1], &count) || count == 0 || index >= count) {
    return absl::InvalidArgumentError(
        absl::StrCat("bad --shard '", text, "': expected I/N with 0 <= I < N"));
  }
  config.shard_index = index;
  config.shard_count = count;
  return absl::OkStatus();
}

void PrintCauses(const CampaignSummary& s, const std::optional<AttributionStats>& stats,
                 const std::string& out_dir) {
  if (!stats) return;
  const size_t known =
      std::count_if(s.causes.begin(), s.causes.end(), [](const Cause& c) { return c.known; });
  absl::PrintF(
      "%u causes: %u known, %u unexplained (attribution: %u of %u failing runs attributed, "
      "%u replays, %.1f s, %.1f ms per attributed run)\n",
      s.causes.size(), known, s.causes.size() - known, stats->runs_attributed, stats->failing_runs,
      stats->replays, static_cast<double>(stats->elapsed_ms) / 1000.0,
      stats->runs_attributed == 0
          ? 0.0
          : static_cast<double>(stats->elapsed_ms) / static_cast<double>(stats->runs_attributed));
  for (const Cause& c : s.causes) {
    absl::PrintF("  %s: %u runs (%u attributed) in %s; %s%s\n", c.id, c.runs, c.attributed_runs,
                 absl::StrJoin(c.scenarios, ","), c.known ? c.upstream : c.signature,
                 c.correction_was_on ? "; correction does not hold" : "");
    if (!c.minimized_case.empty()) {
      absl::PrintF("      minimal case (%u steps): snapsim run --replay-case %s/%s\n",
                   c.minimized_steps, out_dir, c.minimized_case);
    }
  }
}

void PrintOutcome(const CampaignOutcome& outcome, const std::vector<MinimizedCase>& minimized,
                  const std::optional<AttributionStats>& attribution, const RecheckRatio& recheck,
                  const std::string& out_dir) {
  const CampaignSummary& s = outcome.summary;
  const WallClockStats& wall = s.wall_clock;
  absl::PrintF("\ncampaign %s\n", s.config.Describe());
  absl::PrintF("jobs: %u run now, %u resumed from %s/results.jsonl; %u seeds complete\n",
               outcome.jobs_run, outcome.jobs_skipped, out_dir, s.seeds_completed);
  absl::PrintF(
      "rate: %.1f seeds/s with %u workers over %.1f s; %u crash states checked "
      "(%.0f/s)\n",
      wall.seeds_per_second, wall.jobs, static_cast<double>(wall.wall_ms) / 1000.0,
      s.crash_states_checked, wall.crash_states_per_second);
  if (s.findings.empty()) {
    absl::PrintF("findings: none (%u runs clean)\n", s.runs_clean);
  } else {
    absl::PrintF("findings: %u kinds in %u of %u runs\n", s.findings.size(), s.runs_with_findings,
                 s.seeds_run);
  }
  for (const FindingGroup& g : s.findings) {
    absl::PrintF("  %-8s %s: %u seeds; replay: %s\n", FindingSeverityName(g.first.severity), g.id,
                 g.seed_count, g.first.replay_command);
    if (!g.minimized.empty()) {
      absl::PrintF("           minimized: snapsim run --replay-case %s/%s\n", out_dir, g.minimized);
    }
  }
  for (const MinimizedCase& m : minimized) {
    if (!m.problem.empty()) absl::PrintF("  not minimized: %s: %s\n", m.id, m.problem);
  }
  if (!minimized.empty()) {
    const size_t reused = std::count_if(minimized.begin(), minimized.end(),
                                        [](const MinimizedCase& m) { return m.reused; });
    absl::PrintF("minimization: %u cases (%u reused from %s/cases), %.1f s\n", minimized.size(),
                 reused, out_dir, static_cast<double>(wall.minimize_ms) / 1000.0);
  }
  PrintCauses(s, attribution, out_dir);
  absl::PrintF("re-check: %s (%u by this invocation, --recheck %s)\n", RechecksHeadline(s),
               outcome.rechecks_run, RecheckRatioText(recheck));
  for (const Recheck& r : s.rechecks.mismatched) {
    absl::PrintF(
        "  nondeterminism: %s seed %u: trace hash %s then %s; %s\n", r.scenario, r.seed,
        FormatTraceHash(r.trace_hash), FormatTraceHash(r.recheck_trace_hash),
        r.first_difference.empty() ? absl::StrJoin(r.differences, ", ") : r.first_difference);
  }
  if (!s.environment_failures.empty()) {
    absl::PrintF("environment failures: %u jobs whose worker the machine took\n",
                 s.environment_failures.size());
  }
  for (const EnvironmentFailure& e : s.environment_failures) {
    absl::PrintF("  lost: %s\n", e.Line());
  }
  absl::PrintF("report: %s/%s\n", out_dir, kHtmlReportName);
}

int CampaignMain(const std::vector<std::string>& args) {
  if (!args.empty()) return Fail("unexpected argument '" + args[0] + "'");
  const std::string scenario_dir = absl::GetFlag(FLAGS_scenario_dir);
  const std::string dir = scenario_dir.empty() ? DefaultScenarioDir() : scenario_dir;
  // main merged every --option into one list.
  const std::vector<std::string> option_names = absl::GetFlag(FLAGS_option);

  absl::StatusOr<std::vector<std::string>> names = ScenarioNames(dir);
  if (!names.ok()) return Fail(std::string(names.status().message()));
  if (names->size() > kMaxScenarios) {
    return Fail(absl::StrCat("too many scenarios (at most ", kMaxScenarios, ")"));
  }
  std::map<std::string, Scenario> scenarios;  // loaded before forking: workers share them
  for (const std::string& name : *names) {
    absl::StatusOr<Scenario> s = LoadScenarioWithOptions(name, scenario_dir, option_names);
    if (!s.ok()) return Fail(std::string(s.status().message()));
    scenarios.emplace(name, *std::move(s));
  }

  CampaignOptions options;
  const std::string budget = absl::GetFlag(FLAGS_budget);
  if (!budget.empty()) {
    absl::StatusOr<uint64_t> ms = ParseMs(budget, "--budget", kMaxBudgetDays);
    if (!ms.ok()) return Fail(std::string(ms.status().message()));
    options.budget_ms = *ms;
  }
  absl::StatusOr<SeedRange> seeds = ParseSeedRange(absl::GetFlag(FLAGS_seeds), !budget.empty());
  if (!seeds.ok()) return Fail(std::string(seeds.status().message()));
  absl::StatusOr<uint64_t> timeout =
      ParseMs(absl::GetFlag(FLAGS_seed_timeout), "--seed-timeout", kMaxSeedTimeoutDays);
  if (!timeout.ok()) return Fail(std::string(timeout.status().message()));
  options.seed_timeout_ms = *timeout;
  options.config.scenarios = *names;
  options.config.seed_first = seeds->first;
  options.config.seed_last = seeds->last;
  options.config.tool_version = SNAPSIM_VERSION;
  options.config.git_commit = SNAPSIM_GIT_COMMIT;
  for (const auto& [name, scenario] : scenarios) {
    options.config.scenario_digests[name] = FormatTraceHash(Fnv1a64(ScenarioToToml(scenario)));
  }
  if (absl::Status s = ParseShard(absl::GetFlag(FLAGS_shard), options.config); !s.ok()) {
    return Fail(std::string(s.message()));
  }
  if (absl::GetFlag(FLAGS_minimize_runs) == 0 ||
      absl::GetFlag(FLAGS_minimize_runs) > kMaxMinimizeRuns) {
    return Fail(absl::StrCat("--minimize-runs must be 1..", kMaxMinimizeRuns,
                             " (--no-minimize skips minimizing)"));
  }
  if (absl::GetFlag(FLAGS_attribute_runs) == 0 ||
      absl::GetFlag(FLAGS_attribute_runs) > kMaxAttributedRunsPerGroup) {
    return Fail(absl::StrCat("--attribute-runs must be 1..", kMaxAttributedRunsPerGroup,
                             " (--no-attribute skips attribution)"));
  }
  absl::StatusOr<RecheckRatio> recheck = ParseRecheckRatio(absl::GetFlag(FLAGS_recheck));
  if (!recheck.ok()) return Fail(std::string(recheck.status().message()));
  options.recheck = *recheck;
  options.jobs = absl::GetFlag(FLAGS_jobs);
  if (options.jobs > kMaxJobs) return Fail(absl::StrCat("--jobs is at most ", kMaxJobs));
  options.out_dir = absl::GetFlag(FLAGS_out).empty() ? kDefaultOut : absl::GetFlag(FLAGS_out);
  std::error_code ec;
  if (fs::exists(options.out_dir, ec) && !fs::is_directory(options.out_dir, ec)) {
    return Fail(absl::StrCat("--out ", options.out_dir, " exists and is not a directory"));
  }
  // Replay commands name the options once, comma-separated: `snapsim run` keeps only the last
  // of repeated --option flags.
  std::vector<std::string> replay_options;
  if (!option_names.empty()) replay_options.push_back(absl::StrJoin(option_names, ","));
  // The prefix of the runner's own findings ("... --scenario S --seed N" follows).
  options.replay_prefix = "snapsim run";
  if (!scenario_dir.empty()) {
    absl::StrAppend(&options.replay_prefix, " --scenario-dir ", scenario_dir);
  }
  if (!replay_options.empty()) {
    absl::StrAppend(&options.replay_prefix, " --option ", replay_options[0]);
  }
  options.write_reports = WriteReports;

  const bool plant = absl::GetFlag(FLAGS_plant_nondeterminism);
  const SeedFunction run_seed = [&](const std::string& scenario, uint64_t seed) {
    RunOptions run_options;
    run_options.replay_prefix = ReplayPrefix(scenario, replay_options, scenario_dir);
    run_options.plant_nondeterminism = plant;
    return RunSeed(scenarios.at(scenario), seed, run_options);
  };
  options.run_traced = [&](const std::string& scenario, uint64_t seed,
                           const std::string& trace_path) {
    std::ostringstream trace;
    RunOptions run_options;
    run_options.replay_prefix = ReplayPrefix(scenario, replay_options, scenario_dir);
    run_options.plant_nondeterminism = plant;
    run_options.trace_out = &trace;
    RunResult r = RunSeed(scenarios.at(scenario), seed, run_options);
    if (absl::Status s = WriteFileAtomically(trace_path, trace.str()); !s.ok()) {
      throw std::runtime_error(std::string(s.message()));
    }
    return r;
  };
  absl::StatusOr<CampaignOutcome> outcome = RunCampaign(options, run_seed);
  if (!outcome.ok()) return Fail(std::string(outcome.status().message()));

  std::optional<AttributionStats> attribution;
  if (!outcome->interrupted && !absl::GetFlag(FLAGS_no_attribute) &&
      !outcome->summary.findings.empty()) {
    absl::StatusOr<FindingCatalogue> catalogue =
        LoadFindingCatalogue(FindingCataloguePath(scenario_dir));
    if (!catalogue.ok()) return Fail(std::string(catalogue.status().message()));
    absl::StatusOr<CampaignDir> done = LoadCampaignDir(options.out_dir);
    if (!done.ok()) return Fail(std::string(done.status().message()));
    // The same seed, scenario and --option settings, with the corrections on top.
    const CorrectionReplay replay = [&](const RunResult& failing,
                                        const std::vector<std::string>& corrections) {
      Scenario scenario = scenarios.at(failing.scenario);
      for (const std::string& name : corrections) {
        SetNamedOption(*FindNamedOption(name), scenario.store, scenario.target);
      }
      return RunSeed(scenario, failing.seed);
    };
    AttributionOptions attribution_options;
    attribution_options.max_runs_per_group = absl::GetFlag(FLAGS_attribute_runs);
    for (const auto& [name, scenario] : scenarios) {
      attribution_options.options_on[name] = NamedOptionsOn(scenario.store, scenario.target);
    }
    absl::PrintF("attributing failing runs to %s\n", FindingCataloguePath(scenario_dir));
    attribution =
        AttributeCampaign(outcome->summary, done->results, *catalogue, replay, attribution_options);
    if (absl::Status s = WriteReports(outcome->summary, options.out_dir); !s.ok()) {
      return Fail(absl::StrCat("cannot write the reports: ", s.message()));
    }
  }

  std::vector<MinimizedCase> minimized;
  if (!outcome->interrupted && !absl::GetFlag(FLAGS_no_minimize) &&
      !outcome->summary.findings.empty()) {
    CampaignMinimizeOptions minimize_options;
    minimize_options.out_dir = options.out_dir;
    minimize_options.log_out = &std::cout;
    minimize_options.jobs = outcome->summary.wall_clock.jobs;  // the campaign's worker count
    minimize_options.max_runs_per_case = absl::GetFlag(FLAGS_minimize_runs);
    const ScenarioLoader load = [&](const std::string& name) -> absl::StatusOr<Scenario> {
      auto it = scenarios.find(name);
      if (it == scenarios.end()) return absl::NotFoundError("scenario " + name + " not loaded");
      return it->second;
    };
    const auto start = std::chrono::steady_clock::now();  // reporting only
    absl::StatusOr<std::vector<MinimizedCase>> cases =
        MinimizeCampaignFindings(outcome->summary, load, minimize_options);
    if (!cases.ok()) return Fail(std::string(cases.status().message()));
    minimized = *std::move(cases);
    outcome->summary.wall_clock.minimize_ms =
        static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                  std::chrono::steady_clock::now() - start)
                                  .count());
    if (absl::Status s = WriteReports(outcome->summary, options.out_dir); !s.ok()) {
      return Fail(absl::StrCat("cannot write the reports: ", s.message()));
    }
  }
  PrintOutcome(*outcome, minimized, attribution, options.recheck, options.out_dir);
  if (outcome->interrupted) {
    absl::PrintF("interrupted: rerun the same command to resume\n");
    return kExitInterrupted;
  }
  return outcome->summary.findings.empty() ? kExitOk : kExitFindings;
}

}  // namespace

SNAPSIM_REGISTER_COMMAND(campaign,
                         Command{
                             "campaign",
                             "run many seeds of some scenarios in parallel and report (nightly)",
                             kUsage,
                             {"scenario", "scenario_dir", "option", "seeds", "budget", "jobs",
                              "out", "shard", "seed_timeout", "minimize_runs", "no_minimize",
                              "attribute_runs", "no_attribute", "recheck", "plant_nondeterminism"},
                             &CampaignMain});

}  // namespace snapsim::cli
