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
#include "util/atomic_file.h"
#include "tests/support/fake_campaign.h"
#include "tests/support/test_paths.h"

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
    if (key == "probes" || key == "verdicts" || key == "per_scenario") continue;
    Keys(value, out);
  }
}

TEST(ReportTest, SummaryJsonValidatesAndEveryFieldIsDocumented) {
  CampaignSummary s = testing::FakeSummary();
  nlohmann::json j = nlohmann::json::parse(RenderJsonReport(s));
  EXPECT_TRUE(ValidateSummaryJson(j).ok()) << ValidateSummaryJson(j);
  EXPECT_EQ(j["schema_version"], 1);
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
  future["schema_version"] = 2;
  EXPECT_FALSE(ValidateSummaryJson(future).ok());
  EXPECT_FALSE(ParseSummaryJson("{not json").ok());
}

TEST(ReportTest, MarkdownHasTheFindingsReplayCommandsAndProbes) {
  CampaignSummary s = testing::FakeSummary();
  std::string md = RenderMarkdownReport(s);
  EXPECT_THAT(md, HasSubstr("## Findings (3)"));
  EXPECT_THAT(md, HasSubstr("| no_lost_committed_exception@a/within | "
                            "no_lost_committed_exception | critical | within | a | 4 | 5 | "
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
