// SPDX-License-Identifier: GPL-2.0-only
#include "reports/markdown_report.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "sim/world/trace.h"

namespace snapsim {
namespace {

std::string Cell(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '|') {
      out += "\\|";
    } else if (c == '\n' || c == '\r') {
      out += ' ';
    } else {
      out += c;
    }
  }
  return out;
}

// Text on one line of a list item (no table: a '|' stays as it is).
std::string OneLine(const std::string& text) {
  std::string out = text;
  for (char& c : out) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  return out;
}

}  // namespace

std::string CausesHeadline(const CampaignSummary& s) {
  size_t known = 0;
  for (const Cause& c : s.causes) known += c.known ? 1 : 0;
  return absl::StrCat(s.causes.size(), " causes: ", known, " known, ", s.causes.size() - known,
                      " unexplained");
}

std::string RechecksHeadline(const CampaignSummary& s) {
  const RecheckStats& r = s.rechecks;
  return absl::StrCat(
      r.runs, " runs re-checked, ", r.mismatches, r.mismatches == 1 ? " mismatch" : " mismatches",
      r.inconclusive == 0 ? "" : absl::StrCat(", ", r.inconclusive, " inconclusive"));
}

std::vector<std::string> MismatchLines(const CampaignSummary& s) {
  std::vector<std::string> lines;
  for (const Recheck& r : s.rechecks.mismatched) {
    lines.push_back(absl::StrCat(
        r.scenario, " seed ", r.seed, ": trace hash ", FormatTraceHash(r.trace_hash), " then ",
        FormatTraceHash(r.recheck_trace_hash), "; differs in ", absl::StrJoin(r.differences, ", "),
        r.first_difference.empty() ? "" : absl::StrCat("; ", r.first_difference),
        r.traces.empty() ? "" : absl::StrCat("; traces: ", absl::StrJoin(r.traces, ", "))));
  }
  return lines;
}

std::string CauseCaseText(const Cause& c) {
  if (!c.minimized_case.empty()) {
    return absl::StrCat(c.minimized_case, ", minimized to ", c.minimized_steps, " steps");
  }
  if (!c.catalogue_case.empty()) return absl::StrCat(c.catalogue_case, " (catalogue)");
  return "";
}

std::string CauseCaseReplay(const Cause& c) {
  const std::string& path = c.minimized_case.empty() ? c.catalogue_case : c.minimized_case;
  return path.empty() ? "" : absl::StrCat("snapsim run --replay-case ", path);
}

std::string SeedRangeText(const CampaignSummary& s, bool completed) {
  const CampaignConfig& c = s.config;
  if (completed) {
    if (s.seeds_completed == 0) return "none";
    return absl::StrCat(c.seed_first, "..", c.seed_first + s.seeds_completed - 1);
  }
  return c.seed_last ? absl::StrCat(c.seed_first, "..", *c.seed_last)
                     : absl::StrCat(c.seed_first, "..(time budget)");
}

