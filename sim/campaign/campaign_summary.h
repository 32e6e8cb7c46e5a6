// SPDX-License-Identifier: GPL-2.0-only
//
// CampaignSummary: what a campaign (many seeds of some scenarios) found and exercised, aggregated
// from its RunResults. It is the data behind summary.json, summary.md and index.html.
//
// Invariant: Summarize() is a pure function of (config, the set of results): it visits results
// in job order (scenario order, then seed), never in completion order, so the same results give
// the same summary however many workers or shards produced them. Only the fields under
// `wall_clock` come from the parent's wall clock; SameIgnoringWallClock() compares the rest.
//
// The JSON form is summary.json, schema version kSummarySchemaVersion, documented field by field
// in docs/report-schema.md: change a field only with a version bump.
#ifndef SNAPSIM_SIM_CAMPAIGN_CAMPAIGN_SUMMARY_H_
#define SNAPSIM_SIM_CAMPAIGN_CAMPAIGN_SUMMARY_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"
#include "sim/campaign/cause.h"
#include "sim/check/finding.h"

namespace snapsim {

inline constexpr int kSummarySchemaVersion = 2;
// The oldest summary.json this code still reads (v1: no `causes`, findings without `cause`).
inline constexpr int kOldestReadableSummarySchemaVersion = 1;

// Invariant names of the findings the campaign runner itself raises for a worker process.
inline constexpr const char* kSimulationCrashed = "simulation_crashed";
inline constexpr const char* kSimulationTimeout = "simulation_timeout";
// A run that, executed again in another worker process (campaign --recheck), gave another trace
// hash or another result.
inline constexpr const char* kNondeterminism = "nondeterminism";

// True for the invariants the campaign runner raises itself, about a worker process rather than
// the store: such runs are not replayed to attribute them nor minimized.
bool IsRunnerInvariant(std::string_view invariant);

// What a campaign runs. Two campaigns with different configs never share an output directory.
struct CampaignConfig {
  std::vector<std::string> scenarios;  // in the order given; the job order follows it
  uint64_t seed_first = 0;
  std::optional<uint64_t> seed_last;  // inclusive; nullopt: open-ended, a time budget ends it
  uint32_t shard_index = 0;           // this process runs jobs with index % count == index
  uint32_t shard_count = 1;
  std::string tool_version;  // not part of the identity
  std::string git_commit;    // not part of the identity
  // Scenario name -> FormatTraceHash(Fnv1a64(its TOML with the --option settings applied)): two
  // campaigns of one tool commit whose digests agree must give the same trace hashes. Not part
  // of the identity; empty when unknown (files written before).
  std::map<std::string, std::string> scenario_digests;

  // True when both describe the same jobs (scenarios, seeds, shard).
  bool SameJobs(const CampaignConfig& other) const;
  // One line for error messages: "scenarios=a,b seeds=1..10 shard=0/1".
  std::string Describe() const;
};

// One job of a campaign. Ordered by (scenario index, seed): the aggregation order.
struct JobKey {
  uint32_t scenario_index = 0;
  uint64_t seed = 0;
  auto operator<=>(const JobKey&) const = default;
};

// Results of finished jobs, keyed in aggregation order.
using JobResults = std::map<JobKey, RunResult>;

// Index of the job in the execution order: seed-major, so that a time budget or an interruption
// leaves a contiguous range of whole seeds done. Shard membership is JobIndex % shard_count.
uint64_t JobIndex(const CampaignConfig& config, const JobKey& key);
bool InShard(const CampaignConfig& config, const JobKey& key);
// The jobs of this shard, nullopt for an open seed range. A range of all 2^64 seeds has more jobs
// than a uint64_t counts: the count saturates at UINT64_MAX (it is shown, never iterated).
std::optional<uint64_t> ShardJobCount(const CampaignConfig& config);
// The key of `result` in `config`, or nullopt when its scenario or seed is outside the config.
std::optional<JobKey> KeyOf(const CampaignConfig& config, const RunResult& result);

// One run executed a second time, in another worker process and after other seeds (campaign
// --recheck), and compared with its first execution: trace hash and whole RunResult.
struct Recheck {
  std::string scenario;
  uint64_t seed = 0;
  uint64_t trace_hash = 0;               // the first execution's
  uint64_t recheck_trace_hash = 0;       // the second's
  std::vector<std::string> differences;  // RunResult fields that differ (JSON names); empty: same
  std::string inconclusive;         // non-empty: why the re-check could not be compared (its worker
                                    // crashed or timed out); such a re-check counts neither way
  std::string first_difference;     // a mismatch: the first differing trace event, or why none
  std::vector<std::string> traces;  // a mismatch: trace files kept, relative to the campaign dir

