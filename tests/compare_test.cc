// SPDX-License-Identifier: GPL-2.0-only
#include "reports/compare.h"

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
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
      Section(md, "Findings still present"),
      HasSubstr(absl::StrCat(prev.findings.front().id, ": ", prev.findings.front().seed_count,
                             " -> ", prev.findings.front().seed_count + 2, " seeds")));
  EXPECT_THAT(Section(md, "Findings still present"), Not(HasSubstr(gone.id)));
}

Cause MakeCause(const std::string& id, uint64_t runs, std::vector<std::string> scenarios) {
  Cause c;
  c.id = id;
  c.known = id.rfind("unexplained-", 0) != 0;
  c.title = c.known ? "a catalogued bug" : "unexplained: data | no crash | no injected fault";
  c.runs = runs;
  c.scenarios = std::move(scenarios);
  c.replay_command = "snapsim run --scenario " + c.scenarios.front() + " --seed 1";
  return c;
}

// Tonight the catalogued bug moved to another scenario (a new finding kind, not a new cause), an
// unexplained cause appeared and another one is gone.
TEST(CompareTest, CausesAreComparedFirstNewGoneAndRunCounts) {
  CampaignSummary prev = testing::FakeSummary();
  CampaignSummary cur = prev;
  prev.causes = {MakeCause("unexplained-0badf00d", 2, {"a"}),
                 MakeCause("next-free-lands-on-metadata-area", 5, {"a"})};
  cur.causes = {MakeCause("unexplained-12345678", 1, {"b"}),
                MakeCause("next-free-lands-on-metadata-area", 7, {"b"})};
  FindingGroup moved = cur.findings.front();
  moved.id = "table_well_formed@b/within";
  moved.cause = "next-free-lands-on-metadata-area";
  cur.findings.push_back(moved);
  const std::string md = CompareSummaries(prev, cur);
  EXPECT_THAT(Section(md, "New causes"), HasSubstr("unexplained-12345678** (unexplained)"));
  EXPECT_THAT(Section(md, "New causes"), Not(HasSubstr("next-free-lands-on-metadata-area")));
  EXPECT_THAT(Section(md, "Gone causes"), HasSubstr("unexplained-0badf00d"));
  EXPECT_THAT(Section(md, "Causes still present"),
              HasSubstr(absl::StrCat("| next-free-lands-on-metadata-area | 5 of ", prev.seeds_run,
                                     " | 7 of ", cur.seeds_run, " | b |")));
  // The finding kinds stay below as detail, with their cause.
  EXPECT_THAT(Section(md, "New findings"), HasSubstr("table_well_formed@b/within (critical, "));
  EXPECT_THAT(Section(md, "New findings"), HasSubstr("cause next-free-lands-on-metadata-area"));
  EXPECT_LT(md.find("## New causes"), md.find("## New findings"));
  EXPECT_THAT(md, HasSubstr("- previous: "));
  EXPECT_THAT(md, HasSubstr("2 causes: 1 known, 1 unexplained"));
}

// A schema-1 summary (or one written with --no-attribute) has no causes: one note says so, and
// the findings are still compared.
TEST(CompareTest, SummaryWithoutCausesIsComparedByFindingsWithANote) {
  const std::string dir = testing::MakeTempDir("compare_v1");
  nlohmann::json old = nlohmann::json::parse(RenderJsonReport(testing::FakeSummary()));
  old["schema_version"] = 1;
  old.erase("causes");
  for (nlohmann::json& f : old["findings"]) f.erase("cause");
  CampaignSummary cur = testing::FakeSummary();
  cur.causes = {MakeCause("unexplained-12345678", 1, {"a"})};
  ASSERT_TRUE(WriteFileAtomically(dir + "/v1.json", old.dump()).ok());
  ASSERT_TRUE(WriteFileAtomically(dir + "/v2.json", RenderJsonReport(cur)).ok());
  absl::StatusOr<std::string> md = CompareSummaryFiles(dir + "/v1.json", dir + "/v2.json");
  ASSERT_TRUE(md.ok()) << md.status();
  EXPECT_THAT(Section(*md, "Causes"),
              HasSubstr("Not compared: the previous summary has findings but no causes"));
  EXPECT_THAT(*md, Not(HasSubstr("## New causes")));
  EXPECT_THAT(Section(*md, "New findings"), HasSubstr("None."));
  EXPECT_THAT(Section(*md, "Findings still present"), HasSubstr(cur.findings.front().id));
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

// FakeSummary with both scenarios' definitions known.
CampaignSummary WithDigests(CampaignSummary s) {
  s.config.scenario_digests = {{"a", "00000000000000aa"}, {"b", "00000000000000bb"}};
  return s;
}

TEST(CompareTest, TraceHashChangedAtTheSameCommitAndDefinitionIsNondeterminism) {
  const CampaignSummary prev = WithDigests(testing::FakeSummary());
  CampaignSummary cur = prev;
  cur.trace_hashes.at("a").at(2).second ^= 1;  // seed 3
  const std::string section = Section(CompareSummaries(prev, cur), "Trace hashes");
  EXPECT_THAT(section, HasSubstr("40 runs in both campaigns"));
  EXPECT_THAT(section, HasSubstr("1 runs changed their trace hash at the same tool commit"));
  EXPECT_THAT(section, HasSubstr("nondeterminism"));
  EXPECT_THAT(section, HasSubstr("- a seed 3: "));
  EXPECT_THAT(Section(CompareSummaries(prev, prev), "Trace hashes"),
              HasSubstr("Every one kept its trace hash"));
}

TEST(CompareTest, TraceHashesChangedByAnotherCommitOrDefinitionAreExpected) {
  const CampaignSummary prev = WithDigests(testing::FakeSummary());
  CampaignSummary cur = prev;
  cur.config.git_commit = "def456";
  cur.trace_hashes.at("a").at(0).second ^= 1;
  cur.trace_hashes.at("b").at(5).second ^= 1;
  std::string section = Section(CompareSummaries(prev, cur), "Trace hashes");
  EXPECT_THAT(section, HasSubstr("2 of 40 runs changed their trace hash, expected: the tool "
                                 "changed (abc123 -> def456)"));
  EXPECT_THAT(section, Not(HasSubstr("nondeterminism")));

  cur.config.git_commit = prev.config.git_commit;
  cur.config.scenario_digests["a"] = "00000000000000ab";  // --option or an edited file
  section = Section(CompareSummaries(prev, cur), "Trace hashes");
  EXPECT_THAT(section, HasSubstr("1 of 20 runs changed their trace hash, expected: the "
                                 "scenario's definition changed"));
  EXPECT_THAT(section, HasSubstr("1 runs changed their trace hash at the same tool commit"));
  EXPECT_THAT(section, HasSubstr("- b seed 6: "));
}

TEST(CompareTest, SummaryWithoutTraceHashesIsNotCompared) {
  CampaignSummary prev = testing::FakeSummary();
  prev.trace_hashes.clear();  // written before they were recorded
  EXPECT_THAT(Section(CompareSummaries(prev, testing::FakeSummary()), "Trace hashes"),
              HasSubstr("Not compared: the previous summary carries no trace hashes"));
}

}  // namespace
}  // namespace snapsim
