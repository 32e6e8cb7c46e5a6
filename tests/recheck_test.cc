// SPDX-License-Identifier: GPL-2.0-only
//
// Campaign re-checks (sim/campaign/campaign.h): which runs are re-checked, that a deterministic
// run always matches, that a run depending on its worker process is caught as `nondeterminism`
// with two traces and their first differing event, that a re-check whose worker fails claims
// nothing, that resuming finishes the re-checks, and the ratio's parsing.
#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "rapidcheck.h"
#include "rapidcheck/gtest.h"
#include "reports/json_report.h"
#include "reports/markdown_report.h"
#include "reports/report_files.h"
#include "sim/campaign/campaign.h"
#include "tests/support/cli_runner.h"
#include "tests/support/fake_campaign.h"
#include "util/atomic_file.h"

namespace snapsim {
namespace {

using testing::FakeRun;
using ::testing::HasSubstr;
using testing::MakeTempDir;

CampaignOptions Options(const std::string& out, uint64_t last, RecheckRatio ratio) {
  CampaignOptions o;
  o.config.scenarios = {"a", "b"};
  o.config.seed_first = 1;
  o.config.seed_last = last;
  o.config.tool_version = "0.1.0";
  o.config.git_commit = "test";
  o.jobs = 2;
  o.out_dir = out;
  o.progress = false;
  o.seed_timeout_ms = 20000;
  o.write_reports = WriteReports;
  o.recheck = ratio;
  return o;
}

CampaignOutcome MustRun(const CampaignOptions& o, const SeedFunction& f) {
  absl::StatusOr<CampaignOutcome> outcome = RunCampaign(o, f);
  EXPECT_TRUE(outcome.ok()) << outcome.status();
  return outcome.ok() ? *outcome : CampaignOutcome{};
}

// Jobs the ratio selects: its sample, and every job with a finding.
uint64_t Selected(const CampaignOptions& o) {
  uint64_t n = 0;
  for (const std::string& scenario : o.config.scenarios) {
    for (uint64_t seed = o.config.seed_first; seed <= *o.config.seed_last; ++seed) {
      n += !FakeRun(scenario, seed).findings.empty() || InRecheckSample(o.recheck, scenario, seed);
    }
  }
  return n;
}

// FakeRun, except that seed 3 of scenario a depends on the process that runs it.
RunResult ProcessDependentRun(const std::string& scenario, uint64_t seed) {
  RunResult r = FakeRun(scenario, seed);
  if (scenario == "a" && seed == 3) r.trace_hash ^= static_cast<uint64_t>(::getpid());
  return r;
}

// Its traced twin: three events, the second naming the process.
RunResult ProcessDependentTraced(const std::string& scenario, uint64_t seed,
                                 const std::string& path) {
  const bool dependent = scenario == "a" && seed == 3;
  std::ofstream(path) << "{\"kind\":\"submit\"}\n{\"kind\":\"complete\",\"pid\":"
                      << (dependent ? ::getpid() : 0) << "}\n{\"kind\":\"crash\"}\n";
  return ProcessDependentRun(scenario, seed);
}

TEST(RecheckTest, DeterministicRunsAllMatchAndTheReportSaysSo) {
  const std::string out = MakeTempDir("recheck_match");
  const CampaignOptions o = Options(out, 16, RecheckRatio{1, 4});
  const CampaignOutcome outcome = MustRun(o, FakeRun);
  const RecheckStats& r = outcome.summary.rechecks;
  EXPECT_EQ(r.runs, Selected(o));
  EXPECT_GT(r.runs, outcome.summary.runs_with_findings) << "the sample adds clean runs";
  EXPECT_EQ(r.mismatches, 0u);
  EXPECT_EQ(outcome.rechecks_run, r.runs);
  EXPECT_EQ(outcome.summary.verdicts.at(kNondeterminism).checked, r.runs);
  EXPECT_EQ(outcome.summary.verdicts.at(kNondeterminism).failed, 0u);
  const std::string headline = absl::StrCat(r.runs, " runs re-checked, 0 mismatches");
  EXPECT_EQ(RechecksHeadline(outcome.summary), headline);
  EXPECT_THAT(testing::ReadFileOrEmpty(out + "/summary.md"), HasSubstr(headline));
  EXPECT_THAT(testing::ReadFileOrEmpty(out + "/index.html"), HasSubstr(headline));
  absl::StatusOr<CampaignSummary> json = LoadSummaryJson(out + "/summary.json");
  ASSERT_TRUE(json.ok()) << json.status();
  EXPECT_EQ(json->rechecks.runs, r.runs);
  // Every run's trace hash, in the summary as in results.jsonl.
  ASSERT_EQ(json->trace_hashes.at("a").size(), 16u);
  EXPECT_EQ(json->trace_hashes.at("b")[4],
            (std::pair<uint64_t, uint64_t>{5, FakeRun("b", 5).trace_hash}));
}

TEST(RecheckTest, OffRechecksNothing) {
  const std::string out = MakeTempDir("recheck_off");
  const CampaignOutcome outcome = MustRun(Options(out, 8, RecheckRatio{}), ProcessDependentRun);
  EXPECT_EQ(outcome.summary.rechecks.runs, 0u);
  EXPECT_FALSE(outcome.summary.verdicts.contains(kNondeterminism));
  EXPECT_FALSE(std::filesystem::exists(out + "/rechecks.jsonl"));
}

TEST(RecheckTest, ARunThatDependsOnItsProcessIsANondeterminismFindingWithTwoTraces) {
  const std::string out = MakeTempDir("recheck_caught");
  CampaignOptions o = Options(out, 6, RecheckRatio{1, 1});
  o.run_traced = ProcessDependentTraced;
  const CampaignOutcome outcome = MustRun(o, ProcessDependentRun);
  const RecheckStats& r = outcome.summary.rechecks;
  EXPECT_EQ(r.runs, 12u);
  ASSERT_EQ(r.mismatches, 1u);
  const Recheck& m = r.mismatched.at(0);
  EXPECT_EQ(m.scenario, "a");
  EXPECT_EQ(m.seed, 3u);
  EXPECT_NE(m.trace_hash, m.recheck_trace_hash);
  EXPECT_THAT(m.differences, ::testing::ElementsAre("trace_hash"));
  ASSERT_EQ(m.traces.size(), 2u);
  for (const std::string& t : m.traces) EXPECT_TRUE(std::filesystem::exists(out + "/" + t)) << t;
  EXPECT_THAT(m.first_difference, HasSubstr("event 2: {\"kind\":\"complete\",\"pid\":"));
  // The finding, in the summary and in the run's result as read back.
  const FindingGroup* g = nullptr;
  for (const FindingGroup& f : outcome.summary.findings) {
    if (f.first.invariant == kNondeterminism) g = &f;
  }
  ASSERT_NE(g, nullptr);
  EXPECT_EQ(g->first.seed, 3u);
  EXPECT_EQ(g->seed_count, 1u);
  EXPECT_EQ(g->first.replay_command, "snapsim run --scenario a --seed 3");
  EXPECT_THAT(g->first.detail, HasSubstr(m.traces[0]));
  absl::StatusOr<CampaignDir> dir = LoadCampaignDir(out);
  ASSERT_TRUE(dir.ok()) << dir.status();
  EXPECT_EQ(dir->results.at(JobKey{0, 3}).findings.back().invariant, kNondeterminism);
  EXPECT_EQ(dir->results.at(JobKey{0, 3}).outcome, "findings");
  EXPECT_EQ(dir->rechecks.size(), 12u);
  EXPECT_THAT(RechecksHeadline(outcome.summary), "12 runs re-checked, 1 mismatch");
}

TEST(RecheckTest, AReCheckWhoseWorkerDiesClaimsNothing) {
  const std::string out = MakeTempDir("recheck_inconclusive");
  const std::string marker = out + "-ran-once";
  CampaignOptions o = Options(out, 4, RecheckRatio{1, 1});
  o.config.scenarios = {"a"};
  // Seed 2 crashes its second execution only (the re-check): the machine's doing, not the run's.
  const CampaignOutcome outcome = MustRun(o, [&](const std::string& scenario, uint64_t seed) {
    if (seed == 2 && std::filesystem::exists(marker)) ::raise(SIGKILL);
    if (seed == 2) std::ofstream(marker) << "x";
    return FakeRun(scenario, seed);
  });
  EXPECT_EQ(outcome.summary.rechecks.runs, 3u);
  EXPECT_EQ(outcome.summary.rechecks.inconclusive, 1u);
  EXPECT_EQ(outcome.summary.rechecks.mismatches, 0u);
  EXPECT_EQ(RechecksHeadline(outcome.summary), "3 runs re-checked, 0 mismatches, 1 inconclusive");
}

TEST(RecheckTest, ResumingFinishesTheReChecksOfAnInterruptedCampaign) {
  const std::string whole = MakeTempDir("recheck_whole"), out = MakeTempDir("recheck_resume");
  const CampaignOutcome all = MustRun(Options(whole, 10, RecheckRatio{1, 3}), FakeRun);
  CampaignOptions o = Options(out, 10, RecheckRatio{1, 3});
  o.stop_after_jobs = 9;
  const CampaignOutcome first = MustRun(o, FakeRun);
  EXPECT_TRUE(first.interrupted);
  EXPECT_LT(first.summary.rechecks.runs, all.summary.rechecks.runs);
  o.stop_after_jobs = 0;
  const CampaignOutcome second = MustRun(o, FakeRun);
  EXPECT_EQ(second.summary.rechecks.runs, all.summary.rechecks.runs);
  EXPECT_TRUE(SameIgnoringWallClock(second.summary, all.summary));
}

TEST(RecheckTest, ShardsMergedCarryTheirReChecks) {
  const std::string whole = MakeTempDir("recheck_w"), s0 = MakeTempDir("recheck_s0"),
                    s1 = MakeTempDir("recheck_s1");
  const CampaignOutcome all = MustRun(Options(whole, 9, RecheckRatio{1, 2}), FakeRun);
  CampaignOptions o0 = Options(s0, 9, RecheckRatio{1, 2});
  o0.config.shard_count = 2;
  CampaignOptions o1 = o0;
  o1.out_dir = s1;
  o1.config.shard_index = 1;
  MustRun(o0, FakeRun);
  MustRun(o1, FakeRun);
  absl::StatusOr<CampaignSummary> merged = MergeCampaignDirs({s0, s1});
  ASSERT_TRUE(merged.ok()) << merged.status();
  EXPECT_GT(merged->rechecks.runs, 0u);
  EXPECT_TRUE(SameIgnoringWallClock(*merged, all.summary));
}

TEST(RecheckRatioTest, ParsesFractionsZeroOneAndOffAndRefusesTheRest) {
  EXPECT_EQ(ParseRecheckRatio("1/64")->denominator, 64u);
  EXPECT_EQ(ParseRecheckRatio("0")->numerator, 0u);
  EXPECT_FALSE(ParseRecheckRatio("0")->Off());
  EXPECT_EQ(ParseRecheckRatio("1")->numerator, 1u);
  EXPECT_TRUE(ParseRecheckRatio("off")->Off());
  EXPECT_EQ(RecheckRatioText(*ParseRecheckRatio("3/8")), "3/8");
  for (const char* bad : {"abc", "2", "-1", "3/2", "1/0", "1/", "/4", "0.5", "1/2/3", "", " 1"}) {
    absl::StatusOr<RecheckRatio> r = ParseRecheckRatio(bad);
    EXPECT_FALSE(r.ok()) << bad;
    EXPECT_THAT(std::string(r.status().message()), HasSubstr(absl::StrCat("'", bad, "'")));
  }
}

RC_GTEST_PROP(RecheckRatioProperty, TheSampleIsNearItsRatio, ()) {
  const auto denominator = *rc::gen::inRange<uint32_t>(2, 100);
  const auto first = *rc::gen::inRange<uint64_t>(0, uint64_t{1} << 62);
  const RecheckRatio ratio{1, denominator};
  uint64_t hit = 0;
  constexpr uint64_t kSeeds = 20000;
  for (uint64_t seed = first; seed < first + kSeeds; ++seed) {
    hit += InRecheckSample(ratio, "default", seed) ? 1 : 0;
  }
  const double expected = static_cast<double>(kSeeds) / denominator;
  RC_ASSERT(static_cast<double>(hit) > expected * 0.7 - 10);
  RC_ASSERT(static_cast<double>(hit) < expected * 1.3 + 10);
}

TEST(RecheckRatioTest, ZeroOneAndOffAreExact) {
  EXPECT_FALSE(InRecheckSample(RecheckRatio{0, 1}, "a", 5));
  EXPECT_TRUE(InRecheckSample(RecheckRatio{1, 1}, "a", 5));
  EXPECT_FALSE(InRecheckSample(RecheckRatio{}, "a", 5));
}

TEST(RecheckTest, DifferencesNameTheFieldsAndTheFirstEvent) {
  RunResult a = FakeRun("a", 4), b = a;
  EXPECT_TRUE(ResultDifferences(a, b).empty());
  b.events += 1;
  b.findings.clear();
  EXPECT_THAT(ResultDifferences(a, b), ::testing::ElementsAre("events", "findings"));
  EXPECT_EQ(FirstTraceDifference("x\ny\nz\n", "x\nY\nz\n"), "event 2: y / Y");
  EXPECT_EQ(FirstTraceDifference("x\ny\n", "x\ny\nz\n"), "event 3: (trace ended) / z");
  EXPECT_EQ(FirstTraceDifference("x\n", "x\n"), "no event: the traces are the same");
}

}  // namespace
}  // namespace snapsim