  bool Mismatch() const { return inconclusive.empty() && !differences.empty(); }
};

// Re-checks of finished jobs, keyed like JobResults.
using JobRechecks = std::map<JobKey, Recheck>;

// The finding a mismatched re-check adds to its run's result.
Finding NondeterminismFinding(const Recheck& recheck, const RunResult& first);
// Adds the nondeterminism finding of every mismatched re-check to its run (once).
void ApplyRechecks(const JobRechecks& rechecks, JobResults& results);

struct RecheckStats {
  uint64_t runs = 0;        // re-checked and compared
  uint64_t mismatches = 0;  // of those, how many differed
  uint64_t inconclusive = 0;
  std::vector<Recheck> mismatched;  // in job order
};

// Findings with the same Finding::Signature(), folded into one.
struct FindingGroup {
  std::string id;           // Finding::Signature()
  Finding first;            // the finding of the lowest seed that hit it (its seed, replay, ...)
  uint64_t seed_count = 0;  // seeds (jobs) that hit it at least once
  std::string minimized;    // path of a minimized replayable case; "" until the minimizer runs
  std::string trace;        // path of a JSON-lines trace of that case; "" when none
  std::string cause;        // Cause::id most of its runs were attributed to; "" before attribution
};

struct RateSample {
  uint64_t wall_ms = 0;     // since the campaign process started
  uint64_t seeds_done = 0;  // jobs finished by then, this process only
};

// Reporting only: never compared, never used for a decision.
struct WallClockStats {
  uint64_t wall_ms = 0;
  uint64_t budget_ms = 0;  // 0: no time budget
  uint32_t jobs = 0;       // worker processes
  double seeds_per_second = 0;
  double crash_states_per_second = 0;
  std::vector<RateSample> rate;  // sampled, at most kMaxRateSamples
  uint64_t attribution_ms = 0;   // time attribution took (sim/campaign/attribution.h)
  uint64_t minimize_ms = 0;      // time minimizing the causes took (campaign_minimize.h)
};
inline constexpr size_t kMaxRateSamples = 512;

// A job whose worker was lost to the environment twice (RunResult::environment_failure): neither
// a run nor a finding; a resumed campaign runs it again.
struct EnvironmentFailure {
  std::string scenario;
  uint64_t seed = 0;
  std::string detail;  // what happened to the worker the second time

  // One line for people: "scenario S seed N: <detail> (twice; not a finding)".
  std::string Line() const;
};

struct ScenarioStats {
  uint64_t seeds_run = 0;
  uint64_t runs_with_findings = 0;
};

struct CampaignSummary {
  CampaignConfig config;
  uint64_t seeds_completed = 0;  // [seed_first, seed_first + seeds_completed) all done
  uint64_t seeds_run = 0;        // jobs aggregated (a job = one scenario x one seed)
  uint64_t runs_clean = 0;
  uint64_t runs_with_findings = 0;
  uint64_t crash_states_checked = 0;
  uint64_t crashes = 0;
  uint64_t recoveries = 0;
  uint64_t events = 0;
  uint64_t ios = 0;
  uint64_t sim_time_ns = 0;
  std::map<std::string, uint64_t> probes;  // every probe known, fired or not
  VerdictCounts verdicts;                  // invariant -> summed counts
  std::map<std::string, ScenarioStats> scenarios;
  std::vector<FindingGroup> findings;  // severity (critical first), then id
  std::vector<Cause> causes;           // filled by attribution: unexplained first, then by runs
  RecheckStats rechecks;
  std::vector<EnvironmentFailure> environment_failures;  // in job order; not counted in seeds_run
  // Scenario -> (seed, trace hash) of every run that produced a RunResult, in seed order.
  std::map<std::string, std::vector<std::pair<uint64_t, uint64_t>>> trace_hashes;
  WallClockStats wall_clock;
};

// The summary of `results` under `config`, with the re-checks of those runs (a mismatch adds its
// nondeterminism finding). Results outside the config are ignored; wall-clock fields are left
// zero for the caller.
CampaignSummary Summarize(const CampaignConfig& config, const JobResults& results,
                          const JobRechecks& rechecks = {});

// Seeds from config.seed_first such that every job of this shard with those seeds is in
// `results`.
uint64_t CompletedSeeds(const CampaignConfig& config, const JobResults& results);

// Shards of one campaign merged: the config of shard 0/1 over the union of their results.
// Fails when the configs describe different campaigns. Wall clock: the longest wall time, the
// summed rates of shards that ran side by side are not known, so rates are recomputed from it.
// `rechecks`, when not empty, holds each shard's re-checks in the order of `shards`.
absl::StatusOr<CampaignSummary> MergeSummaries(
    const std::vector<std::pair<CampaignConfig, JobResults>>& shards,
    const std::vector<WallClockStats>& walls, const std::vector<JobRechecks>& rechecks = {});

// Fills the wall-clock rates from wall_ms and the totals.
void ComputeRates(CampaignSummary& summary);

// True when no number in `j` is floating-point. nlohmann converts a floating-point value read
// into an integer field with a cast that is undefined behaviour when it does not fit (found by
// fuzz_campaign_files): the reader of results.jsonl refuses such lines first (summary.json is
// checked field by field by ValidateSummaryJson).
bool HoldsOnlyIntegers(const nlohmann::json& j);

void to_json(nlohmann::json& j, const CampaignConfig& c);
void from_json(const nlohmann::json& j, CampaignConfig& c);
void to_json(nlohmann::json& j, const Recheck& r);
void from_json(const nlohmann::json& j, Recheck& r);
void to_json(nlohmann::json& j, const CampaignSummary& s);
void from_json(const nlohmann::json& j, CampaignSummary& s);

// Equality of two summaries without their wall_clock fields.
bool SameIgnoringWallClock(const CampaignSummary& a, const CampaignSummary& b);

}  // namespace snapsim

#endif  // SNAPSIM_SIM_CAMPAIGN_CAMPAIGN_SUMMARY_H_
