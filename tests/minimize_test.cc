// SPDX-License-Identifier: GPL-2.0-only
//
// The minimizer: a failing seed shrinks to a shorter case that replays to the same invariant,
// quickly, and survives a trip through a case file; a seed that does not fail is refused.
#include "sim/run/minimize.h"

#include <chrono>
#include <iostream>
#include <string>

#include "absl/strings/str_format.h"
#include "gtest/gtest.h"
#include "sim/run/replay_case.h"
#include "sim/run/run.h"
#include "tests/support/corrected_scenario.h"

namespace snapsim {
namespace {

// The faithful store fails table_well_formed on this seed (docs/findings.md).
constexpr uint64_t kFailingSeed = 3;
// A minimized case is meant to replay in well under a second; the assert leaves room for
// sanitizer builds and a loaded machine.
constexpr double kMaxReplaySeconds = 5.0;

using testing::LoadTestScenario;

bool FailsInvariant(const RunResult& r, const std::string& invariant) {
  for (const Finding& f : r.findings) {
    if (f.invariant == invariant) return true;
  }
  return false;
}

// One minimization shared by the tests below (it costs hundreds of runs).
const MinimizeResult& AreaBoundaryMinimized() {
  static const MinimizeResult* const kResult = [] {
    absl::StatusOr<MinimizeResult> r =
        Minimize(LoadTestScenario("area-boundary-reload"), kFailingSeed, MinimizeOptions{});
    EXPECT_TRUE(r.ok()) << r.status();
    return new MinimizeResult(r.ok() ? *r : MinimizeResult{});
  }();
  return *kResult;
}

TEST(MinimizeTest, FailingSeedShrinksToFewerStepsThatFailTheSameInvariant) {
  const Scenario scenario = LoadTestScenario("area-boundary-reload");
  const RunResult original = RunSeed(scenario, kFailingSeed);
  ASSERT_FALSE(original.findings.empty()) << "seed " << kFailingSeed << " no longer fails";
  const MinimizeResult& m = AreaBoundaryMinimized();
  const ReplayCase& c = m.replay_case;
  EXPECT_EQ(c.expected_invariant, original.findings[0].invariant);
  EXPECT_EQ(m.original_steps, StepsForSeed(scenario, kFailingSeed).size());
  EXPECT_LT(c.steps.size(), m.original_steps);
  EXPECT_GT(m.runs, 0u);
  EXPECT_EQ(c.seed, kFailingSeed);
  EXPECT_FALSE(c.scenario.swarm) << "the effective fault profile is fixed into the case";
  std::cout << absl::StrFormat("minimized %u steps to %u in %u runs, %u fault families off\n",
                               m.original_steps, c.steps.size(), m.runs, m.fault_families_removed);
}

TEST(MinimizeTest, MinimizedCaseReplaysToTheSameInvariantInUnderOneSecond) {
  const ReplayCase& c = AreaBoundaryMinimized().replay_case;
  const auto start = std::chrono::steady_clock::now();
  const RunResult r = RunSteps(c.scenario, c.seed, c.steps);
  const std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
  EXPECT_TRUE(FailsInvariant(r, c.expected_invariant)) << c.note;
  std::cout << absl::StrFormat("replay of %u steps took %.4f s\n", c.steps.size(), took.count());
  EXPECT_LT(took.count(), kMaxReplaySeconds);
}

TEST(MinimizeTest, MinimizedCaseIsOneMinimal) {
  const ReplayCase& c = AreaBoundaryMinimized().replay_case;
  for (size_t i = 0; i < c.steps.size(); ++i) {
    std::vector<Step> fewer = c.steps;
    fewer.erase(fewer.begin() + static_cast<ptrdiff_t>(i));
    EXPECT_FALSE(FailsInvariant(RunSteps(c.scenario, c.seed, fewer), c.expected_invariant))
        << "step " << i << " (" << StepKindName(c.steps[i].kind) << ") is not needed";
  }
}

TEST(MinimizeTest, MinimizedCaseRoundTripsThroughACaseFileAndStillFails) {
  const ReplayCase& c = AreaBoundaryMinimized().replay_case;
  const std::string path = ::testing::TempDir() + "/minimized.case.json";
  ASSERT_TRUE(SaveReplayCase(c, path).ok());
  absl::StatusOr<ReplayCase> loaded = LoadReplayCase(path);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(*loaded, c);
  const RunResult r = RunSteps(loaded->scenario, loaded->seed, loaded->steps);
  EXPECT_TRUE(FailsInvariant(r, c.expected_invariant));
  // The case records the trace hash it was minimized with, and the loaded case replays it.
  ASSERT_TRUE(loaded->trace_hash.has_value());
  EXPECT_EQ(*loaded->trace_hash, r.trace_hash);
  EXPECT_TRUE(CheckReplayHash(*loaded, r.trace_hash, path).ok());
}

TEST(MinimizeTest, CleanSeedIsRefusedWithFailedPrecondition) {
  Scenario scenario = LoadTestScenario("area-boundary-reload");
  scenario.store.skip_metadata_after_load = true;  // the correction: seed 3 no longer fails
  ASSERT_TRUE(RunSeed(scenario, kFailingSeed).findings.empty());
  absl::StatusOr<MinimizeResult> r = Minimize(scenario, kFailingSeed, MinimizeOptions{});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition) << r.status();
}

TEST(MinimizeTest, SeedThatFailsAnotherInvariantIsRefusedWithFailedPrecondition) {
  MinimizeOptions options;
  options.invariant = "liveness";
  absl::StatusOr<MinimizeResult> r =
      Minimize(LoadTestScenario("area-boundary-reload"), kFailingSeed, options);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition) << r.status();
}

}  // namespace
}  // namespace snapsim
