// SPDX-License-Identifier: GPL-2.0-only
#include "reports/compare.h"

#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "reports/json_report.h"
#include "reports/markdown_report.h"

namespace snapsim {
namespace {

std::map<std::string, const FindingGroup*> ById(const CampaignSummary& s) {
  std::map<std::string, const FindingGroup*> out;
  for (const FindingGroup& g : s.findings) out[g.id] = &g;
  return out;
}

std::string RateChange(double before, double after) {
  if (before <= 0) return absl::StrFormat("%.2f -> %.2f", before, after);
  return absl::StrFormat("%.2f -> %.2f (%+.1f%%)", before, after,
                         (after - before) * 100.0 / before);
}

void FindingLine(std::string& md, const FindingGroup& g) {
  absl::StrAppend(&md, "- ", g.id, " (", FindingSeverityName(g.first.severity), ", ", g.seed_count,
                  " seeds, first seed ", g.first.seed, "): `", g.first.replay_command, "`\n");
}

}  // namespace

std::string CompareSummaries(const CampaignSummary& prev, const CampaignSummary& cur) {
  std::map<std::string, const FindingGroup*> before = ById(prev), after = ById(cur);
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
  absl::StrAppend(&md, "- previous: ", prev.config.git_commit, ", seeds ",
                  SeedRangeText(prev, true), ", ", prev.seeds_run, " runs, ", prev.findings.size(),
                  " findings\n");
  absl::StrAppend(&md, "- current: ", cur.config.git_commit, ", seeds ", SeedRangeText(cur, true),
                  ", ", cur.seeds_run, " runs, ", cur.findings.size(), " findings\n");
  absl::StrAppend(&md, "- seeds/s: ",
                  RateChange(prev.wall_clock.seeds_per_second, cur.wall_clock.seeds_per_second),
                  "\n");
  absl::StrAppend(
      &md, "- crash states/s: ",
      RateChange(prev.wall_clock.crash_states_per_second, cur.wall_clock.crash_states_per_second),
      "\n");
  absl::StrAppend(&md, "\n## New findings\n\n", added.empty() ? "None.\n" : added);
  absl::StrAppend(&md, "\n## Gone findings\n\n", gone.empty() ? "None.\n" : gone);
  absl::StrAppend(&md, "\n## Still present\n\n", kept.empty() ? "None.\n" : kept);
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
