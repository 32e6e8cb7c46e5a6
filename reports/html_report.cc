// SPDX-License-Identifier: GPL-2.0-only
#include "reports/html_report.h"

#include <algorithm>
#include <map>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "reports/markdown_report.h"
#include "reports/svg.h"
#include "reports/timeline.h"

namespace snapsim {
namespace {

constexpr const char* kStyle = R"css(
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0;
  color: #1d2733; background: #f6f8fa; }
header { background: #1f3a5a; color: #fff; padding: 16px 24px; }
header h1 { margin: 0 0 8px 0; font-size: 22px; }
.facts { display: grid; grid-template-columns: repeat(auto-fill, minmax(230px, 1fr)); gap: 4px 20px; }
.facts div span { color: #b8c7d9; margin-right: 6px; }
main { padding: 8px 24px 32px 24px; }
section { background: #fff; border: 1px solid #dde3ea; border-radius: 6px; padding: 12px 16px;
  margin: 16px 0; }
h2 { font-size: 17px; margin: 0 0 10px 0; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 5px 8px; border-bottom: 1px solid #e6eaef; vertical-align: top; }
th { background: #eef2f6; font-weight: 600; }
td.num, th.num { text-align: right; }
code.replay { display: inline-block; background: #f0f3f6; border: 1px solid #d5dce4;
  border-radius: 4px; padding: 1px 6px; user-select: all; white-space: nowrap; }
.scroll { overflow-x: auto; }
#findings td:first-child { overflow-wrap: anywhere; min-width: 12em; }
.sev-critical { color: #b71c1c; font-weight: 600; }
.sev-error { color: #d84315; font-weight: 600; }
.sev-warning { color: #8d6e00; }
.charts { display: flex; flex-wrap: wrap; gap: 16px; }
.chart-title { font-weight: 600; font-size: 13px; fill: #1d2733; }
.bar-label, .bar-value, .tick, .unit, .lane-label, .legend, .note, .empty, .crash-label
  { font-size: 11px; fill: #36434f; }
.axis { stroke: #8895a3; }
.timeline-box { overflow-x: auto; margin: 10px 0 18px 0; }
.muted { color: #66727f; }
.probes-never { columns: 3 220px; }
)css";

std::string SeverityClass(FindingSeverity s) {
  return absl::StrCat("sev-", FindingSeverityName(s));
}

std::string Fact(const std::string& name, const std::string& value) {
  return absl::StrCat("<div><span>", HtmlEscape(name), "</span>", HtmlEscape(value), "</div>");
}

std::string FindingsTable(const CampaignSummary& s) {
  if (s.findings.empty()) return "<p class=\"muted\">No findings.</p>";
  std::string html =
      "<div class=\"scroll\"><table "
      "id=\"findings\"><thead><tr><th>id</th><th>invariant</th><th>severity</th>"
      "<th>contract</th><th>scenario</th><th class=\"num\">seed</th>"
      "<th class=\"num\">count</th><th>cause</th><th>replay command</th></tr></thead><tbody>";
  for (const FindingGroup& g : s.findings) {
    const Finding& f = g.first;
    absl::StrAppend(
        &html, "<tr class=\"finding\"><td><a href=\"#f-", HtmlEscape(g.id), "\">", HtmlEscape(g.id),
        "</a></td><td>", HtmlEscape(f.invariant), "</td><td class=\"", SeverityClass(f.severity),
        "\">", FindingSeverityName(f.severity), "</td><td>", ContractName(f.contract), "</td><td>",
        HtmlEscape(f.scenario), "</td><td class=\"num\">", f.seed, "</td><td class=\"num\">",
        g.seed_count, "</td><td>", HtmlEscape(g.cause.empty() ? "-" : g.cause),
        "</td><td><code class=\"replay\">", HtmlEscape(f.replay_command), "</code></td></tr>");
  }
  html += "</tbody></table></div>";
  return html;
}

// The timeline of a trace file (relative to the report directory, or absolute), or a note why
// there is none.
std::string TraceTimeline(const std::string& trace, const std::string& report_dir) {
  std::string path = trace[0] == '/' ? trace : absl::StrCat(report_dir, "/", trace);
  absl::StatusOr<Timeline> tl = LoadTrace(path);
  if (!tl.ok()) {
    return absl::StrCat("<p class=\"muted\">trace ", HtmlEscape(trace),
                        " unavailable: ", HtmlEscape(std::string(tl.status().message())), "</p>");
  }
  return absl::StrCat("<div class=\"timeline-box\">", RenderTimelineSvg(*tl), "</div>");
}

std::string CausesSection(const CampaignSummary& s, const std::string& report_dir) {
  std::string html = absl::StrCat("<p id=\"causes-headline\"><strong>",
                                  HtmlEscape(CausesHeadline(s)), "</strong></p>");
  for (const Cause& c : s.causes) {
    absl::StrAppend(
        &html, "<div class=\"cause\" id=\"c-", HtmlEscape(c.id), "\"><h3>", HtmlEscape(c.id),
        c.known ? "" : " <span class=\"sev-error\">unexplained</span>",
        c.correction_was_on ? " <span class=\"sev-critical\">correction does not hold</span>" : "",
        "</h3><table class=\"detail\"><tbody>");
    auto row = [&](const char* name, const std::string& value) {
      if (value.empty()) return;
      absl::StrAppend(&html, "<tr><th>", name, "</th><td>", HtmlEscape(value), "</td></tr>");
    };
    row("title", c.title);
    row("upstream", c.upstream);
    row("runs", absl::StrCat(c.runs, " (attribution rests on ", c.attributed_runs, " replayed, ",
                             c.replays, " replays)"));
    row("scenarios", absl::StrJoin(c.scenarios, ", "));
    row("invariants", absl::StrJoin(c.invariants, ", "));
    row("contract", c.contract);
    absl::StrAppend(&html, "<tr><th>replay</th><td><code class=\"replay\">",
                    HtmlEscape(c.replay_command), "</code></td></tr>");
    row("minimal case", CauseCaseText(c));
    if (!CauseCaseReplay(c).empty()) {
      absl::StrAppend(&html, "<tr><th>replay case</th><td><code class=\"replay\">",
                      HtmlEscape(CauseCaseReplay(c)), "</code></td></tr>");
    }
    html += "</tbody></table>";
    if (!c.minimized_trace.empty()) html += TraceTimeline(c.minimized_trace, report_dir);
    html += "</div>";
  }
  html +=
      "<p class=\"muted\">Minimized cases are relative to this report's directory, catalogue "
      "cases to the source tree.</p>";
  return html;
}

std::string Charts(const CampaignSummary& s) {
  std::map<std::string, uint64_t> by_invariant, by_scenario;
  for (const FindingGroup& g : s.findings) {
    by_invariant[g.first.invariant] += g.seed_count;
    by_scenario[g.first.scenario] += g.seed_count;
  }
  auto bars = [](const std::map<std::string, uint64_t>& m, const char* color) {
    std::vector<BarDatum> out;
    for (const auto& [name, v] : m) out.push_back(BarDatum{name, v, color});
    return out;
  };
  std::vector<BarDatum> probes;
  for (const auto& [name, count] : s.probes) {
    if (count > 0) probes.push_back(BarDatum{name, count, "#00796b"});
  }
  // Seeds per second between consecutive rate samples, over wall seconds.
  std::vector<LinePoint> rate;
  const std::vector<RateSample>& r = s.wall_clock.rate;
  for (size_t i = 1; i < r.size(); ++i) {
    uint64_t dt = r[i].wall_ms - r[i - 1].wall_ms;
    if (dt == 0) continue;
    uint64_t dn = r[i].seeds_done - r[i - 1].seeds_done;
    rate.push_back(LinePoint{r[i].wall_ms / 1000, dn * 1000 / dt});
  }
  std::string html = "<div class=\"charts\">";
  absl::StrAppend(&html, SvgBarChart("Seeds hitting a finding, by invariant",
                                     bars(by_invariant, "#c62828"), BarScale::kLinear));
  absl::StrAppend(&html, SvgBarChart("Seeds hitting a finding, by scenario",
                                     bars(by_scenario, "#ef6c00"), BarScale::kLinear));
  absl::StrAppend(&html, SvgBarChart("Fault probes fired", probes, BarScale::kLog2));
  absl::StrAppend(&html, SvgLineChart("Seeds per second over the run", rate, "s", "seeds/s"));
  html += "</div>";
  return html;
}

std::string FindingDetails(const CampaignSummary& s, const std::string& report_dir) {
  std::string html;
  for (const FindingGroup& g : s.findings) {
    const Finding& f = g.first;
    absl::StrAppend(&html, "<h3 id=\"f-", HtmlEscape(g.id), "\">", HtmlEscape(g.id), "</h3>");
    absl::StrAppend(&html, "<table class=\"detail\"><tbody>");
    auto row = [&](const char* name, const std::string& value) {
      if (value.empty()) return;
      absl::StrAppend(&html, "<tr><th>", name, "</th><td>", HtmlEscape(value), "</td></tr>");
    };
    row("detail", f.detail);
    row("expected", f.expected);
    row("actual", f.actual);
    row("crash point", f.crash_point);
    row("crash", absl::StrCat("index ", f.crash_index, ", event ", f.crash_event));
    row("first seed", absl::StrCat(f.seed, " (", g.seed_count, " seeds hit it)"));
    // A cause's case is drawn once, with the cause.
    const bool cause_has_it = std::any_of(s.causes.begin(), s.causes.end(), [&](const Cause& c) {
      return c.id == g.cause && !g.trace.empty() && c.minimized_trace == g.trace;
    });
    row("minimized", cause_has_it ? absl::StrCat(g.minimized, " (the case of cause ", g.cause, ")")
                                  : g.minimized);
    absl::StrAppend(&html, "<tr><th>replay</th><td><code class=\"replay\">",
                    HtmlEscape(f.replay_command), "</code></td></tr></tbody></table>");
    if (!g.trace.empty() && !cause_has_it) html += TraceTimeline(g.trace, report_dir);
  }
  return html;
}

std::string Probes(const CampaignSummary& s) {
  std::string fired, never;
  for (const auto& [name, count] : s.probes) {
    if (count > 0) {
      absl::StrAppend(&fired, "<tr><td>", HtmlEscape(name), "</td><td class=\"num\">", count,
                      "</td></tr>");
    } else {
      absl::StrAppend(&never, "<li>", HtmlEscape(name), "</li>");
    }
  }
  std::string html =
      "<table id=\"probes\"><thead><tr><th>probe fired</th>"
      "<th class=\"num\">count</th></tr></thead><tbody>";
  absl::StrAppend(&html, fired.empty() ? "<tr><td colspan=\"2\">none</td></tr>" : fired,
                  "</tbody></table><h3>Never fired</h3>",
                  never.empty() ? "<p class=\"muted\">none</p>"
                                : absl::StrCat("<ul class=\"probes-never\">", never, "</ul>"));
  return html;
}

std::string Verdicts(const CampaignSummary& s) {
  std::string html =
      "<table id=\"verdicts\"><thead><tr><th>invariant</th>"
      "<th class=\"num\">checked</th><th class=\"num\">failed</th></tr></thead>"
      "<tbody>";
  for (const auto& [name, v] : s.verdicts) {
    absl::StrAppend(&html, "<tr><td>", HtmlEscape(name), "</td><td class=\"num\">", v.checked,
                    "</td><td class=\"num", v.failed ? " sev-critical" : "", "\">", v.failed,
                    "</td></tr>");
  }
  html += "</tbody></table>";
  return html;
}

}  // namespace

std::string RenderHtmlReport(const CampaignSummary& s, const std::string& report_dir) {
  const CampaignConfig& c = s.config;
  std::string html = absl::StrCat(
      "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
      "<title>snapsim campaign: ",
      HtmlEscape(absl::StrJoin(c.scenarios, ", ")), "</title><style>", kStyle,
      "</style></head><body>\n<header><h1>snapsim campaign</h1><div class=\"facts\">");
  absl::StrAppend(
      &html, Fact("tool", absl::StrCat(c.tool_version, " (", c.git_commit, ")")),
      Fact("scenarios", absl::StrJoin(c.scenarios, ", ")),
      Fact("seeds requested", SeedRangeText(s, false)),
      Fact("seeds completed", SeedRangeText(s, true)),
      Fact("shard", absl::StrCat(c.shard_index, "/", c.shard_count)),
      Fact("runs", absl::StrCat(s.seeds_run, " (", s.runs_with_findings, " with findings)")),
      Fact("findings", absl::StrCat(s.findings.size())),
      Fact("crash states checked", absl::StrCat(s.crash_states_checked)),
      Fact("determinism", RechecksHeadline(s)));
  absl::StrAppend(
      &html, Fact("events / I/Os", absl::StrCat(s.events, " / ", s.ios)),
      Fact("wall time", absl::StrFormat("%.1f s on %d workers", s.wall_clock.wall_ms / 1000.0,
                                        s.wall_clock.jobs)),
      Fact("rate",
           absl::StrFormat("%.2f seeds/s, %.2f crash states/s", s.wall_clock.seeds_per_second,
                           s.wall_clock.crash_states_per_second)),
      Fact("attribution / minimization",
           absl::StrFormat("%.1f s / %.1f s", s.wall_clock.attribution_ms / 1000.0,
                           s.wall_clock.minimize_ms / 1000.0)));
  html += "</div></header>\n<main>\n";
  if (!s.rechecks.mismatched.empty()) {
    html += "<section id=\"nondeterminism\"><h2>Nondeterminism</h2><ul>";
    for (const std::string& line : MismatchLines(s)) {
      absl::StrAppend(&html, "<li class=\"sev-error\">", HtmlEscape(line), "</li>");
    }
    html += "</ul></section>\n";
  }
  if (!s.findings.empty() || !s.causes.empty()) {
    absl::StrAppend(&html, "<section><h2>Causes</h2>", CausesSection(s, report_dir),
                    "</section>\n");
  }
  absl::StrAppend(&html, "<section><h2>Findings</h2>", FindingsTable(s), "</section>\n");
  absl::StrAppend(&html, "<section><h2>Charts</h2>", Charts(s), "</section>\n");
  if (!s.findings.empty()) {
    absl::StrAppend(&html, "<section><h2>Finding details</h2>", FindingDetails(s, report_dir),
                    "</section>\n");
  }
  absl::StrAppend(&html, "<section><h2>Probes</h2>", Probes(s), "</section>\n");
  absl::StrAppend(&html, "<section><h2>Invariants</h2>", Verdicts(s), "</section>\n");
  html += "</main></body></html>\n";
  return html;
}

}  // namespace snapsim
