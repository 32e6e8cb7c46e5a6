// SPDX-License-Identifier: GPL-2.0-only
//
// invalidation_has_cause (sim/check/invalidation_cause.h): an invalidation is a finding unless
// the run shows its reason, and the target's own log line names the reason.
#include "sim/check/invalidation_cause.h"

#include <optional>

#include "gtest/gtest.h"
#include "sim/check/invariants.h"
#include "sim/run/run.h"
#include "tests/support/corrected_scenario.h"

namespace snapsim {
namespace {

Verdicts Quiet() {
  return Verdicts([](Finding&) {});
}

InvalidationEvidence Evidence(uint64_t written, uint64_t capacity) {
  InvalidationEvidence e;
  e.distinct_chunks_written = written;
  e.cow_data_chunks = capacity;
  return e;
}

TEST(InvalidationReasonTest, TheTargetsTwoLogLinesNameTheirReasons) {
  EXPECT_EQ(InvalidationReasonOf(
                "device-mapper: snapshots: Invalidating snapshot: Unable to allocate exception."),
            InvalidationReason::kOutOfSpace);
  EXPECT_EQ(InvalidationReasonOf(
                "device-mapper: snapshots: Invalidating snapshot: Error reading/writing."),
            InvalidationReason::kIoError);
  EXPECT_EQ(InvalidationReasonOf("device-mapper: snapshots: Snapshot is marked invalid."),
            std::nullopt);
}

TEST(InvalidationCauseTest, OutOfSpaceIsEarnedOnlyByOneChunkMoreThanTheCowHolds) {
  Verdicts full = Quiet();
  CheckInvalidationCause(InvalidationReason::kOutOfSpace, Evidence(101, 100), full);
  EXPECT_TRUE(full.findings().empty());
  EXPECT_EQ(full.counts().at("invalidation_has_cause").checked, 1u);

  Verdicts early = Quiet();
  CheckInvalidationCause(InvalidationReason::kOutOfSpace, Evidence(100, 100), early);
  ASSERT_EQ(early.findings().size(), 1u);
  EXPECT_EQ(early.findings()[0].invariant, "invalidation_has_cause");
  EXPECT_EQ(early.findings()[0].actual,
            "invalidated as out of space after 100 distinct chunks written, with 100 data "
            "chunks on the COW");
}

TEST(InvalidationCauseTest, AMergeGivesChunksBackSoSpaceIsNotJudgedAfterIt) {
  Verdicts v = Quiet();
  InvalidationEvidence e = Evidence(3, 100);
  e.space_rule_applies = false;
  CheckInvalidationCause(InvalidationReason::kOutOfSpace, e, v);
  EXPECT_TRUE(v.findings().empty());
  EXPECT_TRUE(v.counts().empty());
}

TEST(InvalidationCauseTest, AnIoErrorInvalidationNeedsAnInjectedFaultSinceActivation) {
  Verdicts with_fault = Quiet();
  InvalidationEvidence e;
  e.error_faults_since_activation = 1;
  CheckInvalidationCause(InvalidationReason::kIoError, e, with_fault);
  EXPECT_TRUE(with_fault.findings().empty());

  Verdicts without = Quiet();
  e.error_faults_since_activation = 0;
  CheckInvalidationCause(InvalidationReason::kIoError, e, without);
  ASSERT_EQ(without.findings().size(), 1u);
  EXPECT_EQ(without.findings()[0].severity, FindingSeverity::kError);
}

TEST(InvalidationCauseTest, OnlyErrorInjectingProbesCountAsFaults) {
  Probes probes;
  probes.Bump(Probe::kSchedReorderedCompletion, 5);
  probes.Bump(Probe::kCrashWriteDropped, 3);
  EXPECT_EQ(ErrorFaultsFired(probes), 0u);
  probes.Bump(Probe::kIoWriteEio);
  probes.Bump(Probe::kFiuChunkIo, 2);
  EXPECT_EQ(ErrorFaultsFired(probes), 3u);
}

// The corrected store overflows its COW in overflow-invalidation: every invalidation is judged,
// and every one is earned.
TEST(InvalidationCauseTest, TheCorrectedStoresOverflowsAreAllEarned) {
  const Scenario scenario = testing::LoadCorrectedScenario("overflow-invalidation");
  uint64_t judged = 0;
  for (uint64_t seed = 1; seed <= 8; ++seed) {
    const RunResult r = RunSeed(scenario, seed);
    auto it = r.verdicts.find("invalidation_has_cause");
    if (it == r.verdicts.end()) continue;
    judged += it->second.checked;
    EXPECT_EQ(it->second.failed, 0u) << "seed " << seed;
  }
  EXPECT_GE(judged, 4u);
}

// A store that reports the COW full one chunk early invalidates a snapshot whose writes fit.
TEST(InvalidationCauseTest, AStoreFullOneChunkEarlyIsCaught) {
  Scenario scenario = testing::LoadCorrectedScenario("overflow-invalidation");
  scenario.store.mutation = StoreMutation::kEarlyOutOfSpace;
  const RunResult r = RunSeed(scenario, 1);
  ASSERT_FALSE(r.findings.empty());
  EXPECT_EQ(r.findings[0].invariant, "invalidation_has_cause");
  EXPECT_EQ(r.findings[0].contract, Contract::kWithin);
}

}  // namespace
}  // namespace snapsim
