// SPDX-License-Identifier: GPL-2.0-only
//
// The bounded-exhaustive explorer: it states its bound, checks real states, is clean on the
// corrected store, finds a mutation, and its pruning never hides a finding that the unpruned
// enumeration of the same crash points shows. Split over worker processes it gives the same
// result, findings and log as in one process.
#include "sim/run/explore.h"

#include <iostream>
#include <map>
#include <set>
#include <sstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "sim/run/explore_workers.h"
#include "sim/workload/scenario.h"
#include "tests/support/corrected_scenario.h"

namespace snapsim {
namespace {

// Crash points explored per test: enough to reach area writes and copies of explore-small.
constexpr uint32_t kBound = 24;

using testing::LoadCorrectedScenario;

std::set<std::string> Invariants(const ExploreResult& r) {
  std::set<std::string> names;
  for (const Finding& f : r.findings) names.insert(f.invariant);
  return names;
}

ExploreResult ExploreWith(const Scenario& scenario, bool prune) {
  ExploreOptions options;
  options.bound = kBound;
  options.prune = prune;
  return Explore(scenario, options);
}

TEST(ExploreTest, CorrectedStoreOnExploreSmallIsCleanUpToTheStatedBound) {
  const ExploreResult r = ExploreWith(LoadCorrectedScenario("explore-small"), /*prune=*/true);
  const std::string summary = r.Summary(kBound);
  std::cout << summary << "\n";
  EXPECT_TRUE(r.findings.empty()) << summary << "\n" << r.findings[0].detail;
  EXPECT_NE(summary.find("up to bound 24"), std::string::npos) << summary;
  EXPECT_GT(r.states_checked, 0u);
  EXPECT_GT(r.crash_points, 0u);
  EXPECT_LE(r.crash_points, kBound);
  EXPECT_EQ(r.states_enumerated, r.states_checked + r.states_pruned);
  ASSERT_TRUE(r.verdicts.contains("snapshot_image"));
  EXPECT_GE(r.verdicts.at("snapshot_image").checked, r.states_checked)
      << "every checked state checks the snapshot image";
}

TEST(ExploreTest, TheSummaryNamesPointsWhoseTearsWereLeftOut) {
  ExploreOptions options;
  options.bound = kBound;
  options.max_states_per_point = 64;
  const ExploreResult r = Explore(LoadCorrectedScenario("explore-small"), options);
  ASSERT_GT(r.points_without_tears, 0u);
  const std::string summary = r.Summary(kBound);
  EXPECT_NE(summary.find(absl::StrCat(r.points_without_tears, " point")), std::string::npos)
      << summary;
  EXPECT_NE(summary.find("without sector tears (over the state limit)"), std::string::npos)
      << summary;
}

TEST(ExploreTest, MutatedTargetIsFoundAndTheSummaryNamesTheInvariant) {
  Scenario scenario = LoadCorrectedScenario("explore-small");
  scenario.target.mutation = TargetMutation::kReleaseOriginBeforeCommit;
  const ExploreResult r = ExploreWith(scenario, /*prune=*/true);
  const std::string summary = r.Summary(kBound);
  std::cout << summary << "\n";
  ASSERT_FALSE(r.findings.empty()) << summary;
  EXPECT_NE(summary.find(r.findings[0].invariant), std::string::npos);
  EXPECT_NE(r.findings[0].crash_point.find("crash state"), std::string::npos)
      << "a finding names the crash state that shows it";
}

// The same crash points, every state checked (prune off) and distinct images only (prune on):
// the same invariants fail, and pruning checks fewer states.
void ExpectPruningHidesNothing(const Scenario& scenario) {
  const ExploreResult pruned = ExploreWith(scenario, /*prune=*/true);
  const ExploreResult unpruned = ExploreWith(scenario, /*prune=*/false);
  std::cout << "pruned:   " << pruned.Summary(kBound) << "\n"
            << "unpruned: " << unpruned.Summary(kBound) << "\n";
  ASSERT_FALSE(unpruned.findings.empty()) << "the case must have findings to show anything";
  EXPECT_EQ(Invariants(pruned), Invariants(unpruned));
  // A pruned state equals an earlier checked one of the same crash point, so each invariant is
  // first shown by the same crash state either way.
  for (const Finding& f : unpruned.findings) {
    for (const Finding& g : pruned.findings) {
      if (g.invariant == f.invariant) {
        EXPECT_EQ(g.crash_point, f.crash_point) << f.invariant;
      }
    }
  }
  EXPECT_EQ(pruned.states_enumerated, unpruned.states_enumerated);
  EXPECT_EQ(unpruned.states_pruned, 0u);
  EXPECT_GT(pruned.states_pruned, 0u);
  EXPECT_LE(pruned.states_checked, unpruned.states_checked);
}

TEST(ExploreTest, PruningNeverHidesAFindingOfAMutatedTarget) {
  Scenario scenario = LoadCorrectedScenario("explore-small");
  scenario.target.mutation = TargetMutation::kReleaseOriginBeforeCommit;
  ExpectPruningHidesNothing(scenario);
}

TEST(ExploreTest, PruningNeverHidesAFindingOfAMutatedStore) {
  Scenario scenario = LoadCorrectedScenario("explore-small");
  scenario.store.mutation = StoreMutation::kNoAreaFlush;
  ExpectPruningHidesNothing(scenario);
}

TEST(ExploreTest, WorkloadShorterThanTheBoundEndsEarlyAndSaysSo) {
  Scenario scenario = LoadCorrectedScenario("explore-small");
  scenario.workload.steps_per_cycle = 2;
  ExploreOptions options;
  options.bound = 1000;
  const ExploreResult r = Explore(scenario, options);
  EXPECT_TRUE(r.run_ended_before_bound);
  EXPECT_LT(r.crash_points, options.bound);
}

// Everything Explore reports, as one comparable value.
nlohmann::json Everything(const ExploreResult& r) {
  return {{"crash_points", r.crash_points},
          {"points_without_tears", r.points_without_tears},
          {"points_over_bound", r.points_over_bound},
          {"run_ended_before_bound", r.run_ended_before_bound},
          {"states_enumerated", r.states_enumerated},
          {"states_pruned", r.states_pruned},
          {"states_checked", r.states_checked},
          {"states_recovered", r.states_recovered},
          {"verdicts", r.verdicts},
          {"findings", r.findings}};
}

// Returns the one-process result.
ExploreResult ExpectWorkersChangeNothing(const Scenario& scenario, uint32_t bound) {
  ExploreOptions options;
  options.bound = bound;
  std::ostringstream one_log;
  options.log_out = &one_log;
  const ExploreResult one = Explore(scenario, options);
  for (uint32_t workers : {2u, 3u}) {
    std::ostringstream log;
    options.log_out = &log;
    absl::StatusOr<ExploreResult> split = ExploreInWorkers(scenario, options, workers);
    EXPECT_TRUE(split.ok()) << split.status();
    if (!split.ok()) continue;
    EXPECT_EQ(Everything(*split), Everything(one)) << workers << " workers";
    EXPECT_EQ(log.str(), one_log.str()) << workers << " workers";
  }
  return one;
}

// Check reads straight from the devices' content (the explorer's default) and through the
// target and the simulated I/O path: the same states, the same verdict counts (so the same reads
// held or failed) and the same findings, first crash state included.
void ExpectCheckReadsAgree(const Scenario& scenario, uint32_t bound) {
  ExploreOptions options;
  options.bound = bound;
  options.max_states_per_point = 16384;  // the reads through the target are slow
  options.check_reads = CheckReads::kThroughTarget;
  const ExploreResult through_target = Explore(scenario, options);
  options.check_reads = CheckReads::kDirect;
  const ExploreResult direct = Explore(scenario, options);
  std::cout << "direct: " << direct.Summary(bound) << "\n";
  EXPECT_GT(through_target.states_checked, 0u);
  // Only a finding's crash_event differs: the scratch check's scheduler counts the events of its
  // reads through the target, and direct reads run none. The crash point and state are the same.
  auto without_trace_positions = [](const ExploreResult& r) {
    nlohmann::json j = Everything(r);
    for (nlohmann::json& f : j["findings"]) f.erase("crash_event");
    j.erase("states_recovered");  // reads through the target never reuse a recovery
    return j;
  };
  EXPECT_EQ(without_trace_positions(direct), without_trace_positions(through_target));
}

TEST(ExploreCheckReadsTest, DirectReadsAgreeWithReadsThroughTheTargetOnExploreSmall) {
  ExpectCheckReadsAgree(LoadCorrectedScenario("explore-small"), kBound);
}

TEST(ExploreCheckReadsTest, DirectReadsAgreeOnMutantsWithFindings) {
  Scenario target_mutant = LoadCorrectedScenario("explore-small");
  target_mutant.target.mutation = TargetMutation::kReleaseOriginBeforeCommit;
  ExpectCheckReadsAgree(target_mutant, kBound);
  Scenario store_mutant = LoadCorrectedScenario("explore-small");
  store_mutant.store.mutation = StoreMutation::kNoAreaFlush;
  ExpectCheckReadsAgree(store_mutant, kBound);
}

// Several COWs, latent read errors (a direct read must fail as the device would), leftover COW
// data with the faithful store's findings, and a merge (read through the target: a merge moves
// data while it reads).
TEST(ExploreCheckReadsTest, DirectReadsAgreeWithSeveralSnapshotsReadErrorsFindingsAndMerges) {
  for (const char* name : {"explore-snapshots", "io-errors", "garbage-cow", "merge-crash"}) {
    SCOPED_TRACE(name);
    ExpectCheckReadsAgree(testing::LoadTestScenario(name), 16);
  }
}

// Incremental checks (a state with the metadata bytes of an earlier one reuses its recovery and
// re-reads only the chunks its writes touch) and every state recovered from scratch: each state
// checked gets the same findings, and the whole exploration the same verdict counts.
enum class Reuse { kMost, kSome, kNone };  // of the states checked, how many reuse a recovery
void ExpectIncrementalAgreesWithScratch(const Scenario& scenario, uint32_t bound, Reuse reuse) {
  std::map<std::pair<uint32_t, uint64_t>, nlohmann::json> findings_by_state[2];
  ExploreResult results[2];
  for (bool incremental : {false, true}) {
    ExploreOptions options;
    options.bound = bound;
    options.max_states_per_point = 16384;  // bound 64 of explore-small: 102,047 states
    options.incremental = incremental;
    options.on_state_checked = [&](uint32_t point, uint64_t state,
                                   const std::vector<Finding>& findings) {
      findings_by_state[incremental][{point, state}] = findings;
    };
    results[incremental] = Explore(scenario, options);
  }
  const ExploreResult& scratch = results[0];
  const ExploreResult& incremental = results[1];
  std::cout << "incremental: " << incremental.Summary(bound) << "; " << incremental.states_recovered
            << " of " << incremental.states_checked << " states recovered from scratch\n";
  EXPECT_GT(scratch.states_checked, 0u);
  EXPECT_EQ(scratch.states_recovered, scratch.states_checked);
  switch (reuse) {
    case Reuse::kMost:
      EXPECT_LT(incremental.states_recovered * 2, incremental.states_checked);
      break;
    case Reuse::kSome:
      EXPECT_LT(incremental.states_recovered, incremental.states_checked);
      break;
    case Reuse::kNone:
      EXPECT_EQ(incremental.states_recovered, incremental.states_checked);
      break;
  }
  ASSERT_EQ(findings_by_state[0].size(), scratch.states_checked);
  ASSERT_EQ(findings_by_state[1].size(), incremental.states_checked);
  for (const auto& [state, findings] : findings_by_state[0]) {
    const auto it = findings_by_state[1].find(state);
    ASSERT_TRUE(it != findings_by_state[1].end())
        << "point " << state.first << " state " << state.second;
    ASSERT_EQ(it->second, findings) << "point " << state.first << " state " << state.second;
  }
  auto without_recoveries = [](const ExploreResult& r) {
    nlohmann::json j = Everything(r);
    j.erase("states_recovered");
    return j;
  };
  EXPECT_EQ(without_recoveries(incremental), without_recoveries(scratch));
}

TEST(ExploreIncrementalTest, EveryStateOfExploreSmallAgreesWithScratchRecovery) {
  // Bound 64: every crash point of the workload (51), tears left out where they exceed the limit.
  ExpectIncrementalAgreesWithScratch(LoadCorrectedScenario("explore-small"), 64, Reuse::kMost);
}

TEST(ExploreIncrementalTest, EveryStateAgreesOnMutantsWithFindings) {
  Scenario target_mutant = LoadCorrectedScenario("explore-small");
  target_mutant.target.mutation = TargetMutation::kReleaseOriginBeforeCommit;
  ExpectIncrementalAgreesWithScratch(target_mutant, kBound, Reuse::kSome);
  Scenario store_mutant = LoadCorrectedScenario("explore-small");
  store_mutant.store.mutation = StoreMutation::kNoAreaFlush;
  ExpectIncrementalAgreesWithScratch(store_mutant, kBound, Reuse::kSome);
}

// The faithful store's findings on leftover COW data, latent read errors, 4 KiB chunks, a merge
// (reused only before it starts: the merging target moves data while the checks read), and
// several COWs (never reused).
TEST(ExploreIncrementalTest, EveryStateAgreesWithFindingsReadErrorsMergesAndSeveralSnapshots) {
  for (const char* name : {"garbage-cow", "io-errors", "merge-crash"}) {
    SCOPED_TRACE(name);
    ExpectIncrementalAgreesWithScratch(testing::LoadTestScenario(name), 16, Reuse::kSome);
  }
  Scenario chunks_4k = LoadCorrectedScenario("explore-small");
  chunks_4k.geometry.chunk_sectors = 8;
  chunks_4k.geometry.origin_sectors = 512;
  chunks_4k.geometry.cow_sectors = 512;
  ExpectIncrementalAgreesWithScratch(chunks_4k, kBound, Reuse::kMost);
  ExpectIncrementalAgreesWithScratch(testing::LoadTestScenario("explore-snapshots"), 16,
                                     Reuse::kNone);
}

TEST(ExploreWorkersTest, SplitOverWorkersTheResultIsTheSameAsInOneProcess) {
  // Half the bound of the other tests: 12 crash points still give every worker several.
  constexpr uint32_t kWorkersBound = kBound / 2;
  EXPECT_GT(ExpectWorkersChangeNothing(LoadCorrectedScenario("explore-small"), kWorkersBound)
                .states_checked,
            0u);
}

TEST(ExploreWorkersTest, FindingsAreTheFirstOnesWhateverWorkerFoundThem) {
  Scenario scenario = LoadCorrectedScenario("explore-small");
  scenario.store.mutation = StoreMutation::kNoAreaFlush;
  EXPECT_FALSE(ExpectWorkersChangeNothing(scenario, kBound).findings.empty());
}

TEST(ExploreWorkersTest, AWorkloadShorterThanTheBoundEndsAtTheSamePoint) {
  Scenario scenario = LoadCorrectedScenario("explore-small");
  scenario.workload.steps_per_cycle = 2;
  EXPECT_TRUE(ExpectWorkersChangeNothing(scenario, 1000).run_ended_before_bound);
}

}  // namespace
}  // namespace snapsim
