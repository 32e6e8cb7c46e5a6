// SPDX-License-Identifier: GPL-2.0-only
//
// Several snapshots of one origin in the simulator (issue 12): the make and remove steps, each
// further snapshot held to its own model after every crash, findings that name their snapshot,
// and a planted origin-side bug that only a further snapshot's checks can see.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "reports/timeline.h"
#include "sim/run/explore.h"
#include "sim/run/minimize.h"
#include "sim/run/run.h"
#include "sim/workload/scenario.h"
#include "sim/workload/workload.h"
#include "sim/workload/workload_generator.h"
#include "sim/world/prng.h"
#include "tests/support/corrected_scenario.h"

namespace snapsim {
namespace {

using testing::LoadCorrectedScenario;
using testing::LoadTestScenario;

std::vector<Step> Steps(const Scenario& scenario, uint64_t seed) {
  Prng prng = Prng(seed).Split("workload");
  return GenerateWorkload(scenario, prng);
}

// The first finding within the device contract over seeds 1..max_seeds.
std::optional<Finding> FirstFindingWithinContract(const Scenario& scenario, uint64_t max_seeds) {
  for (uint64_t seed = 1; seed <= max_seeds; ++seed) {
    for (const Finding& f : RunSeed(scenario, seed).findings) {
      if (f.contract == Contract::kWithin) return f;
    }
  }
  return std::nullopt;
}

TEST(SeveralSnapshotsTest, MakeAndRemoveStepsStandBeforeTheGeneratedStepsTheScenarioNames) {
  const Scenario scenario = LoadTestScenario("several-snapshots");
  ASSERT_EQ(scenario.further_snapshots.size(), 2u);
  const FurtherSnapshot& made_later = scenario.further_snapshots[1];
  ASSERT_GT(made_later.create_at_step, 0u);
  const std::vector<Step> steps = Steps(scenario, 7);
  size_t generated = 0;
  std::vector<std::pair<StepKind, size_t>> seen;  // (kind, generated steps before it)
  for (const Step& step : steps) {
    if (step.kind == StepKind::kMakeSnapshot || step.kind == StepKind::kRemoveSnapshot) {
      EXPECT_EQ(step.snapshot, 2u) << "snapshot 1 is made with the first: no step";
      seen.emplace_back(step.kind, generated);
      continue;
    }
    ++generated;
  }
  const std::vector<std::pair<StepKind, size_t>> expected = {
      {StepKind::kMakeSnapshot, made_later.create_at_step},
      {StepKind::kRemoveSnapshot, made_later.remove_at_step}};
  EXPECT_EQ(seen, expected);
  EXPECT_EQ(steps.size(), generated + 2);
  EXPECT_TRUE(ValidateSteps(scenario, steps).ok());

  // The one-snapshot scenarios' steps are what they were: no snapshot steps at all.
  for (const Step& step : Steps(LoadTestScenario("default"), 7)) {
    EXPECT_NE(step.kind, StepKind::kMakeSnapshot);
    EXPECT_NE(step.kind, StepKind::kRemoveSnapshot);
  }
}

TEST(SeveralSnapshotsTest, SnapshotStepsRoundTripThroughJsonAndNameAnExistingSnapshot) {
  Step make;
  make.kind = StepKind::kMakeSnapshot;
  make.snapshot = 2;
  const nlohmann::json j = make;
  EXPECT_EQ(j.dump(), R"({"kind":"snapshot_create","snapshot":2})");
  const Step back = j.get<Step>();
  EXPECT_EQ(back.kind, StepKind::kMakeSnapshot);
  EXPECT_EQ(back.snapshot, 2u);

  const Scenario scenario = LoadTestScenario("several-snapshots");
  for (uint32_t bad : {0u, 3u}) {
    Step remove;
    remove.kind = StepKind::kRemoveSnapshot;
    remove.snapshot = bad;
    const absl::Status s = ValidateSteps(scenario, std::vector<Step>{remove});
    EXPECT_FALSE(s.ok()) << bad;
    EXPECT_EQ(s.message(),
              absl::StrCat("steps[0] (snapshot_remove): snapshot must be a further snapshot of "
                           "the scenario, 1..2, got ",
                           bad));
  }
}

TEST(SeveralSnapshotsTest, EverySnapshotIsRecoveredAndCheckedAndTheRunReplays) {
  const Scenario scenario = LoadCorrectedScenario("several-snapshots");
  const Scenario alone = [&] {
    Scenario s = scenario;
    s.further_snapshots.clear();
    return s;
  }();
  for (uint64_t seed = 1; seed <= 3; ++seed) {
    const RunResult r = RunSeed(scenario, seed);
    EXPECT_EQ(r.outcome, "clean") << seed;
    EXPECT_EQ(r.snapshots, 3u);
    EXPECT_GT(r.crashes, 0u);
    EXPECT_EQ(r.recoveries, r.crashes) << "every crash is recovered from, all snapshots at once";
    EXPECT_EQ(RunSeed(scenario, seed).trace_hash, r.trace_hash) << "same seed, same trace";
    // The further snapshots' tables and images are checked too: more checks than the first's.
    const RunResult one = RunSeed(alone, seed);
    EXPECT_GT(r.verdicts.at("table_well_formed").checked,
              one.verdicts.at("table_well_formed").checked)
        << seed;
    EXPECT_GT(r.verdicts.at("origin_write_after_commit").checked,
              one.verdicts.at("origin_write_after_commit").checked)
        << seed;
  }
}

// A planted origin-side bug: an origin write held on the first snapshot's exception goes to the
// origin device once that exception completes, without asking the other snapshots again. With
// the first snapshot's chunks the largest it is first in the origin's list (largest chunk first),
// so its own checks see nothing wrong; only the further snapshots' checks can.
TEST(SeveralSnapshotsTest, AnOriginWriteCopiedIntoOneSnapshotOnlyIsCaughtOnTheOnesItMissed) {
  Scenario scenario = LoadCorrectedScenario("several-snapshots");
  scenario.geometry.chunk_sectors = 32;
  scenario.geometry.cow_sectors = scenario.geometry.origin_sectors * 2;  // never overflows
  scenario.target.mutation = TargetMutation::kRetrySkipsOtherSnapshots;
  ASSERT_TRUE(ValidateScenario(scenario).ok());
  const std::optional<Finding> found = FirstFindingWithinContract(scenario, 8);
  ASSERT_TRUE(found.has_value()) << "the planted origin bug survived seeds 1..8";
  EXPECT_GE(found->snapshot, 1u) << found->invariant << ": " << found->actual;

  scenario.target.mutation = TargetMutation::kNone;
  EXPECT_FALSE(FirstFindingWithinContract(scenario, 8).has_value()) << "unmutated: clean";
}

TEST(SeveralSnapshotsTest, OneSnapshotOverflowsWhileTheOthersCarryOnClean) {
  const Scenario scenario = LoadCorrectedScenario("snapshot-overflow");
  uint64_t invalidations_checked = 0;
  for (uint64_t seed = 1; seed <= 4; ++seed) {
    const RunResult r = RunSeed(scenario, seed);
    EXPECT_EQ(r.outcome, "clean") << seed;
    invalidations_checked += r.verdicts.at("invalidation_has_cause").checked;
  }
  EXPECT_GT(invalidations_checked, 0u) << "the small snapshot overflowed and was judged";
}

// Finding 2 (an invalidation written without FLUSH|FUA is lost at a crash) holds as well when
// other snapshots of the origin stay valid, and the finding names the snapshot that overflowed.
TEST(SeveralSnapshotsTest, TheLostInvalidationOfTheFaithfulStoreNamesTheOverflowedSnapshot) {
  const Scenario scenario = LoadTestScenario("snapshot-overflow");
  const std::optional<Finding> found = FirstFindingWithinContract(scenario, 20);
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->invariant, "valid_flag_sticky");
  EXPECT_EQ(found->snapshot, 1u);
}

TEST(SeveralSnapshotsTest, TheTraceAndTheTimelineShowEveryCowDevice) {
  std::ostringstream trace;
  RunOptions options;
  options.trace_out = &trace;
  RunSeed(LoadCorrectedScenario("several-snapshots"), 1, options);
  const Timeline timeline = ParseTrace(trace.str());
  for (const char* device : {"origin", "cow", "cow-1", "cow-2"}) {
    EXPECT_NE(std::find(timeline.devices.begin(), timeline.devices.end(), device),
              timeline.devices.end())
        << device;
  }
  EXPECT_NE(RenderTimelineSvg(timeline).find(">cow-2</text>"), std::string::npos)
      << "a lane for the COW of the snapshot made mid-run";
}

// The first snapshot merges while the others stay: every merge step makes the others copy the
// chunks it overwrites first, and each of them is checked during and after the merge.
TEST(SeveralSnapshotsTest, TheFirstSnapshotMergesWhileTheOthersStayAndHold) {
  const Scenario scenario = LoadCorrectedScenario("merge-beside-snapshots");
  uint64_t merge_checks = 0;
  for (uint64_t seed = 1; seed <= 4; ++seed) {
    const RunResult r = RunSeed(scenario, seed);
    EXPECT_EQ(r.outcome, "clean") << seed << ": "
                                  << (r.findings.empty() ? "" : r.findings.front().actual);
    merge_checks += r.verdicts.at("merge_image").checked;
  }
  EXPECT_GT(merge_checks, 0u) << "no merge ran in seeds 1..4";
}

// Snapshot reads, writes and FLUSHes go to every snapshot that exists at their step, never to one
// that does not.
TEST(SeveralSnapshotsTest, SnapshotIoGoesToEverySnapshotThatExistsAtItsStep) {
  const Scenario scenario = LoadTestScenario("several-snapshots");
  std::vector<uint64_t> writes_to(scenario.SnapshotCount(), 0);
  for (uint64_t seed = 1; seed <= 4; ++seed) {
    std::vector<bool> exists(scenario.SnapshotCount(), false);
    exists[0] = true;
    for (size_t i = 0; i < scenario.further_snapshots.size(); ++i) {
      exists[i + 1] = scenario.further_snapshots[i].create_at_step == 0;
    }
    const std::vector<Step> steps = Steps(scenario, seed);
    ASSERT_TRUE(ValidateSteps(scenario, steps).ok());
    for (const Step& step : steps) {
      if (step.kind == StepKind::kMakeSnapshot) exists[step.snapshot] = true;
      if (step.kind == StepKind::kRemoveSnapshot) exists[step.snapshot] = false;
      if (step.kind == StepKind::kSnapshotWrite || step.kind == StepKind::kSnapshotRead ||
          step.kind == StepKind::kSnapshotFlush) {
        ASSERT_LT(step.snapshot, exists.size());
        EXPECT_TRUE(exists[step.snapshot])
            << "seed " << seed << ": I/O to absent snapshot " << step.snapshot;
        if (step.kind == StepKind::kSnapshotWrite) ++writes_to[step.snapshot];
      } else if (!IsSnapshotStep(step.kind)) {
        EXPECT_EQ(step.snapshot, 0u) << StepKindName(step.kind);
      }
    }
  }
  for (size_t i = 0; i < writes_to.size(); ++i) EXPECT_GT(writes_to[i], 0u) << "snapshot " << i;
}

// A write through a further snapshot lands in its own model: after a crash, recovery reads it
// back from that snapshot, and a FLUSH of that snapshot made it durable there.
TEST(SeveralSnapshotsTest, AWriteThroughAFurtherSnapshotIsHeldToThatSnapshotsModel) {
  const Scenario scenario = LoadCorrectedScenario("several-snapshots");
  std::vector<Step> steps;
  auto add = [&steps](StepKind kind, sector_t sector, uint32_t count, uint32_t snapshot) {
    Step step;
    step.kind = kind;
    step.sector = sector;
    step.count = count;
    step.snapshot = snapshot;
    steps.push_back(step);
  };
  add(StepKind::kSnapshotWrite, 64, 16, 1);
  add(StepKind::kOriginWrite, 64, 8, 0);
  add(StepKind::kSnapshotFlush, 0, 0, 1);
  add(StepKind::kOriginFlush, 0, 0, 0);
  add(StepKind::kSnapshotRead, 64, 16, 1);
  add(StepKind::kCrash, 0, 0, 0);
  add(StepKind::kSnapshotRead, 64, 16, 1);
  ASSERT_TRUE(ValidateSteps(scenario, steps).ok());
  const RunResult r = RunSteps(scenario, 1, steps);
  EXPECT_EQ(r.outcome, "clean") << (r.findings.empty() ? "" : r.findings.front().actual);
  EXPECT_EQ(r.crashes, 1u);
  EXPECT_GT(r.verdicts.at("snapshot_image").checked, 0u);

  // A snapshot index the scenario does not have is refused before the run.
  steps.front().snapshot = 3;
  EXPECT_FALSE(ValidateSteps(scenario, steps).ok());
}

// The explorer's crash states are a choice on every device at once: the origin and each COW.
TEST(SeveralSnapshotsTest, TheExplorerChecksEveryCrashStateOfEveryCowUpToTheBound) {
  const Scenario scenario = LoadCorrectedScenario("explore-snapshots");
  ASSERT_EQ(scenario.SnapshotCount(), 3u);
  ExploreOptions options;
  options.seed = 1;
  options.bound = 64;
  const ExploreResult result = Explore(scenario, options);
  EXPECT_TRUE(result.findings.empty())
      << result.findings.front().invariant << ": " << result.findings.front().actual;
  EXPECT_EQ(result.crash_points, 64u);
  EXPECT_EQ(result.points_over_bound, 0u) << "no crash point skipped";
  EXPECT_GT(result.states_checked, 1000u);
  EXPECT_GT(result.verdicts.at("exception_data_intact").checked, 0u);
}

// The planted origin-side bug (above) in the explorer: whichever snapshot the held write skipped
// shows it, and the finding's crash state replays alone.
TEST(SeveralSnapshotsTest, TheExplorerFindsTheBugPlantedOnTheOriginSide) {
  Scenario scenario = LoadCorrectedScenario("explore-snapshots");
  scenario.target.mutation = TargetMutation::kRetrySkipsOtherSnapshots;
  ExploreOptions options;
  options.seed = 1;
  options.bound = 64;
  options.replay_prefix = "snapsim explore --scenario explore-snapshots";
  const ExploreResult result = Explore(scenario, options);
  ASSERT_FALSE(result.findings.empty()) << "the planted origin bug survived every crash state";
  const Finding& found = result.findings.front();

  // Its replay command names one crash point and state; exploring only that state finds it again.
  ExploreOptions again = options;
  const size_t at = found.replay_command.find("--crash-point ");
  ASSERT_NE(at, std::string::npos) << found.replay_command;
  uint32_t point = 0;
  uint64_t state = 0;
  ASSERT_EQ(std::sscanf(found.replay_command.c_str() + at, "--crash-point %u --state %lu", &point,
                        &state),
            2)
      << found.replay_command;
  again.only_point = point;
  again.only_state = state;
  const ExploreResult replayed = Explore(scenario, again);
  ASSERT_FALSE(replayed.findings.empty()) << found.replay_command;
  EXPECT_EQ(replayed.findings.front().invariant, found.invariant);
}

// A crash trigger fires on a further snapshot's COW as well: the power cut can come inside
// another snapshot's commit, not only the first's.
TEST(SeveralSnapshotsTest, RandomCrashesLandInsideTheFurtherSnapshotsCommits) {
  const Scenario scenario = LoadCorrectedScenario("several-snapshots");
  bool on_further_cow = false;
  for (uint64_t seed = 1; seed <= 20 && !on_further_cow; ++seed) {
    std::ostringstream trace;
    RunOptions options;
    options.trace_out = &trace;
    RunSeed(scenario, seed, options);
    on_further_cow = trace.str().find(" of cow-") != std::string::npos;
  }
  EXPECT_TRUE(on_further_cow) << "no crash fired at a further COW's write in seeds 1..20";
}

// Minimizing keeps the failure on the snapshot it was found on, not the invariant on any one.
TEST(SeveralSnapshotsTest, MinimizingKeepsTheSnapshotThatFailed) {
  const Scenario scenario = LoadTestScenario("snapshot-overflow");
  const std::optional<Finding> found = FirstFindingWithinContract(scenario, 20);
  ASSERT_TRUE(found.has_value());
  ASSERT_EQ(found->snapshot, 1u) << found->invariant;
  MinimizeOptions options;
  options.invariant = found->invariant;
  const absl::StatusOr<MinimizeResult> minimized = Minimize(scenario, found->seed, options);
  ASSERT_TRUE(minimized.ok()) << minimized.status();
  const ReplayCase& replay = minimized->replay_case;
  EXPECT_LT(replay.steps.size(), minimized->original_steps);
  EXPECT_NE(replay.note.find(absl::StrCat(found->invariant, " on snapshot 1")), std::string::npos)
      << replay.note;
  const RunResult r = RunSteps(replay.scenario, replay.seed, replay.steps);
  EXPECT_TRUE(std::any_of(r.findings.begin(), r.findings.end(), [&](const Finding& f) {
    return f.invariant == found->invariant && f.snapshot == 1;
  }));
}

}  // namespace
}  // namespace snapsim
