// SPDX-License-Identifier: GPL-2.0-only
//
// Campaign runner: runs the jobs (scenario x seed) of a campaign in forked worker processes and
// keeps what they report in an output directory, so a campaign survives crashes of the simulated
// code, hangs, Ctrl-C, and can be resumed or split into shards.
//
// Contract:
//  - The parent is single-threaded. Each job runs in a fresh fork()ed child that calls the
//    injected SeedFunction, writes the RunResult as JSON to a pipe and _exit()s. A child that dies
//    of a signal, exits non-zero, writes something that is not a RunResult, or outlives the
//    per-seed limit (the parent kills it) becomes a RunResult with one finding
//    "simulation_crashed" / "simulation_timeout" carrying its seed and replay command.
//  - Except a worker lost to the environment: killed by a signal it did not raise itself (any
//    but SIGABRT, SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGSYS), unable to write its result
//    to the pipe, or exiting 0 without one. Its job runs once more; lost again, it is recorded
//    with RunResult::environment_failure and no finding, and a resumed campaign runs it again.
//  - Which jobs run is fixed by the config alone: seeds ascending, scenarios in the given order
//    within a seed; a shard runs the jobs whose index in that order is shard_index modulo
//    shard_count. --jobs only changes how many run at a time, never which or what is reported.
//  - <out>/campaign.json names the campaign; <out>/results.jsonl gets one RunResult JSON line per
//    finished job, written as soon as it finishes. A rerun of the same campaign skips those jobs;
//    another campaign's directory is refused, and a non-empty directory that is not a campaign's.
//  - SIGINT/SIGTERM: no new job starts, running children are killed and their jobs left undone,
//    the summary of what is done is written and `interrupted` is set (exit code 130).
//  - Re-checks (CampaignOptions::recheck): a sample of the finished jobs, and every job with a
//    finding, runs again in a new worker process once another job has started since it ended
//    (or when nothing else is left to start); its trace hash and RunResult are compared with the
//    first execution's and the re-check is appended to <out>/rechecks.jsonl. A mismatch adds a
//    finding `nondeterminism` to the run (ApplyRechecks) and, with a traced SeedFunction, keeps
//    two traces that differ under <out>/nondeterminism/ and names their first differing event.
//    Jobs whose worker crashed or timed out are not re-checked; a re-check whose worker crashed
//    or timed out is inconclusive (compared neither way). A resumed campaign re-checks the
//    selected jobs of earlier invocations that have no re-check yet.
//  - Wall clock is read here only for limits, the budget and progress; it never enters a result.
#ifndef SNAPSIM_SIM_CAMPAIGN_CAMPAIGN_H_
#define SNAPSIM_SIM_CAMPAIGN_CAMPAIGN_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "sim/campaign/campaign_summary.h"
#include "sim/check/finding.h"

