// SPDX-License-Identifier: GPL-2.0-only
#include "sim/campaign/campaign.h"

#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "reports/json_report.h"
#include "reports/report_files.h"
#include "tests/support/fake_campaign.h"
#include "util/assert.h"
#include "util/atomic_file.h"

namespace snapsim {
namespace {

using testing::FakeRun;
using ::testing::HasSubstr;
using testing::MakeTempDir;

CampaignOptions Options(const std::string& out, uint64_t first, uint64_t last, uint32_t jobs) {
  CampaignOptions o;
  o.config.scenarios = {"a", "b"};
  o.config.seed_first = first;
  o.config.seed_last = last;
  o.config.tool_version = "0.1.0";
  o.config.git_commit = "test";
  o.jobs = jobs;
  o.out_dir = out;
  o.progress = false;
  o.seed_timeout_ms = 20000;
  o.write_reports = WriteReports;
  return o;
}

CampaignOutcome MustRun(const CampaignOptions& o, const SeedFunction& f) {
  absl::StatusOr<CampaignOutcome> outcome = RunCampaign(o, f);
  EXPECT_TRUE(outcome.ok()) << outcome.status();
  return outcome.ok() ? *outcome : CampaignOutcome{};
}

const FindingGroup* FindGroup(const CampaignSummary& s, const std::string& invariant) {
  for (const FindingGroup& g : s.findings) {
    if (g.first.invariant == invariant) return &g;
  }
  return nullptr;
}

// Seeds each worker appends to a log file, to see which jobs ran in which invocation.
SeedFunction LoggingRun(const std::string& log) {
  return [log](const std::string& scenario, uint64_t seed) {
    EXPECT_TRUE(AppendLine(log, absl::StrCat(scenario, ":", seed)).ok());
    return FakeRun(scenario, seed);
  };
}

std::multiset<std::string> LogLines(const std::string& log) {
  std::multiset<std::string> lines;
  std::ifstream in(log);
  for (std::string line; std::getline(in, line);) lines.insert(line);
  return lines;
}

size_t CountLines(const std::string& path) { return LogLines(path).size(); }

TEST(CampaignTest, OneOrTwoWorkersGiveTheSameSummary) {
  std::string d1 = MakeTempDir("jobs1"), d2 = MakeTempDir("jobs2");
  CampaignOutcome one = MustRun(Options(d1, 1, 12, 1), FakeRun);
  CampaignOutcome two = MustRun(Options(d2, 1, 12, 2), FakeRun);
  EXPECT_EQ(one.summary.seeds_run, 24u);
  EXPECT_EQ(one.summary.seeds_completed, 12u);
  EXPECT_FALSE(one.summary.findings.empty());
  EXPECT_TRUE(SameIgnoringWallClock(one.summary, two.summary));
  // The report files agree too, outside wall_clock.
  absl::StatusOr<CampaignSummary> j1 = LoadSummaryJson(d1 + "/summary.json");
  absl::StatusOr<CampaignSummary> j2 = LoadSummaryJson(d2 + "/summary.json");
  ASSERT_TRUE(j1.ok() && j2.ok());
  EXPECT_TRUE(SameIgnoringWallClock(*j1, *j2));
  EXPECT_EQ(two.summary.wall_clock.jobs, 2u);
}

TEST(CampaignTest, TwoShardsMergedEqualOneRun) {
  std::string whole = MakeTempDir("whole"), s0 = MakeTempDir("shard0"), s1 = MakeTempDir("shard1");
  CampaignOutcome all = MustRun(Options(whole, 1, 11, 2), FakeRun);
  CampaignOptions o0 = Options(s0, 1, 11, 1);
  o0.config.shard_count = 2;
  CampaignOptions o1 = o0;
  o1.out_dir = s1;
  o1.config.shard_index = 1;
  CampaignOutcome r0 = MustRun(o0, FakeRun);
  CampaignOutcome r1 = MustRun(o1, FakeRun);
  EXPECT_EQ(r0.jobs_run + r1.jobs_run, 22u);
  EXPECT_EQ(r0.summary.seeds_completed, 11u);  // every job of its shard is done
  absl::StatusOr<CampaignSummary> merged = MergeCampaignDirs({s0, s1});
  ASSERT_TRUE(merged.ok()) << merged.status();
  EXPECT_TRUE(SameIgnoringWallClock(*merged, all.summary));

  std::string out = MakeTempDir("merged");
  ASSERT_TRUE(MergeReports({s1, s0}, out).ok());
  absl::StatusOr<CampaignSummary> from_file = LoadSummaryJson(out + "/summary.json");
  ASSERT_TRUE(from_file.ok()) << from_file.status();
  EXPECT_TRUE(SameIgnoringWallClock(*from_file, all.summary));
  EXPECT_TRUE(std::filesystem::exists(out + "/summary.md"));
  EXPECT_TRUE(std::filesystem::exists(out + "/index.html"));
}

TEST(CampaignTest, MergeReportsRefusesToWriteIntoACampaignDirectory) {
  std::string s0 = MakeTempDir("shard");
  MustRun(Options(s0, 1, 2, 1), FakeRun);
  absl::Status status = MergeReports({s0}, s0);
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
}

TEST(CampaignTest, AbortingSegfaultingAndFailingWorkersBecomeFindings) {
  std::string out = MakeTempDir("crash");
  CampaignOptions o = Options(out, 1, 6, 2);
  o.config.scenarios = {"a"};
  CampaignOutcome outcome = MustRun(o, [](const std::string& scenario, uint64_t seed) {
    if (seed == 2) std::abort();
    if (seed == 3) ::raise(SIGSEGV);
    if (seed == 4) std::exit(3);
    if (seed == 5) throw std::runtime_error("bad scenario file");
    return FakeRun(scenario, seed);
  });
  EXPECT_FALSE(outcome.interrupted);
  EXPECT_EQ(outcome.summary.seeds_run, 6u);
  EXPECT_EQ(outcome.summary.seeds_completed, 6u);
  const FindingGroup* crashed = FindGroup(outcome.summary, kSimulationCrashed);
  ASSERT_NE(crashed, nullptr);
  EXPECT_EQ(crashed->first.seed, 2u);
  EXPECT_EQ(crashed->seed_count, 4u);
  EXPECT_EQ(crashed->first.replay_command, "snapsim run --scenario a --seed 2");
  EXPECT_THAT(crashed->first.detail, HasSubstr("signal 6"));
  EXPECT_EQ(outcome.summary.verdicts.at(kSimulationCrashed).checked, 6u);
  EXPECT_EQ(outcome.summary.verdicts.at(kSimulationCrashed).failed, 4u);
  // Each crash is recorded with its own seed and cause in results.jsonl.
  absl::StatusOr<CampaignDir> dir = LoadCampaignDir(out);
  ASSERT_TRUE(dir.ok());
  EXPECT_THAT(dir->results.at(JobKey{0, 4}).findings.at(0).detail, HasSubstr("status 3"));
  EXPECT_THAT(dir->results.at(JobKey{0, 5}).findings.at(0).detail, HasSubstr("bad scenario file"));
  EXPECT_EQ(dir->results.at(JobKey{0, 3}).findings.at(0).invariant, kSimulationCrashed);
  EXPECT_EQ(dir->results.at(JobKey{0, 6}).outcome, "clean");
}

// Worker deaths the code did not cause: seed 2 is killed by SIGKILL every time, seed 3 only the
// first time (a marker file tells the attempts apart), seed 4 exits without writing a result;
// seed 5 aborts, which is the code's own crash.
SeedFunction LosingRun(const std::string& scratch) {
  return [scratch](const std::string& scenario, uint64_t seed) {
    EXPECT_TRUE(AppendLine(scratch + "/attempts.log", absl::StrCat(scenario, ":", seed)).ok());
    const std::string marker = absl::StrCat(scratch, "/", seed, ".tried");
    const bool first_attempt = !std::filesystem::exists(marker);
    std::ofstream(marker).put('x');
    if (seed == 2 || (seed == 3 && first_attempt)) ::raise(SIGKILL);
    if (seed == 4) ::_exit(0);
    if (seed == 5) std::abort();
    return FakeRun(scenario, seed);
  };
}

TEST(CampaignTest, WorkerLostToTheEnvironmentIsRetriedOnceThenRecordedNotAFinding) {
  std::string out = MakeTempDir("lost"), scratch = MakeTempDir("lost-log");
  CampaignOptions o = Options(out, 1, 5, 2);
  o.config.scenarios = {"a"};
  o.recheck = RecheckRatio{1, 1};  // every run is re-checked, but a lost job is no run
  CampaignOutcome outcome = MustRun(o, LosingRun(scratch));
  const std::multiset<std::string> attempts = LogLines(scratch + "/attempts.log");
  EXPECT_EQ(attempts.count("a:1"), 2u);  // run and re-check
  EXPECT_EQ(attempts.count("a:2"), 2u);
  EXPECT_EQ(attempts.count("a:3"), 3u);  // killed, retried, re-checked
  EXPECT_EQ(attempts.count("a:4"), 2u);
  EXPECT_EQ(attempts.count("a:5"), 1u);  // its own crash: not retried
  const CampaignSummary& s = outcome.summary;
  ASSERT_EQ(s.environment_failures.size(), 2u);
  EXPECT_EQ(s.environment_failures[0].seed, 2u);
  EXPECT_THAT(s.environment_failures[0].detail, HasSubstr("signal 9"));
  EXPECT_THAT(s.environment_failures[0].detail, HasSubstr("from outside"));
  EXPECT_EQ(s.environment_failures[1].seed, 4u);
  EXPECT_THAT(s.environment_failures[1].detail, HasSubstr("without a result"));
  EXPECT_EQ(s.seeds_run, 3u);  // 1, 3 (on its retry) and 5
  EXPECT_EQ(s.runs_with_findings, 1u);
  const FindingGroup* crashed = FindGroup(s, kSimulationCrashed);
  ASSERT_NE(crashed, nullptr);
  EXPECT_EQ(crashed->seed_count, 1u);
  EXPECT_EQ(crashed->first.seed, 5u);
  absl::StatusOr<CampaignSummary> written = LoadSummaryJson(out + "/summary.json");
  ASSERT_TRUE(written.ok()) << written.status();
  EXPECT_EQ(written->environment_failures.size(), 2u);
  absl::StatusOr<CampaignDir> dir = LoadCampaignDir(out);
  ASSERT_TRUE(dir.ok()) << dir.status();
  EXPECT_EQ(dir->rechecks.size(), 2u);  // 1 and 3; not 5 (a crash) nor the lost 2 and 4
  EXPECT_FALSE(dir->rechecks.contains(JobKey{0, 2}));
  EXPECT_FALSE(dir->rechecks.contains(JobKey{0, 4}));

  // Resumed, the lost jobs run again (and now finish); nothing else does.
  std::filesystem::remove(scratch + "/attempts.log");
  o.recheck = RecheckRatio{};
  CampaignOutcome resumed = MustRun(o, LoggingRun(scratch + "/attempts.log"));
  EXPECT_EQ(LogLines(scratch + "/attempts.log"), (std::multiset<std::string>{"a:2", "a:4"}));
  EXPECT_TRUE(resumed.summary.environment_failures.empty());
  EXPECT_EQ(resumed.summary.seeds_run, 5u);
  EXPECT_EQ(resumed.jobs_skipped, 3u);
}

TEST(CampaignTest, AssertionOutsideARunIsTheFindingAssertionsHold) {
  std::string out = MakeTempDir("assert");
  CampaignOptions o = Options(out, 1, 2, 1);
  o.config.scenarios = {"a"};
  CampaignOutcome outcome = MustRun(o, [](const std::string& scenario, uint64_t seed) {
    if (seed == 2) SNAPSIM_ASSERT(seed != 2 && "the workload generator's promise");
    return FakeRun(scenario, seed);
  });
  const FindingGroup* asserted = FindGroup(outcome.summary, "assertions_hold");
  ASSERT_NE(asserted, nullptr);
  EXPECT_EQ(asserted->first.seed, 2u);
  EXPECT_EQ(asserted->first.contract, Contract::kWithin);
  EXPECT_THAT(asserted->first.actual, HasSubstr("tests/campaign_test.cc:"));
  EXPECT_THAT(asserted->first.actual, HasSubstr("the workload generator's promise"));
  EXPECT_EQ(asserted->first.replay_command, "snapsim run --scenario a --seed 2");
  EXPECT_EQ(FindGroup(outcome.summary, kSimulationCrashed), nullptr);
}

TEST(CampaignTest, WorkerPastThePerSeedLimitIsKilledAndReported) {
  std::string out = MakeTempDir("timeout");
  CampaignOptions o = Options(out, 1, 3, 2);
  o.config.scenarios = {"a"};
  o.seed_timeout_ms = 1000;
  CampaignOutcome outcome = MustRun(o, [](const std::string& scenario, uint64_t seed) {
    while (seed == 2) ::pause();  // hangs until killed
    return FakeRun(scenario, seed);
  });
  EXPECT_EQ(outcome.summary.seeds_run, 3u);
  const FindingGroup* timeout = FindGroup(outcome.summary, kSimulationTimeout);
  ASSERT_NE(timeout, nullptr);
  EXPECT_EQ(timeout->first.seed, 2u);
  EXPECT_EQ(timeout->seed_count, 1u);
  EXPECT_THAT(timeout->first.replay_command, HasSubstr("--seed 2"));
}

TEST(CampaignTest, ResumeRunsOnlyTheJobsNotDone) {
  std::string out = MakeTempDir("resume"), scratch = MakeTempDir("resume-log");
  std::string log1 = scratch + "/first.log", log2 = scratch + "/second.log";
  CampaignOptions o = Options(out, 1, 10, 2);
  o.stop_after_jobs = 7;
  CampaignOutcome first = MustRun(o, LoggingRun(log1));
  EXPECT_TRUE(first.interrupted);
  EXPECT_EQ(first.jobs_run, 7u);
  EXPECT_EQ(CountLines(out + "/results.jsonl"), 7u);
  EXPECT_TRUE(std::filesystem::exists(out + "/summary.json"));  // of what was done
  EXPECT_EQ(first.summary.seeds_run, 7u);

  o.stop_after_jobs = 0;
  CampaignOutcome second = MustRun(o, LoggingRun(log2));
  EXPECT_FALSE(second.interrupted);
  EXPECT_EQ(second.jobs_skipped, 7u);
  EXPECT_EQ(second.jobs_run, 13u);
  std::multiset<std::string> ran = LogLines(log1);
  for (const std::string& line : LogLines(log2)) {
    EXPECT_FALSE(ran.contains(line)) << line << " ran twice";
    ran.insert(line);
  }
  EXPECT_EQ(ran.size(), 20u);
  std::string whole = MakeTempDir("resume-whole");
  CampaignOutcome reference = MustRun(Options(whole, 1, 10, 2), FakeRun);
  EXPECT_TRUE(SameIgnoringWallClock(second.summary, reference.summary));
}

TEST(CampaignTest, SigintStopsTheCampaignAndKeepsWhatIsDone) {
  std::string out = MakeTempDir("sigint");
  CampaignOptions o = Options(out, 1, 10, 1);
  CampaignOutcome stopped = MustRun(o, [](const std::string& scenario, uint64_t seed) {
    if (seed == 3) ::kill(::getppid(), SIGINT);
    return FakeRun(scenario, seed);
  });
  EXPECT_TRUE(stopped.interrupted);
  EXPECT_GE(stopped.summary.seeds_run, 4u);  // seeds 1 and 2 of both scenarios at least
  EXPECT_LT(stopped.summary.seeds_run, 20u);
  EXPECT_EQ(CountLines(out + "/results.jsonl"), stopped.summary.seeds_run);
  absl::StatusOr<CampaignSummary> written = LoadSummaryJson(out + "/summary.json");
  ASSERT_TRUE(written.ok());
  EXPECT_EQ(written->seeds_run, stopped.summary.seeds_run);

  CampaignOutcome rest = MustRun(o, FakeRun);
  EXPECT_FALSE(rest.interrupted);
  EXPECT_EQ(rest.jobs_skipped + rest.jobs_run, 20u);
  EXPECT_EQ(rest.summary.seeds_completed, 10u);
}

// Found by fuzz_campaign_files: a floating-point number where an integer is read was converted
// with a cast that is undefined behaviour (1.7e20 into a uint64_t); the line is corrupt instead.
TEST(CampaignTest, ResultLineWithAFloatingPointNumberIsCorrupt) {
  CampaignConfig config;
  config.scenarios = {"a"};
  config.seed_first = 1;
  config.seed_last = 9;
  EXPECT_TRUE(
      ParseResultsJsonl("{\"scenario\":\"a\",\"seed\":1,\"events\":17}\n", "r.jsonl", config).ok());
  const absl::StatusOr<JobResults> results =
      ParseResultsJsonl("{\"scenario\":\"a\",\"seed\":1,\"events\":1.7e20}\n", "r.jsonl", config);
  EXPECT_EQ(results.status().message(), "r.jsonl line 1 is corrupt: a number is not an integer");
}

TEST(CampaignTest, HalfWrittenLastLineIsIgnoredAndTheJobRerun) {
  std::string out = MakeTempDir("torn");
  CampaignOptions o = Options(out, 1, 3, 1);
  o.stop_after_jobs = 4;
  MustRun(o, FakeRun);
  {
    std::ofstream append(out + "/results.jsonl", std::ios::app);
    append << "{\"scenario\":\"b\",\"seed\":3,\"ev";  // the writer died mid-line
  }
  absl::StatusOr<CampaignDir> dir = LoadCampaignDir(out);
  ASSERT_TRUE(dir.ok()) << dir.status();
  EXPECT_EQ(dir->results.size(), 4u);
  o.stop_after_jobs = 0;
  CampaignOutcome rest = MustRun(o, FakeRun);
  EXPECT_EQ(rest.jobs_run, 2u);
  EXPECT_EQ(CountLines(out + "/results.jsonl"), 6u);
  EXPECT_TRUE(LoadCampaignDir(out).ok());
}

TEST(CampaignTest, OutDirOfAnotherCampaignIsRefused) {
  std::string out = MakeTempDir("other");
  MustRun(Options(out, 1, 3, 1), FakeRun);
  absl::StatusOr<CampaignOutcome> other = RunCampaign(Options(out, 1, 4, 1), FakeRun);
  ASSERT_FALSE(other.ok());
  EXPECT_EQ(other.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(other.status().message(), HasSubstr("another campaign"));
  EXPECT_EQ(CountLines(out + "/results.jsonl"), 6u);
}

TEST(CampaignTest, NonEmptyDirectoryThatIsNoCampaignIsRefusedAndLeftAlone) {
  std::string out = MakeTempDir("user");
  ASSERT_TRUE(WriteFileAtomically(out + "/notes.txt", "mine").ok());
  absl::StatusOr<CampaignOutcome> run = RunCampaign(Options(out, 1, 2, 1), FakeRun);
  ASSERT_FALSE(run.ok());
  EXPECT_THAT(run.status().message(), HasSubstr("not a campaign directory"));
  EXPECT_EQ(*ReadWholeFile(out + "/notes.txt"), "mine");
  EXPECT_FALSE(std::filesystem::exists(out + "/results.jsonl"));
}

TEST(CampaignTest, TimeBudgetEndsAfterWholeSeedsFromTheFirst) {
  std::string out = MakeTempDir("budget");
  CampaignOptions o = Options(out, 100, 0, 2);
  o.config.seed_last.reset();
  o.budget_ms = 400;
  CampaignOutcome outcome = MustRun(o, [](const std::string& scenario, uint64_t seed) {
    ::usleep(20 * 1000);
    return FakeRun(scenario, seed);
  });
  const CampaignSummary& s = outcome.summary;
  EXPECT_GT(s.seeds_completed, 0u);
  EXPECT_EQ(s.seeds_run, 2 * s.seeds_completed);  // only whole seeds, no gaps
  absl::StatusOr<CampaignDir> dir = LoadCampaignDir(out);
  ASSERT_TRUE(dir.ok());
  EXPECT_EQ(dir->results.rbegin()->first.seed, 100 + s.seeds_completed - 1);
  EXPECT_EQ(s.wall_clock.budget_ms, 400u);
}

TEST(CampaignTest, OpenSeedRangeWithoutBudgetIsRejected) {
  CampaignOptions o = Options(MakeTempDir("open"), 1, 1, 1);
  o.config.seed_last.reset();
  EXPECT_EQ(RunCampaign(o, FakeRun).status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace snapsim
