// SPDX-License-Identifier: GPL-2.0-only
//
// Mutation testing: the checker is sharp. Each deliberately broken store or target variant runs
// on the corrected store (every corrected option on, so the faithful store's known findings
// cannot show) and must be caught, within the device contract, within kMaxSeedsToCatch seeds.
// The unmutated corrected store over the same scenarios and seeds is clean, so what is caught is
// the mutation and not noise. docs/checker.md records which invariant caught each one.
#include <cstdint>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "sim/run/run.h"
#include "sim/workload/scenario.h"
#include "tests/support/corrected_scenario.h"

namespace snapsim {
namespace {

// Seeds 1..kMaxSeedsToCatch are tried; a mutation not caught by then fails the test.
constexpr uint64_t kMaxSeedsToCatch = 32;

using testing::LoadCorrectedScenario;

struct Caught {
  uint64_t seed = 0;
  Finding finding;
};

// The first seed in 1..max_seeds whose run reports a finding within the device contract.
std::optional<Caught> FirstFindingWithinContract(const Scenario& scenario, uint64_t max_seeds) {
  for (uint64_t seed = 1; seed <= max_seeds; ++seed) {
    RunResult r = RunSeed(scenario, seed);
    for (const Finding& f : r.findings) {
      if (f.contract == Contract::kWithin) return Caught{seed, f};
    }
  }
  return std::nullopt;
}

struct MutationCase {
  std::string label;     // test name suffix
  std::string scenario;  // scenarios/<name>.toml, run with the corrected options
  StoreMutation store_mutation = StoreMutation::kNone;
  TargetMutation target_mutation = TargetMutation::kNone;
};

// gtest prints parameters in ctest names: a readable one, not the struct's bytes.
void PrintTo(const MutationCase& c, std::ostream* os) { *os << c.label; }

Scenario Mutated(const MutationCase& c) {
  Scenario s = LoadCorrectedScenario(c.scenario);
  s.store.mutation = c.store_mutation;
  s.target.mutation = c.target_mutation;
  return s;
}

const std::vector<MutationCase>& MutationCases() {
  static const std::vector<MutationCase> kCases = {
      {"NoAreaFlush", "default", StoreMutation::kNoAreaFlush, TargetMutation::kNone},
      {"NoNextAreaZeroing", "garbage-cow", StoreMutation::kNoNextAreaZeroing,
       TargetMutation::kNone},
      {"ReleaseOriginBeforeCommit", "default", StoreMutation::kNone,
       TargetMutation::kReleaseOriginBeforeCommit},
      {"RecycleCopyBufferEarly", "default", StoreMutation::kNone,
       TargetMutation::kRecycleCopyBufferEarly},
      {"NoAreaSkip", "many-areas", StoreMutation::kNoAreaSkip, TargetMutation::kNone},
      {"CallbacksBeforeAreaWrite", "default", StoreMutation::kCallbacksBeforeAreaWrite,
       TargetMutation::kNone},
      {"EarlyOutOfSpace", "overflow-invalidation", StoreMutation::kEarlyOutOfSpace,
       TargetMutation::kNone},
      {"NextFreeAtLastLoaded", "default", StoreMutation::kNextFreeAtLastLoaded,
       TargetMutation::kNone},
      {"InvalidationNotWritten", "overflow-invalidation", StoreMutation::kInvalidationNotWritten,
       TargetMutation::kNone},
      {"MergeRunOneTooLong", "merge-crash", StoreMutation::kMergeRunOneTooLong,
       TargetMutation::kNone},
      {"MergeKeepsSlots", "merge-crash", StoreMutation::kMergeKeepsSlots, TargetMutation::kNone},
      {"LoadFirstAreaOnly", "many-areas", StoreMutation::kLoadFirstAreaOnly, TargetMutation::kNone},
      {"IgnoreCopyReadError", "io-errors", StoreMutation::kNone,
       TargetMutation::kIgnoreCopyReadError},
      {"AreaWriteErrorIgnored", "cow-write-errors", StoreMutation::kAreaWriteErrorIgnored,
       TargetMutation::kNone},
      {"IgnoreCopyWriteError", "cow-write-errors", StoreMutation::kNone,
       TargetMutation::kIgnoreCopyWriteError},
      {"NoWaitForTrackedReads", "slow-io", StoreMutation::kNone,
       TargetMutation::kNoWaitForTrackedReads},
      {"RetrySkipsOtherSnapshots", "several-snapshots", StoreMutation::kNone,
       TargetMutation::kRetrySkipsOtherSnapshots},
      {"MergeSkipsOtherSnapshots", "merge-beside-snapshots", StoreMutation::kNone,
       TargetMutation::kMergeSkipsOtherSnapshots},
  };
  return kCases;
}

class MutationTest : public ::testing::TestWithParam<MutationCase> {};

TEST_P(MutationTest, BrokenVariantIsCaughtWithinTheSeedBound) {
  const MutationCase& c = GetParam();
  std::optional<Caught> caught = FirstFindingWithinContract(Mutated(c), kMaxSeedsToCatch);
  ASSERT_TRUE(caught.has_value()) << c.label << " on " << c.scenario << " survived seeds 1.."
                                  << kMaxSeedsToCatch;
  std::cout << absl::StrFormat("mutation %s on %s: caught by %s at seed %u (%s)\n", c.label,
                               c.scenario, caught->finding.invariant, caught->seed,
                               caught->finding.crash_point);
}

// A mutant that writes slots past the end of the area buffer: an assertion names the broken
// promise (file:line and condition) as a finding of its own kind, in every build type.
TEST(AssertionMutationTest, OverfilledAreaIsAnAssertionFindingWithItsLocation) {
  MutationCase c{"OverfillArea", "concurrency-burst", StoreMutation::kOverfillArea,
                 TargetMutation::kNone};
  std::optional<Caught> caught = FirstFindingWithinContract(Mutated(c), kMaxSeedsToCatch);
  ASSERT_TRUE(caught.has_value()) << "the overfilled area survived seeds 1.." << kMaxSeedsToCatch;
  EXPECT_EQ(caught->finding.invariant, "assertions_hold") << caught->finding.detail;
  EXPECT_THAT(caught->finding.actual, ::testing::StartsWith("core/persistent_store.cc:"));
  EXPECT_THAT(caught->finding.actual,
              ::testing::HasSubstr("Assertion `index < exceptions_per_area_' failed"));
  EXPECT_THAT(caught->finding.replay_command, ::testing::HasSubstr("--seed"));
  std::cout << absl::StrFormat("mutation OverfillArea: %s at seed %u\n", caught->finding.actual,
                               caught->seed);
}

INSTANTIATE_TEST_SUITE_P(Mutations, MutationTest, ::testing::ValuesIn(MutationCases()),
                         [](const ::testing::TestParamInfo<MutationCase>& info) {
                           return info.param.label;
                         });

// Every scenario a mutation case uses, unmutated: clean over the same seeds.
class UnmutatedTest : public ::testing::TestWithParam<std::string> {};

TEST_P(UnmutatedTest, CorrectedStoreIsCleanOverTheSameSeeds) {
  std::optional<Caught> caught =
      FirstFindingWithinContract(LoadCorrectedScenario(GetParam()), kMaxSeedsToCatch);
  EXPECT_FALSE(caught.has_value()) << "corrected store fails " << caught->finding.invariant
                                   << " at seed " << caught->seed << ": " << caught->finding.detail;
}

INSTANTIATE_TEST_SUITE_P(Scenarios, UnmutatedTest,
                         ::testing::Values("default", "garbage-cow", "many-areas",
                                           "overflow-invalidation", "merge-crash", "io-errors",
                                           "cow-write-errors", "slow-io", "several-snapshots"),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           return testing::TestNameOf(info.param);
                         });

}  // namespace
}  // namespace snapsim
