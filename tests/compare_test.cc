// SPDX-License-Identifier: GPL-2.0-only
#include "reports/compare.h"

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "reports/json_report.h"
#include "tests/support/fake_campaign.h"
#include "util/atomic_file.h"

namespace snapsim {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// The section of `md` that starts with heading `title`, up to the next heading.
std::string Section(const std::string& md, const std::string& title) {
  size_t start = md.find("## " + title);
  if (start == std::string::npos) return "";
  size_t end = md.find("\n## ", start + 1);
  return md.substr(start, end == std::string::npos ? std::string::npos : end - start);
}

TEST(CompareTest, NewGoneAndRemainingFindingsAreListed) {
  CampaignSummary prev = testing::FakeSummary();
  CampaignSummary cur = prev;
  FindingGroup gone = cur.findings.back();  // the leak disappears tonight
  cur.findings.pop_back();
  FindingGroup fresh = cur.findings.front();
  fresh.id = "no_torn_metadata@a/within";
  fresh.first.invariant = "no_torn_metadata";
  fresh.first.seed = 17;
  cur.findings.push_back(fresh);
  cur.findings.front().seed_count += 2;
  std::string md = CompareSummaries(prev, cur);
  EXPECT_THAT(Section(md, "New findings"), HasSubstr("no_torn_metadata@a/within"));
  EXPECT_THAT(Section(md, "New findings"), HasSubstr("first seed 17"));
  EXPECT_THAT(Section(md, "Gone findings"), HasSubstr(gone.id));
  EXPECT_THAT(
      Section(md, "Still present"),
      HasSubstr(absl::StrCat(prev.findings.front().id, ": ", prev.findings.front().seed_count,
                             " -> ", prev.findings.front().seed_count + 2, " seeds")));
  EXPECT_THAT(Section(md, "Still present"), Not(HasSubstr(gone.id)));
}

TEST(CompareTest, IdenticalSummariesHaveNothingNewOrGone) {
  CampaignSummary s = testing::FakeSummary();
  std::string md = CompareSummaries(s, s);
  EXPECT_THAT(Section(md, "New findings"), HasSubstr("None."));
  EXPECT_THAT(Section(md, "Gone findings"), HasSubstr("None."));
  EXPECT_THAT(md, HasSubstr("(+0.0%)"));
}

TEST(CompareTest, RateChangeIsShownInPercent) {
  CampaignSummary prev = testing::FakeSummary(), cur = prev;
  prev.wall_clock.seeds_per_second = 10;
  cur.wall_clock.seeds_per_second = 12.5;
  EXPECT_THAT(CompareSummaries(prev, cur), HasSubstr("seeds/s: 10.00 -> 12.50 (+25.0%)"));
}

TEST(CompareTest, ProbesThatStartedOrStoppedFiringAreNamed) {
  CampaignSummary prev = testing::FakeSummary(), cur = prev;
  prev.probes["io.read_eio"] = 0;
  cur.probes["io.read_eio"] = 3;
  cur.probes["crash.write_torn"] = 0;
  std::string probes = Section(CompareSummaries(prev, cur), "Probes");
  EXPECT_THAT(probes, HasSubstr("started firing: io.read_eio"));
  EXPECT_THAT(probes, HasSubstr("stopped firing: crash.write_torn"));
}

TEST(CompareTest, SummaryFilesAreReadAndValidated) {
  std::string dir = testing::MakeTempDir("compare");
  CampaignSummary s = testing::FakeSummary();
  ASSERT_TRUE(WriteFileAtomically(dir + "/prev.json", RenderJsonReport(s)).ok());
  ASSERT_TRUE(WriteFileAtomically(dir + "/cur.json", RenderJsonReport(s)).ok());
  ASSERT_TRUE(WriteFileAtomically(dir + "/bad.json", "{\"schema_version\": 1}").ok());
  absl::StatusOr<std::string> md = CompareSummaryFiles(dir + "/prev.json", dir + "/cur.json");
  ASSERT_TRUE(md.ok()) << md.status();
  EXPECT_THAT(*md, HasSubstr("# snapsim campaign comparison"));
  absl::StatusOr<std::string> bad = CompareSummaryFiles(dir + "/prev.json", dir + "/bad.json");
  EXPECT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().message(), HasSubstr("bad.json"));
}

}  // namespace
}  // namespace snapsim
