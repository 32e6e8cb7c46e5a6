// SPDX-License-Identifier: GPL-2.0-only
#include "sim/campaign/attribution.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <set>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "core/named_options.h"
#include "sim/campaign/cause.h"
#include "sim/campaign/unexplained_signature.h"
#include "util/assert.h"

namespace snapsim {
namespace {

bool HasWithin(const RunResult& r) {
  return std::any_of(r.findings.begin(), r.findings.end(),
                     [](const Finding& f) { return f.contract == Contract::kWithin; });
}

bool IsRunnerFinding(const RunResult& r) {
  return std::any_of(r.findings.begin(), r.findings.end(),
                     [](const Finding& f) { return IsRunnerInvariant(f.invariant); });
}

// The catalogue entries whose correction is not on yet, those answering `invariant` first.
std::vector<const CatalogueEntry*> Candidates(const FindingCatalogue& catalogue,
                                              const std::string& invariant,
                                              const std::vector<std::string>& options_on) {
  std::vector<const CatalogueEntry*> matching, others;
  for (const CatalogueEntry& e : catalogue.entries) {
    if (CorrectionIsOn(e.correction, options_on)) continue;
    const bool answers =
        std::find(e.invariants.begin(), e.invariants.end(), invariant) != e.invariants.end();
    (answers ? matching : others).push_back(&e);
  }
  matching.insert(matching.end(), others.begin(), others.end());
  return matching;
}

std::vector<std::string> CorrectionsOf(const std::vector<const CatalogueEntry*>& set) {
  std::vector<std::string> out;
  for (const CatalogueEntry* e : set) out.push_back(e->correction);
  return out;
}

// Puts the set in catalogue order (entries live in catalogue.entries).
void SortByCatalogue(std::vector<const CatalogueEntry*>& set) { std::sort(set.begin(), set.end()); }

}  // namespace

bool PassesWithinContract(const RunResult& original, const RunResult& replay) {
  if (HasWithin(original)) return !HasWithin(replay);
  return replay.findings.empty();
}

bool CorrectionIsOn(const std::string& correction, const std::vector<std::string>& options_on) {
  for (const std::string& on : options_on) {
    if (on == correction) return true;
    if (on == kCorrectedOptionName) {
      const NamedOption* option = FindNamedOption(correction);
      if (option != nullptr && option->corrected) return true;
    }
  }
  return false;
}

std::vector<std::string> NamedOptionsOn(const StoreOptions& store, const TargetOptions& target) {
  std::vector<std::string> on;
  StoreOptions store_copy = store;
  TargetOptions target_copy = target;
  for (const NamedOption& option : kNamedOptions) {
    const bool* in_store = NamedOptionField(option, store_copy);
    const bool* in_target = NamedOptionField(option, target_copy);
    if ((in_store != nullptr && *in_store) || (in_target != nullptr && *in_target)) {
      on.emplace_back(option.name);
    }
  }
  return on;
}

RunAttribution AttributeRun(const RunResult& failing, const FindingCatalogue& catalogue,
                            const std::vector<std::string>& options_on,
                            const CorrectionReplay& replay) {
  SNAPSIM_ASSERT(!failing.findings.empty());
  RunAttribution out;
  std::vector<const CatalogueEntry*> candidates =
      Candidates(catalogue, failing.findings.front().invariant, options_on);
  auto passes = [&](const std::vector<const CatalogueEntry*>& set) {
    ++out.replays;
    return PassesWithinContract(failing, replay(failing, CorrectionsOf(set)));
  };
  auto found = [&](std::vector<const CatalogueEntry*> set) {
    SortByCatalogue(set);
    for (const CatalogueEntry* e : set) out.catalogue_ids.push_back(e->id);
    out.corrections = CorrectionsOf(set);
    return out;
  };
  for (const CatalogueEntry* single : candidates) {
    if (passes({single})) return found({single});
  }
  if (candidates.size() < 2 || !passes(candidates)) return out;  // unexplained
  // Leave-one-out: each correction the rest can do without is dropped for good.
  std::vector<const CatalogueEntry*> needed = candidates;
  SortByCatalogue(needed);
  for (size_t i = 0; i < needed.size() && needed.size() > 1;) {
    std::vector<const CatalogueEntry*> without = needed;
    without.erase(without.begin() + static_cast<std::ptrdiff_t>(i));
    if (passes(without)) {
      needed = std::move(without);
    } else {
      ++i;
    }
  }
  return found(needed);
}

namespace {

struct RunCause {
  std::string id;
  bool replayed = false;
  uint32_t replays = 0;
};

// How well a run stands for its cause (smaller is better): attributed by replay, a
// within-contract failure of the store, the lowest seed, the first scenario.
using RunRank = std::tuple<bool, bool, uint64_t, uint32_t>;

RunRank RankOf(const JobKey& key, const RunResult& run, const RunCause& rc) {
  const bool store_within =
      run.findings.front().contract == Contract::kWithin && !IsRunnerFinding(run);
  return {!rc.replayed, !store_within, key.seed, key.scenario_index};
}

// Builds (or extends) the cause `id` with one run; `best` is the rank of its first_run so far.
void AddRun(std::map<std::string, Cause>& causes, std::map<std::string, RunRank>& best,
            const std::string& id, const JobKey& key, const RunResult& run, const RunCause& rc,
            const FindingCatalogue& catalogue, const std::vector<std::string>& options_on) {
  auto [it, inserted] = causes.try_emplace(id);
  Cause& c = it->second;
  const Finding& first = run.findings.front();
  if (inserted) {
    c.id = id;
    c.known = id.rfind(kUnexplainedPrefix, 0) != 0;
    if (c.known) {
      std::vector<std::string> titles, upstream;
      const std::vector<std::string> ids = absl::StrSplit(id, kCauseIdJoin);
      for (const CatalogueEntry& e : catalogue.entries) {
        if (std::find(ids.begin(), ids.end(), e.id) == ids.end()) continue;
        c.catalogue_ids.push_back(e.id);
        c.corrections.push_back(e.correction);
        titles.push_back(e.title);
        upstream.push_back(e.UpstreamText());
        if (CorrectionIsOn(e.correction, options_on)) c.correction_was_on = true;
      }
      c.title = absl::StrJoin(titles, " + ");
      c.upstream = absl::StrJoin(upstream, "; ");
      if (c.catalogue_ids.size() == 1) c.catalogue_case = catalogue.FindById(id)->case_path;
    } else {
      c.signature = UnexplainedSignature(run);
      c.title = absl::StrCat("unexplained: ", c.signature);
    }
  }
  const RunRank rank = RankOf(key, run, rc);
  auto [rank_it, first_seen] = best.try_emplace(id, rank);
  if (first_seen || rank < rank_it->second) {
    rank_it->second = rank;
    c.contract = ContractName(first.contract);
    c.replay_command = first.replay_command.empty() ? run.replay_command : first.replay_command;
    c.first_run = CauseRun{run.scenario, run.seed, first.invariant};
  }
  ++c.runs;
  if (rc.replayed) ++c.attributed_runs;
  c.replays += rc.replays;
  if (std::find(c.scenarios.begin(), c.scenarios.end(), run.scenario) == c.scenarios.end()) {
    c.scenarios.push_back(run.scenario);
  }
  if (std::find(c.invariants.begin(), c.invariants.end(), first.invariant) == c.invariants.end()) {
    c.invariants.push_back(first.invariant);
  }
}

const std::vector<std::string>& OptionsOn(const AttributionOptions& options,
                                          const std::string& scenario) {
  static const std::vector<std::string> kNone;
  auto it = options.options_on.find(scenario);
  return it == options.options_on.end() ? kNone : it->second;
}

// The id seen most often (ties: the smallest id, for determinism).
std::string Majority(const std::map<std::string, uint64_t>& counts) {
  std::string best;
  uint64_t best_count = 0;
  for (const auto& [id, n] : counts) {
    if (n > best_count) {
      best = id;
      best_count = n;
    }
  }
  return best;
}

}  // namespace

namespace {

void AddUnique(std::vector<std::string>& into, const std::vector<std::string>& from) {
  for (const std::string& x : from) {
    if (std::find(into.begin(), into.end(), x) == into.end()) into.push_back(x);
  }
  std::sort(into.begin(), into.end());
}

void SortCauses(std::vector<Cause>& causes) {
  std::stable_sort(causes.begin(), causes.end(), [](const Cause& a, const Cause& b) {
    if (a.known != b.known) return !a.known;
    if (a.runs != b.runs) return a.runs > b.runs;
    return a.id < b.id;
  });
}

}  // namespace

AttributionStats AttributeCampaign(CampaignSummary& summary, const JobResults& results,
                                   const FindingCatalogue& catalogue,
                                   const CorrectionReplay& replay,
                                   const AttributionOptions& options) {
  SNAPSIM_ASSERT(options.max_runs_per_group >= 1 &&
                 options.max_runs_per_group <= kMaxAttributedRunsPerGroup);
  const auto start = std::chrono::steady_clock::now();
  AttributionStats stats;
  const CampaignConfig& config = summary.config;
  // Pass 1, job order: replay up to the bound per group.
  std::map<std::string, uint32_t> replayed_in_group;
  std::map<std::string, std::map<std::string, uint64_t>> group_causes;  // group -> cause -> runs
  std::map<JobKey, RunCause> run_causes;
  for (const auto& [key, run] : results) {
    if (run.findings.empty() || !KeyOf(config, run)) continue;
    ++stats.failing_runs;
    const std::string group = run.findings.front().Signature();
    if (replayed_in_group[group] >= options.max_runs_per_group) continue;
    ++replayed_in_group[group];
    RunCause rc;
    rc.replayed = true;
    if (!IsRunnerFinding(run)) {
      RunAttribution a = AttributeRun(run, catalogue, OptionsOn(options, run.scenario), replay);
      rc.replays = a.replays;
      stats.replays += a.replays;
      if (!a.catalogue_ids.empty()) rc.id = absl::StrJoin(a.catalogue_ids, kCauseIdJoin);
    }
    if (rc.id.empty()) rc.id = UnexplainedCauseId(UnexplainedSignature(run));
    ++stats.runs_attributed;
    ++group_causes[group][rc.id];
    run_causes[key] = rc;
  }
  // Pass 2: the runs beyond the bound take their group's majority; build the causes.
  std::map<std::string, Cause> causes;
  std::map<std::string, RunRank> best_runs;
  std::map<std::string, std::map<std::string, uint64_t>> finding_causes;  // finding id -> ...
  for (const auto& [key, run] : results) {
    if (run.findings.empty() || !KeyOf(config, run)) continue;
    auto it = run_causes.find(key);
    RunCause rc = it != run_causes.end()
                      ? it->second
                      : RunCause{Majority(group_causes[run.findings.front().Signature()])};
    AddRun(causes, best_runs, rc.id, key, run, rc, catalogue, OptionsOn(options, run.scenario));
    std::set<std::string> seen;
    for (const Finding& f : run.findings) {
      if (seen.insert(f.Signature()).second) ++finding_causes[f.Signature()][rc.id];
    }
  }
  summary.causes.clear();
  for (auto& [id, c] : causes) {
    std::sort(c.scenarios.begin(), c.scenarios.end());
    std::sort(c.invariants.begin(), c.invariants.end());
    summary.causes.push_back(std::move(c));
  }
  SortCauses(summary.causes);  // unexplained first, then by runs (most first), then id
  for (FindingGroup& g : summary.findings) g.cause = Majority(finding_causes[g.id]);
  stats.elapsed_ms = static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                               std::chrono::steady_clock::now() - start)
                                               .count());
  summary.wall_clock.attribution_ms = stats.elapsed_ms;
  return stats;
}

