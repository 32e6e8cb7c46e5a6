// SPDX-License-Identifier: GPL-2.0-only
//
// Runs the built `snapsim report`: compare names new and gone findings; merge refuses what is
// not a set of shard directories; usage errors are one line with exit 2.
#include <filesystem>
#include <fstream>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "reports/json_report.h"
#include "reports/report_files.h"
#include "sim/campaign/campaign_summary.h"
#include "tests/support/cli_runner.h"
#include "tests/support/fake_campaign.h"

namespace snapsim {
namespace {

namespace fs = std::filesystem;
using testing::CliResult;
using testing::IsOneLine;
using testing::MakeTempDir;
using testing::RunSnapsim;

// The text between `heading` and the next "## " heading.
std::string Section(const std::string& md, const std::string& heading) {
  const size_t at = md.find(heading);
  if (at == std::string::npos) return "";
  const size_t end = md.find("\n## ", at + heading.size());
  return md.substr(at, end == std::string::npos ? std::string::npos : end - at);
}

TEST(CliReportTest, CompareNamesNewAndGoneFindings) {
  CampaignSummary previous = testing::FakeSummary();
  ASSERT_GE(previous.findings.size(), 2u);
  CampaignSummary current = previous;
  const std::string gone_id = previous.findings.front().id;
  current.findings.erase(current.findings.begin());
  FindingGroup added = current.findings.front();
  added.id = "brand_new_invariant@a/within";
  added.first.invariant = "brand_new_invariant";
  current.findings.push_back(added);
  const std::string prev_dir = MakeTempDir("cli_report_prev");
  const std::string cur_dir = MakeTempDir("cli_report_cur");
  ASSERT_TRUE(WriteReports(previous, prev_dir).ok());
  ASSERT_TRUE(WriteReports(current, cur_dir).ok());

  CliResult r = RunSnapsim(
      absl::StrCat("report compare '", prev_dir, "/summary.json' '", cur_dir, "/summary.json'"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(absl::StrContains(Section(r.out, "## New findings"), added.id)) << r.out;
  EXPECT_TRUE(absl::StrContains(Section(r.out, "## Gone findings"), gone_id)) << r.out;
  EXPECT_FALSE(absl::StrContains(Section(r.out, "## New findings"), gone_id)) << r.out;

  // A campaign directory stands for its summary.json.
  CliResult by_dir = RunSnapsim(absl::StrCat("report compare '", prev_dir, "' '", cur_dir, "'"));
  EXPECT_EQ(by_dir.exit_code, 0);
  EXPECT_EQ(by_dir.out, r.out);
}

TEST(CliReportTest, CompareOfTheSameSummaryHasNothingNewOrGone) {
  const std::string dir = MakeTempDir("cli_report_same");
  ASSERT_TRUE(WriteReports(testing::FakeSummary(), dir).ok());
  CliResult r = RunSnapsim(absl::StrCat("report compare '", dir, "' '", dir, "'"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(absl::StrContains(Section(r.out, "## New findings"), "None.")) << r.out;
  EXPECT_TRUE(absl::StrContains(Section(r.out, "## Gone findings"), "None.")) << r.out;
}

TEST(CliReportTest, BadUsageExitsTwoWithOneLine) {
  const std::string dir = MakeTempDir("cli_report_bad");
  const std::string not_json = dir + "/not.json";
  { std::ofstream(not_json) << "this is not json\n"; }
  for (const std::string& args : {
           std::string("report"),
           std::string("report frobnicate"),
           std::string("report compare only-one"),
           absl::StrCat("report compare '", dir, "/missing.json' '", dir, "/missing.json'"),
           absl::StrCat("report compare '", not_json, "' '", not_json, "'"),
           absl::StrCat("report merge '", dir, "/out'"),
           absl::StrCat("report merge '", dir, "/out' '", dir, "/no-such-shard'"),
           absl::StrCat("report merge '", not_json, "' '", dir, "'"),
       }) {
    CliResult r = RunSnapsim(args);
    EXPECT_EQ(r.exit_code, 2) << args;
    EXPECT_TRUE(IsOneLine(r.err)) << args << ": " << r.err;
    EXPECT_TRUE(absl::StartsWith(r.err, "snapsim report: ")) << r.err;
  }
  EXPECT_FALSE(fs::exists(dir + "/out"));
}

TEST(CliReportTest, MergedReportLinksTheShardsMinimizedCases) {
  const std::string shard0 = MakeTempDir("cli_report_min0");
  const std::string shard1 = MakeTempDir("cli_report_min1");
  const std::string merged = MakeTempDir("cli_report_min_merged");
  for (const std::string& shard : {shard0, shard1}) {
    CliResult run = RunSnapsim(
        absl::StrCat("campaign --scenario area-boundary-reload --seeds 1..4 --jobs 2 --shard ",
                     shard == shard0 ? "0/2" : "1/2", " --out '", shard, "'"));
    ASSERT_NE(run.exit_code, 2) << run.err;
    EXPECT_TRUE(absl::StrContains(run.out, "1 causes: 1 known, 0 unexplained (attribution: "))
        << run.out;
    EXPECT_TRUE(fs::exists(shard + "/junit.xml"));
  }
  CliResult r =
      RunSnapsim(absl::StrCat("report merge '", merged, "' '", shard0, "' '", shard1, "'"));
  ASSERT_EQ(r.exit_code, 1) << r.err;  // area-boundary-reload has a known finding in 1..4
  absl::StatusOr<CampaignSummary> summary = LoadSummaryJson(merged + "/summary.json");
  ASSERT_TRUE(summary.ok()) << summary.status();
  bool linked = false;
  for (const FindingGroup& g : summary->findings) {
    if (g.minimized.empty()) continue;
    linked = true;
    EXPECT_TRUE(fs::exists(g.minimized)) << g.minimized;
    EXPECT_TRUE(fs::exists(g.trace)) << g.trace;
  }
  EXPECT_TRUE(linked);
  EXPECT_TRUE(absl::StrContains(testing::ReadFileOrEmpty(merged + "/index.html"), "timeline-box"));
  // The shards' causes are joined: one known cause over every failing run of both shards.
  EXPECT_TRUE(absl::StrContains(r.out, "1 causes: 1 known, 0 unexplained")) << r.out;
  ASSERT_EQ(summary->causes.size(), 1u);
  EXPECT_EQ(summary->causes[0].id, "next-free-lands-on-metadata-area");
  EXPECT_EQ(summary->causes[0].runs, summary->runs_with_findings);
  for (const FindingGroup& g : summary->findings) EXPECT_EQ(g.cause, summary->causes[0].id);
  EXPECT_TRUE(absl::StrContains(testing::ReadFileOrEmpty(merged + "/junit.xml"),
                                "next-free-lands-on-metadata-area"));
}

TEST(CliReportTest, MergeRefusesToWriteIntoACampaignDirectory) {
  const std::string shard = MakeTempDir("cli_report_shard");
  CliResult run = RunSnapsim(absl::StrCat(
      "campaign --scenario steady-origin-writes --seeds 1..2 --no-minimize --out '", shard, "'"));
  ASSERT_NE(run.exit_code, 2) << run.err;
  const std::string before = testing::ReadFileOrEmpty(shard + "/summary.json");
  CliResult r = RunSnapsim(absl::StrCat("report merge '", shard, "' '", shard, "'"));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(IsOneLine(r.err)) << r.err;
  EXPECT_EQ(testing::ReadFileOrEmpty(shard + "/summary.json"), before);
}

// OUT is new, empty, or an earlier merge's output; an unrelated directory that happens to hold a
// summary.json is refused and left as it was.
TEST(CliReportTest, MergeWritesOnlyIntoANewEmptyOrEarlierMergeDirectory) {
  const std::string shard = MakeTempDir("cli_report_rule_shard");
  const std::string merged = MakeTempDir("cli_report_rule_merged");
  const std::string other = MakeTempDir("cli_report_rule_other");
  CliResult run = RunSnapsim(absl::StrCat(
      "campaign --scenario steady-origin-writes --seeds 1..2 --no-minimize --out '", shard, "'"));
  ASSERT_NE(run.exit_code, 2) << run.err;
  const std::string merge = absl::StrCat("report merge '", merged, "' '", shard, "'");
  ASSERT_NE(RunSnapsim(merge).exit_code, 2);
  CliResult again = RunSnapsim(merge);
  EXPECT_NE(again.exit_code, 2) << again.err;
  EXPECT_TRUE(fs::exists(merged + "/summary.json"));

  { std::ofstream(other + "/summary.json") << "mine\n"; }
  { std::ofstream(other + "/notes.txt") << "also mine\n"; }
  CliResult r = RunSnapsim(absl::StrCat("report merge '", other, "' '", shard, "'"));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err, absl::StrCat("snapsim report: ", other,
                                " is not empty and not an earlier merge's output (it holds "
                                "notes.txt); give a new or empty directory\n"));
  EXPECT_EQ(testing::ReadFileOrEmpty(other + "/summary.json"), "mine\n");

  fs::remove(other + "/notes.txt");
  fs::remove(other + "/summary.json");
  { std::ofstream(other + "/index.html") << "mine\n"; }
  r = RunSnapsim(absl::StrCat("report merge '", other, "' '", shard, "'"));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(IsOneLine(r.err)) << r.err;
  EXPECT_EQ(testing::ReadFileOrEmpty(other + "/index.html"), "mine\n");
}

}  // namespace
}  // namespace snapsim