namespace snapsim {

// Runs one job; called in a child process. May crash, hang or abort: that is reported.
using SeedFunction = std::function<RunResult(const std::string& scenario, uint64_t seed)>;
// Runs one job writing its trace (JSON lines) to `trace_path`; called in a child process.
using TracedSeedFunction = std::function<RunResult(const std::string& scenario, uint64_t seed,
                                                   const std::string& trace_path)>;
// Writes the report files of a summary into a directory (reports/report_files.h: WriteReports).
using ReportWriter = std::function<absl::Status(const CampaignSummary&, const std::string& dir)>;

inline constexpr int kExitInterrupted = 130;
inline constexpr uint32_t kMaxJobs = 256;  // worker processes at a time

// Which finished jobs run a second time: `numerator` in `denominator` of them, chosen by a hash of
// (scenario, seed) so the choice depends on neither --jobs, the shard, nor resuming, plus every
// job with a finding. denominator 0: none at all (re-checks off).
struct RecheckRatio {
  uint32_t numerator = 0;
  uint32_t denominator = 0;
  bool Off() const { return denominator == 0; }
};
inline constexpr RecheckRatio kDefaultRecheck{1, 64};
inline constexpr uint32_t kMaxRecheckDenominator = 1u << 30;
// Traced executions at most to obtain two different traces of a mismatched run.
inline constexpr int kMaxTracedReruns = 4;

// "1/64", "0" (only jobs with a finding), "1" (every job), "off"; nullopt with the problem.
absl::StatusOr<RecheckRatio> ParseRecheckRatio(const std::string& text);
std::string RecheckRatioText(const RecheckRatio& ratio);
// True when the hash of (scenario, seed) puts the job in the ratio's sample.
bool InRecheckSample(const RecheckRatio& ratio, const std::string& scenario, uint64_t seed);
// The JSON field names (RunResult) in which two results differ, in field order.
std::vector<std::string> ResultDifferences(const RunResult& a, const RunResult& b);
// The first differing line of two JSON-lines traces, for people: "event 12: <a> / <b>".
std::string FirstTraceDifference(const std::string& trace_a, const std::string& trace_b);

struct CampaignOptions {
  CampaignConfig config;   // scenarios, seeds, shard, tool version
  uint64_t budget_ms = 0;  // > 0: start no seed after this much wall time; 0: none
  uint32_t jobs = 0;       // worker processes at a time, 1..kMaxJobs; 0: the core count
  uint64_t seed_timeout_ms = 10 * 60 * 1000;  // a job running longer is killed
  std::string out_dir;
  std::string replay_prefix = "snapsim run";  // replay: "<prefix> --scenario S --seed N"
  bool progress = true;                       // progress on stderr (redrawn in place on a terminal)
  uint64_t stop_after_jobs = 0;   // test hook: act as on SIGINT after this many jobs; 0: never
  ReportWriter write_reports;     // null: only campaign.json and results.jsonl are written
  RecheckRatio recheck;           // off unless set (the command's default is kDefaultRecheck)
  TracedSeedFunction run_traced;  // null: a mismatch keeps no trace
};

struct CampaignOutcome {
  CampaignSummary summary;    // of every job done, this run and earlier ones
  bool interrupted = false;   // SIGINT/SIGTERM or the stop hook: the caller exits 130
  uint64_t jobs_run = 0;      // by this invocation
  uint64_t jobs_skipped = 0;  // found done in results.jsonl
  uint64_t rechecks_run = 0;  // by this invocation
};

// REQUIRES: options.config has scenarios, and seed_last or budget_ms (else it never ends).
absl::StatusOr<CampaignOutcome> RunCampaign(const CampaignOptions& options,
                                            const SeedFunction& run_seed);

std::string ReplayCommand(const std::string& prefix, const std::string& scenario, uint64_t seed);

// A campaign output directory as found on disk.
struct CampaignDir {
  CampaignConfig config;
  JobResults results;  // with the nondeterminism findings of the re-checks (ApplyRechecks)
  JobRechecks rechecks;
  std::optional<WallClockStats> wall_clock;  // from summary.json when there is one
};

// The RunResults of results.jsonl text, keyed by job: a later line of a job replaces an earlier
// one, an unterminated last line (a job that did not finish) is ignored, and any other line that
// is not a RunResult of `config` is a DataLoss error naming `source` and the line.
absl::StatusOr<JobResults> ParseResultsJsonl(std::string_view text, std::string_view source,
                                             const CampaignConfig& config);

// Reads campaign.json, results.jsonl and rechecks.jsonl (an unterminated last line is a job that
// did not finish and is ignored; any other unreadable line is an error) and the wall clock of
// summary.json.
absl::StatusOr<CampaignDir> LoadCampaignDir(const std::string& dir);

// The summary of several shard directories of one campaign, as if one process had run them all
// (wall-clock fields aside).
absl::StatusOr<CampaignSummary> MergeCampaignDirs(const std::vector<std::string>& dirs);

}  // namespace snapsim

#endif  // SNAPSIM_SIM_CAMPAIGN_CAMPAIGN_H_
