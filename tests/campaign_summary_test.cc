// SPDX-License-Identifier: GPL-2.0-only
#include "sim/campaign/campaign_summary.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "sim/world/probes.h"
#include "tests/support/fake_campaign.h"

namespace snapsim {
namespace {

using testing::FakeRun;

CampaignConfig Config(uint64_t first, uint64_t last) {
  CampaignConfig c;
  c.scenarios = {"a", "b"};
  c.seed_first = first;
  c.seed_last = last;
  return c;
}

JobResults AllOf(const CampaignConfig& c) {
  JobResults results;
  for (uint32_t s = 0; s < c.scenarios.size(); ++s) {
    for (uint64_t seed = c.seed_first; seed <= *c.seed_last; ++seed) {
      results[JobKey{s, seed}] = FakeRun(c.scenarios[s], seed);
    }
  }
  return results;
}

const FindingGroup& Group(const CampaignSummary& s, const std::string& id) {
  for (const FindingGroup& g : s.findings) {
    if (g.id == id) return g;
  }
  ADD_FAILURE() << "no finding " << id;
  static const FindingGroup kNone;
  return kNone;
}

TEST(CampaignSummaryTest, FindingsAreFoldedBySignatureKeepingTheLowestSeed) {
  CampaignConfig c = Config(1, 20);
  CampaignSummary s = Summarize(c, AllOf(c));
  // Seeds 4, 8, ..., 20 in each scenario; leaks in b at 5, 10, 15, 20.
  ASSERT_EQ(s.findings.size(), 3u);
  const FindingGroup& lost_a = Group(s, "no_lost_committed_exception@a/within");
  EXPECT_EQ(lost_a.first.seed, 4u);
  EXPECT_EQ(lost_a.seed_count, 5u);
  EXPECT_EQ(lost_a.first.replay_command, "snapsim run --scenario a --seed 4");
  EXPECT_EQ(lost_a.minimized, "");
  const FindingGroup& leak = Group(s, "no_leaked_chunk@b/beyond");
  EXPECT_EQ(leak.first.seed, 5u);
  EXPECT_EQ(leak.seed_count, 4u);
  // Critical findings first, then by id; the warning comes last.
  EXPECT_EQ(s.findings.back().id, "no_leaked_chunk@b/beyond");
  EXPECT_EQ(s.runs_with_findings, 13u);  // b:20 has both findings but is one run
  EXPECT_EQ(s.runs_clean + s.runs_with_findings, s.seeds_run);
}

TEST(CampaignSummaryTest, TotalsProbesAndVerdictsAreSummed) {
  CampaignConfig c = Config(1, 6);
  JobResults results = AllOf(c);
  CampaignSummary s = Summarize(c, results);
  uint64_t events = 0, kept = 0, checked = 0;
  for (const auto& [key, r] : results) {
    events += r.events;
    kept += r.probes.at("crash.write_kept");
    checked += r.crash_states_checked;
  }
  EXPECT_EQ(s.seeds_run, 12u);
  EXPECT_EQ(s.events, events);
  EXPECT_EQ(s.crash_states_checked, checked);
  EXPECT_EQ(s.probes.at("crash.write_kept"), kept);
  EXPECT_EQ(s.verdicts.at("no_lost_committed_exception").checked, checked);
  EXPECT_EQ(s.verdicts.at("no_lost_committed_exception").failed, 2u);  // seed 4 of a and b
  EXPECT_EQ(s.verdicts.at(kSimulationCrashed).checked, 12u);
  EXPECT_EQ(s.verdicts.at(kSimulationCrashed).failed, 0u);
  EXPECT_EQ(s.scenarios.at("b").seeds_run, 6u);
}

TEST(CampaignSummaryTest, ProbesThatNeverFiredAreListedWithZero) {
  CampaignConfig c = Config(1, 2);
  CampaignSummary s = Summarize(c, AllOf(c));
  for (size_t i = 0; i < kProbeCount; ++i) {
    EXPECT_TRUE(s.probes.contains(std::string(ProbeName(static_cast<Probe>(i)))));
  }
  EXPECT_EQ(s.probes.at("crash.write_torn"), 4u);  // 2 in seed 1 of a and of b
}

TEST(CampaignSummaryTest, ShardJobCountOfAll64BitSeedsSaturatesInsteadOfWrapping) {
  CampaignConfig c;
  c.scenarios = {"a", "b"};
  c.seed_first = 1;
  c.seed_last = 10;
  EXPECT_EQ(ShardJobCount(c), 20u);
  c.shard_index = 1;
  c.shard_count = 3;
  EXPECT_EQ(ShardJobCount(c), 7u);  // jobs 1, 4, ..., 19
  c.seed_first = 0;
  c.seed_last = UINT64_MAX;  // 2^64 seeds: the count used to wrap to 0 (or 2^64 - 1 jobs * 2)
  c.shard_index = 0;
  c.shard_count = 1;
  EXPECT_EQ(ShardJobCount(c), UINT64_MAX);
  c.scenarios = {"a"};
  c.shard_count = 2;
  EXPECT_EQ(ShardJobCount(c), uint64_t{1} << 63);
  c.seed_last.reset();
  EXPECT_EQ(ShardJobCount(c), std::nullopt);
}

TEST(CampaignSummaryTest, CompletedSeedsStopAtTheFirstMissingJob) {
  CampaignConfig c = Config(10, 19);
  JobResults results = AllOf(c);
  EXPECT_EQ(CompletedSeeds(c, results), 10u);
  results.erase(JobKey{1, 14});
  EXPECT_EQ(CompletedSeeds(c, results), 4u);  // 10..13
  EXPECT_EQ(Summarize(c, results).seeds_run, 19u);
  results.erase(JobKey{0, 10});
  EXPECT_EQ(CompletedSeeds(c, results), 0u);
}

TEST(CampaignSummaryTest, CompletedSeedsOfAShardCountOnlyItsOwnJobs) {
  CampaignConfig c = Config(1, 9);
  c.scenarios = {"a"};
  c.shard_count = 3;
  c.shard_index = 2;
  JobResults results;
  for (uint64_t seed = 1; seed <= 9; ++seed) {
    if (InShard(c, JobKey{0, seed})) results[JobKey{0, seed}] = FakeRun("a", seed);
  }
  EXPECT_EQ(results.size(), 3u);  // seeds 3, 6, 9
  EXPECT_EQ(CompletedSeeds(c, results), 9u);
  results.erase(JobKey{0, 6});
  EXPECT_EQ(CompletedSeeds(c, results), 5u);
}

TEST(CampaignSummaryTest, OpenEndedCampaignCountsSeedsUpToTheLastComplete) {
  CampaignConfig c = Config(5, 7);
  JobResults results = AllOf(c);
  c.seed_last.reset();
  EXPECT_EQ(CompletedSeeds(c, results), 3u);
}

TEST(CampaignSummaryTest, MergedShardsEqualTheWholeOutsideWallClock) {
  CampaignConfig whole = Config(1, 13);
  JobResults all = AllOf(whole);
  std::vector<std::pair<CampaignConfig, JobResults>> shards;
  for (uint32_t i = 0; i < 3; ++i) {
    CampaignConfig c = whole;
    c.shard_index = i;
    c.shard_count = 3;
    JobResults mine;
    for (const auto& [key, r] : all) {
      if (InShard(c, key)) mine[key] = r;
    }
    shards.emplace_back(c, mine);
  }
  WallClockStats w1, w2;
  w1.wall_ms = 1000;
  w2.wall_ms = 3000;
  absl::StatusOr<CampaignSummary> merged = MergeSummaries(shards, {w1, w2});
  ASSERT_TRUE(merged.ok()) << merged.status();
  CampaignSummary reference = Summarize(whole, all);
  EXPECT_TRUE(SameIgnoringWallClock(*merged, reference));
  EXPECT_EQ(merged->wall_clock.wall_ms, 3000u);
  EXPECT_FALSE(SameIgnoringWallClock(Summarize(whole, shards[0].second), reference));
}

TEST(CampaignSummaryTest, MergeRefusesShardsOfDifferentCampaigns) {
  CampaignConfig a = Config(1, 4), b = Config(1, 5);
  absl::StatusOr<CampaignSummary> merged = MergeSummaries({{a, AllOf(a)}, {b, AllOf(b)}}, {});
  EXPECT_EQ(merged.status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST(CampaignSummaryTest, JsonRoundTripKeepsEveryField) {
  CampaignSummary s = testing::FakeSummary();
  s.findings.front().minimized = "cases/lost.json";
  s.findings.front().trace = "cases/lost.trace.jsonl";
  nlohmann::json j = s;
  CampaignSummary back = j.get<CampaignSummary>();
  EXPECT_TRUE(SameIgnoringWallClock(s, back));
  nlohmann::json again = back;
  EXPECT_EQ(j, again);
  EXPECT_EQ(again["findings"][0]["minimized"], "cases/lost.json");
}

TEST(CampaignSummaryTest, ReChecksAddTheirFindingAndRoundTrip) {
  CampaignConfig c;
  c.scenarios = {"a"};
  c.seed_first = 1;
  c.seed_last = 4;
  c.scenario_digests = {{"a", "00000000000000aa"}};
  JobResults results;
  for (uint64_t seed = 1; seed <= 4; ++seed) results[JobKey{0, seed}] = testing::FakeRun("a", seed);
  JobRechecks rechecks;
  rechecks[JobKey{0, 1}] = Recheck{"a", 1, 5, 5, {}, "", "", {}};
  rechecks[JobKey{0, 2}] = Recheck{
      "a", 2, 5, 6, {"trace_hash"}, "", "event 3: x / y", {"nondeterminism/a-2.1.trace.jsonl"}};
  rechecks[JobKey{0, 3}] = Recheck{"a", 3, 5, 0, {}, "killed by signal 9", "", {}};
  CampaignSummary s = Summarize(c, results, rechecks);
  EXPECT_EQ(s.rechecks.runs, 2u);
  EXPECT_EQ(s.rechecks.mismatches, 1u);
  EXPECT_EQ(s.rechecks.inconclusive, 1u);
  EXPECT_EQ(s.verdicts.at(kNondeterminism).checked, 2u);
  EXPECT_EQ(s.verdicts.at(kNondeterminism).failed, 1u);
  EXPECT_EQ(s.runs_with_findings, 2u);  // seed 4's own finding, and seed 2's nondeterminism
  ASSERT_EQ(s.findings.size(), 2u);
  const FindingGroup& nd =
      s.findings[0].first.invariant == kNondeterminism ? s.findings[0] : s.findings[1];
  EXPECT_EQ(nd.first.seed, 2u);
  EXPECT_EQ(nd.first.expected, "trace hash 0000000000000005 and the same result, as the first run");
  EXPECT_EQ(s.trace_hashes.at("a").size(), 4u);
  nlohmann::json j = s;
  EXPECT_EQ(j["rechecks"]["mismatched"][0]["recheck_trace_hash"], "0000000000000006");
  EXPECT_EQ(j["trace_hashes"]["a"][1][0], 2);
  CampaignSummary back = j.get<CampaignSummary>();
  EXPECT_TRUE(SameIgnoringWallClock(s, back));
  EXPECT_EQ(back.config.scenario_digests, c.scenario_digests);
  // Applying twice adds the finding once.
  ApplyRechecks(rechecks, results);
  ApplyRechecks(rechecks, results);
  EXPECT_EQ(results.at(JobKey{0, 2}).findings.size(), 1u);
}

TEST(CampaignSummaryTest, WallClockFieldsAreOutsideTheComparison) {
  CampaignSummary a = testing::FakeSummary();
  CampaignSummary b = a;
  b.wall_clock.wall_ms += 777;
  b.wall_clock.rate.clear();
  EXPECT_TRUE(SameIgnoringWallClock(a, b));
  b.findings.front().seed_count += 1;
  EXPECT_FALSE(SameIgnoringWallClock(a, b));
}

}  // namespace
}  // namespace snapsim