void MergeShardCauses(const std::vector<CampaignSummary>& shards, CampaignSummary& merged) {
  std::map<std::string, Cause> causes;
  for (const CampaignSummary& shard : shards) {
    for (const Cause& c : shard.causes) {
      auto [it, inserted] = causes.try_emplace(c.id, c);
      if (inserted) continue;
      Cause& into = it->second;
      into.runs += c.runs;
      into.attributed_runs += c.attributed_runs;
      into.replays += c.replays;
      into.correction_was_on = into.correction_was_on || c.correction_was_on;
      AddUnique(into.scenarios, c.scenarios);
      AddUnique(into.invariants, c.invariants);
      if (c.first_run.seed < into.first_run.seed) {
        into.first_run = c.first_run;
        into.contract = c.contract;
        into.replay_command = c.replay_command;
      }
      if (into.minimized_case.empty()) {
        into.minimized_case = c.minimized_case;
        into.minimized_trace = c.minimized_trace;
        into.minimized_steps = c.minimized_steps;
      }
    }
  }
  merged.causes.clear();
  for (auto& [id, c] : causes) merged.causes.push_back(std::move(c));
  SortCauses(merged.causes);
  for (FindingGroup& g : merged.findings) {
    for (const CampaignSummary& shard : shards) {
      for (const FindingGroup& from : shard.findings) {
        if (from.id != g.id || from.cause.empty()) continue;
        if (g.cause.empty() || from.first.seed == g.first.seed) g.cause = from.cause;
      }
    }
  }
}

}  // namespace snapsim