std::string RenderMarkdownReport(const CampaignSummary& s) {
  const CampaignConfig& c = s.config;
  std::string md = "# snapsim campaign\n\n";
  if (!s.findings.empty() || !s.causes.empty()) {
    absl::StrAppend(&md, "**", CausesHeadline(s), "**\n\n");
    for (const Cause& cause : s.causes) {
      absl::StrAppend(&md, "- **", OneLine(cause.id), "**", cause.known ? "" : " (unexplained)",
                      cause.correction_was_on ? " **correction does not hold**" : "", ": ",
                      OneLine(cause.title), "\n");
      if (!cause.upstream.empty())
        absl::StrAppend(&md, "  upstream: ", OneLine(cause.upstream), "\n");
      absl::StrAppend(&md, "  runs: ", cause.runs, " (attribution rests on ", cause.attributed_runs,
                      " replayed); scenarios: ", absl::StrJoin(cause.scenarios, ", "),
                      "; invariants: ", absl::StrJoin(cause.invariants, ", "),
                      "; contract: ", cause.contract, "\n");
      absl::StrAppend(&md, "  replay: `", cause.replay_command, "`\n");
      const std::string case_text = CauseCaseText(cause);
      if (!case_text.empty()) {
        absl::StrAppend(&md, "  minimal case: ", OneLine(case_text), "; replay: `",
                        OneLine(CauseCaseReplay(cause)), "`\n");
      }
    }
    md +=
        "\nMinimized cases are relative to this report's directory, catalogue cases to the "
        "source tree.\n\n";
  }
  absl::StrAppend(&md, "- tool: ", c.tool_version, " (", c.git_commit, ")\n");
  absl::StrAppend(&md, "- scenarios: ", absl::StrJoin(c.scenarios, ", "), "\n");
  absl::StrAppend(&md, "- seeds: requested ", SeedRangeText(s, false), ", completed ",
                  SeedRangeText(s, true), "; shard ", c.shard_index, "/", c.shard_count, "\n");
  absl::StrAppend(&md, "- runs: ", s.seeds_run, " (", s.runs_clean, " clean, ",
                  s.runs_with_findings, " with findings)\n");
  absl::StrAppend(&md, "- crash states checked: ", s.crash_states_checked, "; events: ", s.events,
                  "; I/Os: ", s.ios, "\n");
  absl::StrAppend(&md, "- determinism: ", RechecksHeadline(s), "\n");
  for (const std::string& line : MismatchLines(s)) {
    absl::StrAppend(&md, "  - nondeterminism: ", OneLine(line), "\n");
  }
  if (!s.environment_failures.empty()) {
    absl::StrAppend(&md, "- environment failures: ", s.environment_failures.size(),
                    " jobs whose worker the machine took, not counted as runs\n");
  }
  for (const EnvironmentFailure& e : s.environment_failures) {
    absl::StrAppend(&md, "  - ", OneLine(e.Line()), "\n");
  }
  absl::StrAppend(&md, absl::StrFormat("- wall time: %.1f s, %.2f seeds/s, %.2f crash states/s, "
                                       "%d worker processes\n",
                                       s.wall_clock.wall_ms / 1000.0, s.wall_clock.seeds_per_second,
                                       s.wall_clock.crash_states_per_second, s.wall_clock.jobs));
  if (s.wall_clock.attribution_ms > 0 || s.wall_clock.minimize_ms > 0) {
    absl::StrAppend(&md, absl::StrFormat("- attribution: %.1f s; minimization: %.1f s\n",
                                         s.wall_clock.attribution_ms / 1000.0,
                                         s.wall_clock.minimize_ms / 1000.0));
  }

  absl::StrAppend(&md, "\n## Findings (", s.findings.size(), ")\n\n");
  if (s.findings.empty()) {
    md += "None.\n";
  } else {
    md +=
        "| id | invariant | severity | contract | scenario | first seed | seeds | cause | replay "
        "|\n";
    md += "|---|---|---|---|---|---|---|---|---|\n";
    for (const FindingGroup& g : s.findings) {
      const Finding& f = g.first;
      absl::StrAppend(&md, "| ", Cell(g.id), " | ", Cell(f.invariant), " | ",
                      FindingSeverityName(f.severity), " | ", ContractName(f.contract), " | ",
                      Cell(f.scenario), " | ", f.seed, " | ", g.seed_count, " | ",
                      Cell(g.cause.empty() ? "-" : g.cause), " | `", Cell(f.replay_command),
                      "` |\n");
    }
    md += "\nDetails:\n\n";
    for (const FindingGroup& g : s.findings) {
      absl::StrAppend(&md, "- **", Cell(g.id), "** (seed ", g.first.seed,
                      "): ", Cell(g.first.detail), "\n");
      absl::StrAppend(&md, "  replay: `", g.first.replay_command, "`\n");
      if (!g.minimized.empty()) {
        absl::StrAppend(&md, "  minimized: ", g.minimized,
                        g.cause.empty() ? "" : absl::StrCat(" (the case of cause ", g.cause, ")"),
                        "\n");
      }
    }
  }

  std::vector<std::string> fired, never;
  for (const auto& [name, count] : s.probes) {
    if (count > 0) {
      fired.push_back(absl::StrCat(name, " ", count));
    } else {
      never.push_back(name);
    }
  }
  absl::StrAppend(&md, "\n## Probes\n\nFired (", fired.size(),
                  "): ", fired.empty() ? "none" : absl::StrJoin(fired, ", "), "\n\nNever fired (",
                  never.size(), "): ", never.empty() ? "none" : absl::StrJoin(never, ", "), "\n");

  md += "\n## Invariants\n\n| invariant | checked | failed |\n|---|---|---|\n";
  for (const auto& [name, v] : s.verdicts) {
    absl::StrAppend(&md, "| ", Cell(name), " | ", v.checked, " | ", v.failed, " |\n");
  }
  return md;
}

}  // namespace snapsim
