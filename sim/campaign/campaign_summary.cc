// SPDX-License-Identifier: GPL-2.0-only
#include "sim/campaign/campaign_summary.h"

#include <algorithm>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "sim/world/probes.h"
#include "sim/world/trace.h"
#include "util/assert.h"

namespace snapsim {

bool CampaignConfig::SameJobs(const CampaignConfig& other) const {
  return scenarios == other.scenarios && seed_first == other.seed_first &&
         seed_last == other.seed_last && shard_index == other.shard_index &&
         shard_count == other.shard_count;
}

std::string CampaignConfig::Describe() const {
  std::string seeds = seed_last ? absl::StrCat(seed_first, "..", *seed_last)
                                : absl::StrCat(seed_first, "..(time budget)");
  return absl::StrCat("scenarios=", absl::StrJoin(scenarios, ","), " seeds=", seeds,
                      " shard=", shard_index, "/", shard_count);
}

uint64_t JobIndex(const CampaignConfig& config, const JobKey& key) {
  SNAPSIM_ASSERT(key.seed >= config.seed_first);
  return (key.seed - config.seed_first) * config.scenarios.size() + key.scenario_index;
}

bool InShard(const CampaignConfig& config, const JobKey& key) {
  SNAPSIM_ASSERT(config.shard_count > 0 && config.shard_index < config.shard_count);
  return JobIndex(config, key) % config.shard_count == config.shard_index;
}

std::optional<JobKey> KeyOf(const CampaignConfig& config, const RunResult& result) {
  auto it = std::find(config.scenarios.begin(), config.scenarios.end(), result.scenario);
  if (it == config.scenarios.end()) return std::nullopt;
  if (result.seed < config.seed_first) return std::nullopt;
  if (config.seed_last && result.seed > *config.seed_last) return std::nullopt;
  return JobKey{static_cast<uint32_t>(it - config.scenarios.begin()), result.seed};
}

uint64_t CompletedSeeds(const CampaignConfig& config, const JobResults& results) {
  if (config.scenarios.empty()) return 0;
  // A seed with no job in this shard counts as done. Runs of such seeds are shorter than
  // shard_count and every other done seed holds a result: that bounds the loop.
  const uint64_t max_seeds = (results.size() + 1) * config.shard_count;
  uint64_t complete = 0;
  for (uint64_t seed = config.seed_first;; ++seed) {
    SNAPSIM_ASSERT(complete <= max_seeds);
    (void)max_seeds;
    for (uint32_t s = 0; s < config.scenarios.size(); ++s) {
      JobKey key{s, seed};
      if (InShard(config, key) && !results.contains(key)) return complete;
    }
    ++complete;
    if (config.seed_last && seed == *config.seed_last) return complete;
  }
}

std::optional<uint64_t> ShardJobCount(const CampaignConfig& config) {
  if (!config.seed_last) return std::nullopt;
  if (*config.seed_last < config.seed_first || config.shard_count == 0) return 0;
  using Wide = unsigned __int128;  // 2^64 seeds times the scenarios
  const Wide all = (Wide{*config.seed_last} - config.seed_first + 1) * config.scenarios.size();
  if (all <= config.shard_index) return 0;
  const Wide count = (all - config.shard_index + config.shard_count - 1) / config.shard_count;
  return count > UINT64_MAX ? UINT64_MAX : static_cast<uint64_t>(count);
}

bool HoldsOnlyIntegers(const nlohmann::json& j) {
  // Iterative: the nesting depth is the input's. Each node is visited once.
  std::vector<const nlohmann::json*> unvisited{&j};
  while (!unvisited.empty()) {
    const nlohmann::json* node = unvisited.back();
    unvisited.pop_back();
    if (node->is_number_float()) return false;
    if (node->is_structured()) {
      for (const nlohmann::json& child : *node) unvisited.push_back(&child);
    }
  }
  return true;
}

std::string EnvironmentFailure::Line() const {
  return absl::StrCat("scenario ", scenario, " seed ", seed, ": ", detail,
                      " (twice; not a finding, a resumed campaign runs it again)");
}

bool IsRunnerInvariant(std::string_view invariant) {
  return invariant == kSimulationCrashed || invariant == kSimulationTimeout ||
         invariant == kNondeterminism;
}

namespace {

bool HasFindingOf(const RunResult& r, std::string_view invariant) {
  return std::any_of(r.findings.begin(), r.findings.end(),
                     [&](const Finding& f) { return f.invariant == invariant; });
}

}  // namespace

Finding NondeterminismFinding(const Recheck& recheck, const RunResult& first) {
  Finding f;
  f.invariant = kNondeterminism;
  f.severity = FindingSeverity::kError;
  f.contract = Contract::kWithin;
  f.scenario = recheck.scenario;
  f.seed = recheck.seed;
  f.crash_point = "re-check in another worker process";
  f.expected = absl::StrCat("trace hash ", FormatTraceHash(recheck.trace_hash),
                            " and the same result, as the first run");
  f.actual = absl::StrCat("trace hash ", FormatTraceHash(recheck.recheck_trace_hash),
                          "; the result differs in: ", absl::StrJoin(recheck.differences, ", "));
  f.detail = absl::StrCat(
      "Seed ", recheck.seed, " of scenario ", recheck.scenario,
      ", executed again in another worker process after other seeds, did not reproduce its first "
      "execution: its replay command does not replay it.",
      recheck.first_difference.empty() ? "" : absl::StrCat(" ", recheck.first_difference, "."),
      recheck.traces.empty() ? ""
                             : absl::StrCat(" Traces: ", absl::StrJoin(recheck.traces, ", "), "."));
  f.replay_command = first.replay_command;
  return f;
}

void ApplyRechecks(const JobRechecks& rechecks, JobResults& results) {
  for (const auto& [key, recheck] : rechecks) {
    auto it = results.find(key);
    if (!recheck.Mismatch() || it == results.end()) continue;
    RunResult& r = it->second;
    std::erase_if(r.findings, [](const Finding& f) { return f.invariant == kNondeterminism; });
    r.findings.push_back(NondeterminismFinding(recheck, r));
    if (r.outcome == "clean") r.outcome = "findings";
  }
}

CampaignSummary Summarize(const CampaignConfig& config, const JobResults& plain_results,
                          const JobRechecks& rechecks) {
  JobResults results_with_rechecks;
  const bool mismatched = std::any_of(rechecks.begin(), rechecks.end(),
                                      [](const auto& kv) { return kv.second.Mismatch(); });
  if (mismatched) {
    results_with_rechecks = plain_results;
    ApplyRechecks(rechecks, results_with_rechecks);
  }
  const JobResults& results = mismatched ? results_with_rechecks : plain_results;
  CampaignSummary s;
  s.config = config;
  for (size_t i = 0; i < kProbeCount; ++i) {
    s.probes[std::string(ProbeName(static_cast<Probe>(i)))] = 0;
  }
  for (const std::string& name : config.scenarios) s.scenarios[name] = ScenarioStats{};

  std::map<std::string, FindingGroup> groups;  // by signature
  for (const auto& [key, r] : results) {
    if (key.scenario_index >= config.scenarios.size()) continue;
    if (key.seed < config.seed_first || (config.seed_last && key.seed > *config.seed_last)) {
      continue;
    }
    if (!r.environment_failure.empty()) {
      s.environment_failures.push_back(
          EnvironmentFailure{r.scenario, r.seed, r.environment_failure});
      continue;
    }
    ScenarioStats& per = s.scenarios[config.scenarios[key.scenario_index]];
    ++s.seeds_run;
    ++per.seeds_run;
    s.crash_states_checked += r.crash_states_checked;
    s.crashes += r.crashes;
    s.recoveries += r.recoveries;
    s.events += r.events;
    s.ios += r.ios;
    s.sim_time_ns += r.sim_time_ns;
    for (const auto& [name, count] : r.probes) s.probes[name] += count;
    for (const auto& [name, v] : r.verdicts) {
      s.verdicts[name].checked += v.checked;
      s.verdicts[name].failed += v.failed;
    }
    if (!HasFindingOf(r, kSimulationCrashed) && !HasFindingOf(r, kSimulationTimeout)) {
      s.trace_hashes[r.scenario].emplace_back(r.seed, r.trace_hash);
    }
    // The runner's own invariants are checked once per job.
    for (const char* own : {kSimulationCrashed, kSimulationTimeout}) {
      if (r.verdicts.contains(own)) continue;
      s.verdicts[own].checked += 1;
      s.verdicts[own].failed += HasFindingOf(r, own) ? 1 : 0;
    }
    if (r.findings.empty()) {
      ++s.runs_clean;
      continue;
    }
    ++s.runs_with_findings;
    ++per.runs_with_findings;
    std::set<std::string> hit_here;
    for (const Finding& f : r.findings) {
      std::string id = f.Signature();
      auto [it, inserted] = groups.try_emplace(id);
      FindingGroup& g = it->second;
      if (inserted) {
        // Results are visited in seed order within a scenario: the first is the lowest seed.
        g.id = id;
        g.first = f;
        if (g.first.replay_command.empty()) g.first.replay_command = r.replay_command;
      }
      if (hit_here.insert(id).second) ++g.seed_count;
    }
  }
  for (auto& [id, g] : groups) s.findings.push_back(std::move(g));
  std::stable_sort(s.findings.begin(), s.findings.end(),
                   [](const FindingGroup& a, const FindingGroup& b) {
                     return a.first.severity < b.first.severity;
                   });
  for (const auto& [key, recheck] : rechecks) {
    if (!results.contains(key)) continue;  // outside the config
    if (!recheck.inconclusive.empty()) {
      ++s.rechecks.inconclusive;
      continue;
    }
    ++s.rechecks.runs;
    if (!recheck.Mismatch()) continue;
    ++s.rechecks.mismatches;
    s.rechecks.mismatched.push_back(recheck);
  }
  if (s.rechecks.runs > 0) {
    s.verdicts[kNondeterminism] = Verdict{s.rechecks.runs, s.rechecks.mismatches};
  }
  s.seeds_completed = CompletedSeeds(config, results);
  return s;
}

void ComputeRates(CampaignSummary& summary) {
  WallClockStats& w = summary.wall_clock;
  if (w.wall_ms == 0) {
    w.seeds_per_second = 0;
    w.crash_states_per_second = 0;
    return;
  }
  double seconds = static_cast<double>(w.wall_ms) / 1000.0;
  uint64_t done = w.rate.empty() ? summary.seeds_run : w.rate.back().seeds_done;
  w.seeds_per_second = static_cast<double>(done) / seconds;
  // Crash states of the jobs this process ran are not told apart: scale by the share it ran.
  double share = summary.seeds_run ? static_cast<double>(done) / summary.seeds_run : 0;
  w.crash_states_per_second = static_cast<double>(summary.crash_states_checked) * share / seconds;
}

absl::StatusOr<CampaignSummary> MergeSummaries(
    const std::vector<std::pair<CampaignConfig, JobResults>>& shards,
    const std::vector<WallClockStats>& walls, const std::vector<JobRechecks>& rechecks) {
  if (shards.empty()) return absl::InvalidArgumentError("no shard to merge");
  CampaignConfig config = shards.front().first;
  config.shard_index = 0;
  config.shard_count = 1;
  JobResults all;
  for (const auto& [shard_config, results] : shards) {
    if (shard_config.scenarios != config.scenarios ||
        shard_config.seed_first != config.seed_first ||
        shard_config.seed_last != config.seed_last) {
      return absl::FailedPreconditionError(
          absl::StrCat("shards of different campaigns: ", shards.front().first.Describe(), " vs ",
                       shard_config.Describe()));
    }
    for (const auto& [key, r] : results) all.try_emplace(key, r);  // first shard wins
  }
  JobRechecks all_rechecks;
  for (const JobRechecks& shard : rechecks) {
    for (const auto& [key, r] : shard) all_rechecks.try_emplace(key, r);
  }
  CampaignSummary merged = Summarize(config, all, all_rechecks);
  for (const WallClockStats& w : walls) {
    merged.wall_clock.wall_ms = std::max(merged.wall_clock.wall_ms, w.wall_ms);
    merged.wall_clock.budget_ms = std::max(merged.wall_clock.budget_ms, w.budget_ms);
    merged.wall_clock.jobs += w.jobs;
  }
  ComputeRates(merged);
  return merged;
}

// ---- JSON ----

void to_json(nlohmann::json& j, const CampaignConfig& c) {
  j = nlohmann::json{{"scenarios", c.scenarios},
                     {"seeds",
                      {{"first", c.seed_first},
                       {"last", c.seed_last ? nlohmann::json(*c.seed_last) : nlohmann::json()}}},
                     {"shard", {{"index", c.shard_index}, {"count", c.shard_count}}},
                     {"tool_version", c.tool_version},
                     {"git_commit", c.git_commit},
                     {"scenario_digests", c.scenario_digests}};
}

void from_json(const nlohmann::json& j, CampaignConfig& c) {
  c.scenarios = j.at("scenarios").get<std::vector<std::string>>();
  const nlohmann::json& seeds = j.at("seeds");
  c.seed_first = seeds.at("first").get<uint64_t>();
  c.seed_last.reset();
  if (!seeds.at("last").is_null()) c.seed_last = seeds.at("last").get<uint64_t>();
  c.shard_index = j.at("shard").at("index").get<uint32_t>();
  c.shard_count = j.at("shard").at("count").get<uint32_t>();
  c.tool_version = j.value("tool_version", "");
  c.git_commit = j.value("git_commit", "");
  c.scenario_digests = j.value("scenario_digests", std::map<std::string, std::string>{});
}

namespace {

nlohmann::json GroupToJson(const FindingGroup& g) {
  nlohmann::json j = g.first;
  j["id"] = g.id;
  j.erase("seed");
  j["first_seed"] = g.first.seed;
  j["count"] = g.seed_count;
  j["minimized"] = g.minimized;
  j["trace"] = g.trace;
  j["cause"] = g.cause;
  return j;
}

FindingGroup GroupFromJson(const nlohmann::json& j) {
  FindingGroup g;
  nlohmann::json as_finding = j;
  as_finding["seed"] = j.at("first_seed");
  g.first = as_finding.get<Finding>();
  g.id = j.at("id").get<std::string>();
  g.seed_count = j.at("count").get<uint64_t>();
  g.minimized = j.value("minimized", "");
  g.trace = j.value("trace", "");
  g.cause = j.value("cause", "");  // absent in schema 1
  return g;
}

nlohmann::json RechecksToJson(const RecheckStats& r) {
  return nlohmann::json{{"runs", r.runs},
                        {"mismatches", r.mismatches},
                        {"inconclusive", r.inconclusive},
                        {"mismatched", r.mismatched}};
}

RecheckStats RechecksFromJson(const nlohmann::json& j) {
  RecheckStats r;
  r.runs = j.at("runs").get<uint64_t>();
  r.mismatches = j.at("mismatches").get<uint64_t>();
  r.inconclusive = j.value("inconclusive", uint64_t{0});
  r.mismatched = j.value("mismatched", std::vector<Recheck>{});
  return r;
}

uint64_t HashFromJson(const nlohmann::json& j) {
  std::optional<uint64_t> hash = ParseTraceHash(j.get<std::string>());
  if (!hash) {
    throw nlohmann::json::other_error::create(
        501, absl::StrCat("trace hash ", j.dump(), " is not 16 hex digits"), &j);
  }
  return *hash;
}

}  // namespace

void to_json(nlohmann::json& j, const Recheck& r) {
  j = nlohmann::json{{"scenario", r.scenario},
                     {"seed", r.seed},
                     {"trace_hash", FormatTraceHash(r.trace_hash)},
                     {"recheck_trace_hash", FormatTraceHash(r.recheck_trace_hash)},
                     {"differences", r.differences},
                     {"inconclusive", r.inconclusive},
                     {"first_difference", r.first_difference},
                     {"traces", r.traces}};
}

void from_json(const nlohmann::json& j, Recheck& r) {
  r.scenario = j.at("scenario").get<std::string>();
  r.seed = j.at("seed").get<uint64_t>();
  r.trace_hash = HashFromJson(j.at("trace_hash"));
  r.recheck_trace_hash = HashFromJson(j.at("recheck_trace_hash"));
  r.differences = j.value("differences", std::vector<std::string>{});
  r.inconclusive = j.value("inconclusive", "");
  r.first_difference = j.value("first_difference", "");
  r.traces = j.value("traces", std::vector<std::string>{});
}

void to_json(nlohmann::json& j, const CampaignSummary& s) {
  const CampaignConfig& c = s.config;
  nlohmann::json completed;  // null when no seed is complete
  if (s.seeds_completed > 0) {
    completed = {{"first", c.seed_first}, {"last", c.seed_first + s.seeds_completed - 1}};
  }
  nlohmann::json per_scenario = nlohmann::json::object();
  for (const auto& [name, st] : s.scenarios) {
    per_scenario[name] = {{"runs", st.seeds_run}, {"runs_with_findings", st.runs_with_findings}};
  }
  nlohmann::json findings = nlohmann::json::array();
  for (const FindingGroup& g : s.findings) findings.push_back(GroupToJson(g));
  nlohmann::json rate = nlohmann::json::array();
  for (const RateSample& r : s.wall_clock.rate) rate.push_back({r.wall_ms, r.seeds_done});
  nlohmann::json environment = nlohmann::json::array();
  for (const EnvironmentFailure& e : s.environment_failures) {
    environment.push_back({{"scenario", e.scenario}, {"seed", e.seed}, {"detail", e.detail}});
  }
  nlohmann::json hashes = nlohmann::json::object();
  for (const auto& [name, runs] : s.trace_hashes) {
    nlohmann::json& list = hashes[name] = nlohmann::json::array();
    for (const auto& [seed, hash] : runs) list.push_back({seed, FormatTraceHash(hash)});
  }
  j = nlohmann::json{
      {"schema_version", kSummarySchemaVersion},
      {"tool", {{"version", c.tool_version}, {"git_commit", c.git_commit}}},
      {"scenarios", c.scenarios},
      {"scenario_digests", c.scenario_digests},
      {"shard", {{"index", c.shard_index}, {"count", c.shard_count}}},
      {"seeds",
       {{"requested",
         {{"first", c.seed_first},
          {"last", c.seed_last ? nlohmann::json(*c.seed_last) : nlohmann::json()}}},
        {"completed", completed},
        {"completed_count", s.seeds_completed}}},
      {"runs",
       {{"total", s.seeds_run}, {"clean", s.runs_clean}, {"with_findings", s.runs_with_findings}}},
      {"totals",
       {{"crash_states_checked", s.crash_states_checked},
        {"crashes", s.crashes},
        {"recoveries", s.recoveries},
        {"events", s.events},
        {"ios", s.ios},
        {"sim_time_ns", s.sim_time_ns}}},
      {"per_scenario", per_scenario},
      {"probes", s.probes},
      {"verdicts", s.verdicts},
      {"findings", findings},
      {"causes", s.causes},
      {"rechecks", RechecksToJson(s.rechecks)},
      {"environment_failures", environment},
      {"trace_hashes", hashes},
      {"wall_clock",
       {{"wall_ms", s.wall_clock.wall_ms},
        {"budget_ms", s.wall_clock.budget_ms},
        {"jobs", s.wall_clock.jobs},
        {"seeds_per_second", s.wall_clock.seeds_per_second},
        {"crash_states_per_second", s.wall_clock.crash_states_per_second},
        {"rate", rate},
        {"attribution_ms", s.wall_clock.attribution_ms},
        {"minimize_ms", s.wall_clock.minimize_ms}}}};
}

void from_json(const nlohmann::json& j, CampaignSummary& s) {
  s = CampaignSummary{};
  CampaignConfig& c = s.config;
  c.tool_version = j.at("tool").at("version").get<std::string>();
  c.git_commit = j.at("tool").at("git_commit").get<std::string>();
  c.scenarios = j.at("scenarios").get<std::vector<std::string>>();
  c.scenario_digests = j.value("scenario_digests", std::map<std::string, std::string>{});
  c.shard_index = j.at("shard").at("index").get<uint32_t>();
  c.shard_count = j.at("shard").at("count").get<uint32_t>();
  const nlohmann::json& seeds = j.at("seeds");
  c.seed_first = seeds.at("requested").at("first").get<uint64_t>();
  if (!seeds.at("requested").at("last").is_null()) {
    c.seed_last = seeds.at("requested").at("last").get<uint64_t>();
  }
  s.seeds_completed = seeds.at("completed_count").get<uint64_t>();
  s.seeds_run = j.at("runs").at("total").get<uint64_t>();
  s.runs_clean = j.at("runs").at("clean").get<uint64_t>();
  s.runs_with_findings = j.at("runs").at("with_findings").get<uint64_t>();
  const nlohmann::json& t = j.at("totals");
  s.crash_states_checked = t.at("crash_states_checked").get<uint64_t>();
  s.crashes = t.at("crashes").get<uint64_t>();
  s.recoveries = t.at("recoveries").get<uint64_t>();
  s.events = t.at("events").get<uint64_t>();
  s.ios = t.at("ios").get<uint64_t>();
  s.sim_time_ns = t.at("sim_time_ns").get<uint64_t>();
  for (const auto& [name, st] : j.at("per_scenario").items()) {
    s.scenarios[name] =
        ScenarioStats{st.at("runs").get<uint64_t>(), st.at("runs_with_findings").get<uint64_t>()};
  }
  s.probes = j.at("probes").get<std::map<std::string, uint64_t>>();
  s.verdicts = j.at("verdicts").get<VerdictCounts>();
  for (const nlohmann::json& g : j.at("findings")) s.findings.push_back(GroupFromJson(g));
  if (j.contains("causes")) s.causes = j.at("causes").get<std::vector<Cause>>();  // schema >= 2
  // Absent in files written before re-checks: no re-check, no trace hash.
  if (j.contains("rechecks")) s.rechecks = RechecksFromJson(j.at("rechecks"));
  // Absent in files written before environment failures were told apart from findings.
  if (j.contains("environment_failures")) {
    for (const nlohmann::json& e : j.at("environment_failures")) {
      s.environment_failures.push_back(EnvironmentFailure{e.at("scenario").get<std::string>(),
                                                          e.at("seed").get<uint64_t>(),
                                                          e.at("detail").get<std::string>()});
    }
  }
  if (j.contains("trace_hashes")) {
    for (const auto& [name, runs] : j.at("trace_hashes").items()) {
      auto& list = s.trace_hashes[name];
      for (const nlohmann::json& run : runs) {
        list.emplace_back(run.at(0).get<uint64_t>(), HashFromJson(run.at(1)));
      }
    }
  }
  const nlohmann::json& w = j.at("wall_clock");
  s.wall_clock.wall_ms = w.at("wall_ms").get<uint64_t>();
  s.wall_clock.budget_ms = w.at("budget_ms").get<uint64_t>();
  s.wall_clock.jobs = w.at("jobs").get<uint32_t>();
  s.wall_clock.seeds_per_second = w.at("seeds_per_second").get<double>();
  s.wall_clock.crash_states_per_second = w.at("crash_states_per_second").get<double>();
  s.wall_clock.attribution_ms = w.value("attribution_ms", uint64_t{0});
  s.wall_clock.minimize_ms = w.value("minimize_ms", uint64_t{0});
  for (const nlohmann::json& r : w.at("rate")) {
    s.wall_clock.rate.push_back(RateSample{r.at(0).get<uint64_t>(), r.at(1).get<uint64_t>()});
  }
}

bool SameIgnoringWallClock(const CampaignSummary& a, const CampaignSummary& b) {
  nlohmann::json ja = a;
  nlohmann::json jb = b;
  ja.erase("wall_clock");
  jb.erase("wall_clock");
  return ja == jb;
}

}  // namespace snapsim
