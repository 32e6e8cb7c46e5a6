// SPDX-License-Identifier: GPL-2.0-only
//
// The bounded-exhaustive explorer: it states its bound, checks real states, is clean on the
// corrected store, finds a mutation, and its pruning never hides a finding that the unpruned
// enumeration of the same crash points shows. Split over worker processes it gives the same
// result, findings and log as in one process.
#include "sim/run/explore.h"

#include <iostream>
#include <set>
#include <sstream>
#include <string>

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
