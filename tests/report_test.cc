// SPDX-License-Identifier: GPL-2.0-only
#include <set>
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "reports/html_report.h"
#include "reports/json_report.h"
#include "reports/markdown_report.h"
#include "reports/report_files.h"
#include "reports/svg.h"
#include "reports/timeline.h"
#include "tests/support/fake_campaign.h"
#include "tests/support/test_paths.h"
#include "util/atomic_file.h"

namespace snapsim {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// Every object key in `j`, skipping the keys of maps named by data (probes, verdicts, ...).
void Keys(const nlohmann::json& j, std::set<std::string>& out) {
  if (j.is_array()) {
    for (const nlohmann::json& e : j) Keys(e, out);
    return;
  }
  if (!j.is_object()) return;
  for (const auto& [key, value] : j.items()) {
    out.insert(key);
    if (key == "probes" || key == "verdicts" || key == "per_scenario" || key == "trace_hashes" ||
        key == "scenario_digests") {
      continue;  // keyed by probe, invariant or scenario name
    }
    Keys(value, out);
  }
}

TEST(ReportTest, SummaryJsonValidatesAndEveryFieldIsDocumented) {
  CampaignSummary s = testing::FakeSummary();
  nlohmann::json j = nlohmann::json::parse(RenderJsonReport(s));
  EXPECT_TRUE(ValidateSummaryJson(j).ok()) << ValidateSummaryJson(j);
  EXPECT_EQ(j["schema_version"], 2);
  absl::StatusOr<std::string> doc =
      ReadWholeFile(absl::StrCat(testing::kSourceDir, "/docs/report-schema.md"));
  ASSERT_TRUE(doc.ok()) << doc.status();
  std::set<std::string> keys;
  Keys(j, keys);
  for (const std::string& key : keys) {
    EXPECT_NE(doc->find(absl::StrCat("`", key, "`")), std::string::npos)
        << key << " is not documented";
  }
}

TEST(ReportTest, SummaryJsonMissingOrMistypedFieldIsRejected) {
  nlohmann::json j = testing::FakeSummary();
  nlohmann::json missing = j;
  missing["totals"].erase("ios");
  EXPECT_EQ(ValidateSummaryJson(missing).message(), "totals.ios is missing");
  nlohmann::json mistyped = j;
  mistyped["findings"][0]["count"] = "three";
  EXPECT_EQ(ValidateSummaryJson(mistyped).message(), "findings[0].count has the wrong type");
  nlohmann::json future = j;
  future["schema_version"] = 3;
  EXPECT_FALSE(ValidateSummaryJson(future).ok());
  nlohmann::json no_causes = j;
  no_causes.erase("causes");
  EXPECT_EQ(ValidateSummaryJson(no_causes).message(), "summary.causes is missing");
  EXPECT_FALSE(ParseSummaryJson("{not json").ok());
}

// A summary.json of schema version 1 (before causes) still reads: report merge and compare of
// older directories.
TEST(ReportTest, SchemaVersionOneSummaryStillReads) {
  nlohmann::json j = testing::FakeSummary();
  j["schema_version"] = 1;
  j.erase("causes");
  j["wall_clock"].erase("attribution_ms");
  for (nlohmann::json& f : j["findings"]) f.erase("cause");
  absl::StatusOr<CampaignSummary> s = ParseSummaryJson(j.dump());
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_TRUE(s->causes.empty());
  EXPECT_EQ(s->findings.size(), 3u);
  EXPECT_EQ(s->findings[0].cause, "");
}

TEST(ReportTest, CausesRoundTripAndOpenTheMarkdownAndHtml) {
  CampaignSummary s = testing::FakeSummary();
  Cause known;
  known.id = "copy-error-hangs-bios";
  known.title = "A failed copy hangs every origin write behind later exceptions";
  known.known = true;
  known.catalogue_ids = {known.id};
  known.corrections = {"commit_failed_copies"};
  known.upstream = "fixed upstream";
  known.runs = 3;
  known.attributed_runs = 2;
  known.scenarios = {"a"};
  known.invariants = {"liveness"};
  known.contract = "within";
  known.catalogue_case = "scenarios/findings/copy-error-hangs-bios.case.json";
  known.replay_command = "snapsim run --scenario a --seed 4";
  known.correction_was_on = true;
  Cause unexplained;
  unexplained.id = "unexplained-00c0ffee";
  unexplained.title = "unexplained: data | no crash | io";
  unexplained.runs = 1;
  unexplained.contract = "within";
  unexplained.minimized_case = "cases/x.case.json";
  s.causes = {unexplained, known};
  s.findings[0].cause = known.id;
  absl::StatusOr<CampaignSummary> back = ParseSummaryJson(RenderJsonReport(s));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_TRUE(SameIgnoringWallClock(*back, s));
  const nlohmann::json j = nlohmann::json::parse(RenderJsonReport(s));
  EXPECT_TRUE(j["causes"][0]["catalogue_id"].is_null());
  EXPECT_EQ(j["causes"][1]["catalogue_id"], "copy-error-hangs-bios");
  EXPECT_TRUE(j["causes"][1]["minimized_case"].is_null());

  const std::string md = RenderMarkdownReport(s);
  EXPECT_EQ(md.find("**2 causes: 1 known, 1 unexplained**"), md.find("**"));
  EXPECT_LT(md.find("unexplained-00c0ffee"), md.find("- **copy-error-hangs-bios**"));
  EXPECT_LT(md.find("- **copy-error-hangs-bios**"), md.find("## Findings"));
  EXPECT_THAT(md, HasSubstr("**correction does not hold**"));
  EXPECT_THAT(md, HasSubstr("runs: 3 (attribution rests on 2 replayed)"));
  EXPECT_THAT(md,
              HasSubstr("case: scenarios/findings/copy-error-hangs-bios.case.json (catalogue)"));
  const std::string html = RenderHtmlReport(s, "/nonexistent");
  EXPECT_THAT(html, HasSubstr("<strong>2 causes: 1 known, 1 unexplained</strong>"));
  EXPECT_LT(html.find("id=\"causes-headline\""), html.find("<h2>Findings</h2>"));
  EXPECT_THAT(html, HasSubstr("correction does not hold"));
}

TEST(ReportTest, MarkdownHasTheFindingsReplayCommandsAndProbes) {
  CampaignSummary s = testing::FakeSummary();
  std::string md = RenderMarkdownReport(s);
  EXPECT_THAT(md, HasSubstr("## Findings (3)"));
  EXPECT_THAT(md, HasSubstr("| no_lost_committed_exception@a/within | "
                            "no_lost_committed_exception | critical | within | a | 4 | 5 | - | "
                            "`snapsim run --scenario a --seed 4` |"));
  EXPECT_THAT(md, HasSubstr("replay: `snapsim run --scenario b --seed 5`"));
  EXPECT_THAT(md, HasSubstr("Fired (2): crash.write_kept"));
  EXPECT_THAT(md, HasSubstr("Never fired ("));
  EXPECT_THAT(md, HasSubstr("io.read_eio"));
  EXPECT_THAT(md, HasSubstr("seeds: requested 1..20, completed 1..20"));
}

TEST(ReportTest, HtmlHasFindingRowsChartsAndCopyableReplay) {
  std::string html = RenderHtmlReport(testing::FakeSummary(), "/nonexistent");
  size_t rows = 0;
  for (size_t at = html.find("<tr class=\"finding\">"); at != std::string::npos;
       at = html.find("<tr class=\"finding\">", at + 1)) {
    ++rows;
  }
  EXPECT_EQ(rows, 3u);
  EXPECT_THAT(html, HasSubstr("<code class=\"replay\">snapsim run --scenario a --seed 4</code>"));
  EXPECT_THAT(html, HasSubstr("<svg class=\"chart bar-chart\""));
  EXPECT_THAT(html, HasSubstr("<svg class=\"chart line-chart\""));
  EXPECT_THAT(html, HasSubstr("Seeds hitting a finding, by invariant"));
  EXPECT_THAT(html, HasSubstr("Fault probes fired"));
  EXPECT_THAT(html, HasSubstr("<polyline"));
}

TEST(ReportTest, HtmlEscapesEveryTextFromFindings) {
  CampaignSummary s = testing::FakeSummary();
  s.findings.front().first.scenario = "a<b>";
  std::string html = RenderHtmlReport(s, "/nonexistent");
  EXPECT_THAT(html, Not(HasSubstr("<script")));
  EXPECT_THAT(html, HasSubstr("lost &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; more"));
  EXPECT_THAT(html, HasSubstr("a&lt;b&gt;"));
  EXPECT_THAT(html, Not(HasSubstr("a<b>")));
}

TEST(ReportTest, HtmlIsSelfContained) {
  std::string html = RenderHtmlReport(testing::FakeSummary(), "/nonexistent");
  std::string without_ns = html;
  for (size_t at; (at = without_ns.find("http://www.w3.org/2000/svg")) != std::string::npos;) {
    without_ns.erase(at, 26);
  }
  EXPECT_THAT(without_ns, Not(HasSubstr("http:")));
  EXPECT_THAT(without_ns, Not(HasSubstr("https:")));
  EXPECT_THAT(html, Not(HasSubstr("<link")));
  EXPECT_THAT(html, Not(HasSubstr(" src=")));
  EXPECT_THAT(html, Not(HasSubstr("<script")));
}

TEST(ReportTest, TimelineHasLanesEpochsCrashAndFates) {
  Timeline tl = ParseTrace(testing::kSampleTrace);
  EXPECT_EQ(tl.devices, (std::vector<std::string>{"cow", "origin"}));
  ASSERT_EQ(tl.ios.size(), 5u);
  EXPECT_EQ(tl.skipped_lines, 2u);  // the unknown kind and the garbage line
  EXPECT_EQ(tl.crash_ns, (std::vector<uint64_t>{3100}));
  EXPECT_TRUE(tl.ios[2].fua);
  EXPECT_EQ(tl.ios[2].fate, WriteFateKind::kSurvived);
  EXPECT_EQ(tl.ios[3].fate, WriteFateKind::kTorn);
  EXPECT_EQ(tl.ios[4].fate, WriteFateKind::kVanished);
  EXPECT_FALSE(tl.ios[4].completed);
  std::string svg = RenderTimelineSvg(tl);
  EXPECT_THAT(svg, HasSubstr(">cow</text>"));
  EXPECT_THAT(svg, HasSubstr(">origin</text>"));
  EXPECT_THAT(svg, HasSubstr("class=\"crash\""));
  EXPECT_THAT(svg, HasSubstr("class=\"epoch\""));
  EXPECT_THAT(svg, HasSubstr("class=\"flush-mark\""));
  EXPECT_THAT(svg, HasSubstr("class=\"fua-mark\""));
  EXPECT_THAT(svg, HasSubstr("#ef6c00"));  // torn
  EXPECT_THAT(svg, HasSubstr("#c62828"));  // vanished
  EXPECT_THAT(svg, HasSubstr("#2e7d32"));  // survived
}

TEST(ReportTest, EmptyOrForeignTraceStillRenders) {
  EXPECT_THAT(RenderTimelineSvg(ParseTrace("")), HasSubstr("</svg>"));
  Timeline odd = ParseTrace("{\"kind\":\"submit\",\"device\":\"<x>\"}\n[1,2]\n");
  EXPECT_EQ(odd.skipped_lines, 1u);
  EXPECT_THAT(RenderTimelineSvg(odd), HasSubstr("&lt;x&gt;"));
}

TEST(ReportTest, HtmlDrawsTheTimelineOfAFindingWithATrace) {
  std::string dir = testing::MakeTempDir("timeline");
  ASSERT_TRUE(WriteFileAtomically(dir + "/case.trace.jsonl", testing::kSampleTrace).ok());
  CampaignSummary s = testing::FakeSummary();
  s.findings.front().trace = "case.trace.jsonl";
  s.findings.back().trace = "missing.jsonl";
  std::string html = RenderHtmlReport(s, dir);
  EXPECT_THAT(html, HasSubstr("<svg class=\"timeline\""));
  EXPECT_THAT(html, HasSubstr("trace missing.jsonl unavailable"));
}

TEST(ReportTest, BarChartsScaleAndEscapeLabels) {
  std::string linear = SvgBarChart("t", {{"big", 100, ""}, {"<small>", 1, ""}}, BarScale::kLinear);
  EXPECT_THAT(linear, HasSubstr("&lt;small&gt;"));
  EXPECT_THAT(linear, HasSubstr("width=\"310\""));  // the largest bar spans the plot
  std::string log = SvgBarChart("t", {{"big", 1024, ""}, {"one", 1, ""}}, BarScale::kLog2);
  EXPECT_THAT(log, HasSubstr("width=\"28\""));  // bit width 1 of 11
  EXPECT_THAT(SvgBarChart("t", {}, BarScale::kLinear), HasSubstr("no data"));
  EXPECT_THAT(SvgLineChart("t", {}, "s", "seeds/s"), HasSubstr("no data"));
}

TEST(ReportTest, WriteReportsWritesTheThreeFiles) {
  std::string dir = testing::MakeTempDir("write");
  ASSERT_TRUE(WriteReports(testing::FakeSummary(), dir).ok());
  absl::StatusOr<CampaignSummary> back = LoadSummaryJson(dir + "/summary.json");
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_TRUE(SameIgnoringWallClock(*back, testing::FakeSummary()));
  EXPECT_THAT(*ReadWholeFile(dir + "/summary.md"), HasSubstr("# snapsim campaign"));
  EXPECT_THAT(*ReadWholeFile(dir + "/index.html"), HasSubstr("<!DOCTYPE html>"));
}

}  // namespace
}  // namespace snapsim
