// SPDX-License-Identifier: GPL-2.0-only
#include "reports/compare.h"

#include <map>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "reports/json_report.h"
#include "reports/markdown_report.h"
#include "sim/world/trace.h"

namespace snapsim {
namespace {

template <typename T>
std::map<std::string, const T*> ById(const std::vector<T>& items) {
  std::map<std::string, const T*> out;
  for (const T& x : items) out[x.id] = &x;
  return out;
}

// Causes can be compared: attribution ran (a summary without findings has nothing to attribute).
bool HasCauses(const CampaignSummary& s) { return !s.causes.empty() || s.findings.empty(); }

void CauseLine(std::string& md, const Cause& c, uint64_t total_runs) {
  absl::StrAppend(&md, "- **", c.id, "**", c.known ? "" : " (unexplained)",
                  c.correction_was_on ? " **correction does not hold**" : "", ": ", c.title, "; ",
                  c.runs, " of ", total_runs, " runs in ", absl::StrJoin(c.scenarios, ", "),
                  "; replay: `", c.replay_command, "`\n");
}

// The causes sections, or a note why there are none.
std::string CompareCauses(const CampaignSummary& prev, const CampaignSummary& cur) {
  if (!HasCauses(prev) || !HasCauses(cur)) {
    return absl::StrCat(
        "\n## Causes\n\nNot compared: the ", HasCauses(prev) ? "current" : "previous",
        " summary has findings but no causes (summary.json schema version 1, or a campaign run "
        "with --no-attribute). The findings below are compared by invariant@scenario/contract.\n");
  }
  std::map<std::string, const Cause*> before = ById(prev.causes), after = ById(cur.causes);
  std::string added, gone, kept;
  for (const auto& [id, c] : after) {
    auto it = before.find(id);
    if (it == before.end()) {
      CauseLine(added, *c, cur.seeds_run);
      continue;
    }
    const Cause& was = *it->second;
    absl::StrAppend(
        &kept, "| ", id, " | ", was.runs, " of ", prev.seeds_run, " | ", c->runs, " of ",
        cur.seeds_run, " | ", absl::StrJoin(c->scenarios, ", "), " |",
        c->correction_was_on && !was.correction_was_on ? " correction does not hold" : "", "\n");
  }
  for (const auto& [id, c] : before) {
    if (!after.contains(id)) CauseLine(gone, *c, prev.seeds_run);
  }
  if (!kept.empty()) {
    kept = absl::StrCat(
        "| cause | runs before | runs now | scenarios now | |\n|---|---|---|---|---|\n", kept);
  }
  return absl::StrCat("\n## New causes\n\n", added.empty() ? "None.\n" : added,
                      "\n## Gone causes\n\n", gone.empty() ? "None.\n" : gone,
                      "\n## Causes still present\n\n", kept.empty() ? "None.\n" : kept);
}

std::string RateChange(double before, double after) {
  if (before <= 0) return absl::StrFormat("%.2f -> %.2f", before, after);
  return absl::StrFormat("%.2f -> %.2f (%+.1f%%)", before, after,
                         (after - before) * 100.0 / before);
}

void FindingLine(std::string& md, const FindingGroup& g) {
  absl::StrAppend(&md, "- ", g.id, " (", FindingSeverityName(g.first.severity), ", ", g.seed_count,
                  " seeds, first seed ", g.first.seed,
                  g.cause.empty() ? "" : absl::StrCat(", cause ", g.cause), "): `",
                  g.first.replay_command, "`\n");
}

constexpr size_t kMaxListedHashChanges = 50;

bool KnownCommit(const std::string& commit) { return !commit.empty() && commit != "unknown"; }

// Why a scenario's runs may change their trace hash between the two campaigns, or "" when
// nothing may: the same tool commit and the same scenario definition.
std::string ExpectedChange(const CampaignSummary& prev, const CampaignSummary& cur,
                           const std::string& scenario) {
  if (!KnownCommit(prev.config.git_commit) || !KnownCommit(cur.config.git_commit)) {
    return "the tool commit of one campaign is unknown";
  }
  if (prev.config.git_commit != cur.config.git_commit) {
    return absl::StrCat("the tool changed (", prev.config.git_commit, " -> ", cur.config.git_commit,
                        ")");
  }
  auto digest = [&](const CampaignSummary& s) {
    auto it = s.config.scenario_digests.find(scenario);
    return it == s.config.scenario_digests.end() ? std::string() : it->second;
  };
  if (digest(prev).empty() || digest(cur).empty()) return "the scenario's definition is unknown";
  if (digest(prev) != digest(cur)) {
    return "the scenario's definition changed (its file or --option)";
  }
  return "";
}

// Runs in both campaigns whose trace hash changed: at the same tool commit and scenario
// definition a mismatch (nondeterminism), else counted as expected, with the reason.
std::string CompareTraceHashes(const CampaignSummary& prev, const CampaignSummary& cur) {
  std::string md = "\n## Trace hashes\n\n";
  if ((prev.trace_hashes.empty() && prev.seeds_run > 0) ||
      (cur.trace_hashes.empty() && cur.seeds_run > 0)) {
    return absl::StrCat(md, "Not compared: the ",
                        prev.trace_hashes.empty() ? "previous" : "current",
                        " summary carries no trace hashes (written before they were recorded).\n");
  }
  uint64_t common = 0;
  std::vector<std::string> mismatches;
  std::map<std::string, std::pair<uint64_t, uint64_t>> expected;  // reason -> (changed, common)
  for (const auto& [scenario, runs] : cur.trace_hashes) {
    auto it = prev.trace_hashes.find(scenario);
    if (it == prev.trace_hashes.end()) continue;
    std::map<uint64_t, uint64_t> before(it->second.begin(), it->second.end());
    const std::string reason = ExpectedChange(prev, cur, scenario);
    for (const auto& [seed, hash] : runs) {
      auto was = before.find(seed);
      if (was == before.end()) continue;
      ++common;
      if (!reason.empty()) ++expected[reason].second;
      if (was->second == hash) continue;
      if (reason.empty()) {
        mismatches.push_back(absl::StrCat("- ", scenario, " seed ", seed, ": ",
                                          FormatTraceHash(was->second), " -> ",
                                          FormatTraceHash(hash)));
      } else {
        ++expected[reason].first;
      }
    }
  }
  absl::StrAppend(&md, common, " runs in both campaigns.\n");
  if (!mismatches.empty()) {
    absl::StrAppend(&md, "\n**", mismatches.size(),
                    " runs changed their trace hash at the same tool commit and scenario "
                    "definition: nondeterminism** (each seed's replay command no longer replays "
                    "it):\n\n");
    for (size_t i = 0; i < mismatches.size() && i < kMaxListedHashChanges; ++i) {
      absl::StrAppend(&md, mismatches[i], "\n");
    }
    if (mismatches.size() > kMaxListedHashChanges) {
      absl::StrAppend(&md, "- and ", mismatches.size() - kMaxListedHashChanges, " more\n");
    }
  }
  for (const auto& [reason, counts] : expected) {
    absl::StrAppend(&md, "\n", counts.first, " of ", counts.second,
                    " runs changed their trace hash, expected: ", reason, ".\n");
  }
  if (mismatches.empty() && expected.empty()) {
    absl::StrAppend(&md, "\nEvery one kept its trace hash (same tool commit and scenarios).\n");
  }
  return md;
}

}  // namespace

std::string CompareSummaries(const CampaignSummary& prev, const CampaignSummary& cur) {
  std::map<std::string, const FindingGroup*> before = ById(prev.findings),
                                             after = ById(cur.findings);
  std::string added, gone, kept;
  for (const auto& [id, g] : after) {
    auto it = before.find(id);
    if (it == before.end()) {
      FindingLine(added, *g);
    } else {
      absl::StrAppend(&kept, "- ", id, ": ", it->second->seed_count, " -> ", g->seed_count,
                      " seeds\n");
    }
  }
  for (const auto& [id, g] : before) {
    if (!after.contains(id)) FindingLine(gone, *g);
  }
  std::string started, stopped;
  for (const auto& [name, count] : cur.probes) {
    auto it = prev.probes.find(name);
    uint64_t was = it == prev.probes.end() ? 0 : it->second;
    if (count > 0 && was == 0) absl::StrAppend(&started, started.empty() ? "" : ", ", name);
  }
  for (const auto& [name, count] : prev.probes) {
    auto it = cur.probes.find(name);
    uint64_t now = it == cur.probes.end() ? 0 : it->second;
    if (count > 0 && now == 0) absl::StrAppend(&stopped, stopped.empty() ? "" : ", ", name);
  }

  std::string md = "# snapsim campaign comparison\n\n";
  for (const auto& [name, s] : {std::pair{"previous", &prev}, std::pair{"current", &cur}}) {
    absl::StrAppend(&md, "- ", name, ": ", s->config.git_commit, ", seeds ",
                    SeedRangeText(*s, true), ", ", s->seeds_run, " runs, ", s->findings.size(),
                    " finding kinds, ", HasCauses(*s) ? CausesHeadline(*s) : "no causes", "\n");
  }
  absl::StrAppend(&md, "- seeds/s: ",
                  RateChange(prev.wall_clock.seeds_per_second, cur.wall_clock.seeds_per_second),
                  "\n");
  absl::StrAppend(
      &md, "- crash states/s: ",
      RateChange(prev.wall_clock.crash_states_per_second, cur.wall_clock.crash_states_per_second),
      "\n");
  md += CompareCauses(prev, cur);
  md += "\nPer finding kind (invariant@scenario/contract), the detail:\n";
  absl::StrAppend(&md, "\n## New findings\n\n", added.empty() ? "None.\n" : added);
  absl::StrAppend(&md, "\n## Gone findings\n\n", gone.empty() ? "None.\n" : gone);
  absl::StrAppend(&md, "\n## Findings still present\n\n", kept.empty() ? "None.\n" : kept);
  absl::StrAppend(&md, "\n## Probes\n\n- started firing: ", started.empty() ? "none" : started,
                  "\n- stopped firing: ", stopped.empty() ? "none" : stopped, "\n");
  md += CompareTraceHashes(prev, cur);
  return md;
}

absl::StatusOr<std::string> CompareSummaryFiles(const std::string& previous_path,
                                                const std::string& current_path) {
  absl::StatusOr<CampaignSummary> prev = LoadSummaryJson(previous_path);
  if (!prev.ok()) return prev.status();
  absl::StatusOr<CampaignSummary> cur = LoadSummaryJson(current_path);
  if (!cur.ok()) return cur.status();
  return CompareSummaries(*prev, *cur);
}

}  // namespace snapsim
