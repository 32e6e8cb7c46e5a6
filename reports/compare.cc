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
