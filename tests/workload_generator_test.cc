// SPDX-License-Identifier: GPL-2.0-only
#include "sim/workload/workload_generator.h"

#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/bio_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
// rapidcheck's gtest glue needs gtest first.
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include "sim/workload/scenario_toml.h"
#include "tests/support/test_paths.h"

namespace snapsim {
namespace {

Scenario Small() {
  Scenario s;
  s.name = "small";
  s.description = "test";
  s.geometry.chunk_sectors = 8;
  s.geometry.origin_sectors = 1024;
  s.geometry.cow_sectors = 1024;
  s.workload.steps_per_cycle = 200;
  s.workload.cycles = 3;
  EXPECT_TRUE(ValidateScenario(s).ok()) << ValidateScenario(s);
  return s;
}

std::vector<Step> Generate(const Scenario& s, uint64_t seed) {
  Prng prng(seed);
  return GenerateWorkload(s, prng);
}

// Every rule of the generator's contract, checked from the steps alone. "" when all hold, else
// the first broken rule.
std::string BrokenRule(const Scenario& s, const std::vector<Step>& all_steps) {
  // The further snapshots' make and remove steps stand between the generated ones
  // (several_snapshots_test.cc checks where); the rules below are the generated steps'.
  std::vector<Step> steps;
  for (const Step& step : all_steps) {
    if (step.kind != StepKind::kMakeSnapshot && step.kind != StepKind::kRemoveSnapshot) {
      steps.push_back(step);
    }
  }
  const uint64_t b = IoBlockSectors(s.geometry);
  const sector_t end = s.geometry.origin_sectors;
  const WorkloadSpec& w = s.workload;
  const size_t crashes = s.CrashCount();
  if (steps.size() != size_t{w.steps_per_cycle} * w.cycles + crashes) return "step count";
  if (steps.size() > kMaxStepsPerRun) return "kMaxStepsPerRun";
  // The first `crashes` cycles are steps_per_cycle + 1 long with exactly one crash: at the end,
  // or anywhere when crash.anywhere allows it; the others have none.
  const size_t cycle_length = w.steps_per_cycle + 1;
  for (size_t i = 0; i < steps.size(); ++i) {
    const bool crash = steps[i].kind == StepKind::kCrash;
    const std::string at = absl::StrCat("step ", i, " (", StepKindName(steps[i].kind), "): ");
    if (i >= crashes * cycle_length) {
      if (crash) return at + "crash placement";
      continue;
    }
    if (s.crash.anywhere.never() && crash != (i % cycle_length == w.steps_per_cycle)) {
      return at + "crash placement";
    }
    if (i % cycle_length == 0) {
      size_t in_cycle = 0;
      for (size_t j = i; j < i + cycle_length; ++j) in_cycle += steps[j].kind == StepKind::kCrash;
      if (in_cycle != 1) return at + "crash placement (one per cycle)";
    }
  }
  bool merge_started = false;
  for (size_t i = 0; i < steps.size(); ++i) {
    const Step& step = steps[i];
    const std::string at = absl::StrCat("step ", i, " (", StepKindName(step.kind), "): ");
    if (step.delay_ns < w.think_min_ns || step.delay_ns > w.think_max_ns) return at + "delay";
    if (step.kind == StepKind::kCrash) {
      const size_t t = static_cast<size_t>(step.trigger);
      if (t >= kNumCrashTriggers || s.crash.trigger_weights[t] == 0) return at + "trigger weight";
      if (step.trigger == CrashTrigger::kAfterEvents) {
        if (step.count < s.crash.events_min || step.count > s.crash.events_max) {
          return at + "event count";
        }
      } else if (step.count != 0) {
        return at + "count on a non-event trigger";
      }
    }
    if (step.kind == StepKind::kStartMerge) {
      if (merge_started) return at + "second merge start";
      merge_started = true;
    }
    if (step.kind == StepKind::kMergeInterrupt && !merge_started) {
      return at + "interrupt without merge";
    }
    if (!IsIo(step.kind)) continue;
    if (step.count == 0 || step.count > kMaxBioSectors) return at + "length";
    if (step.sector + step.count > end) return at + "past the device end";
    if (step.sector % b != 0 || step.count % b != 0) return at + "logical block alignment";
  }
  return "";
}

enum class ShapeSeen { kPartial, kWhole, kSpanning, kOther };

ShapeSeen ShapeOf(const Step& step, uint64_t c, sector_t end) {
  const uint64_t first = step.sector / c;
  const uint64_t last = (step.sector + step.count - 1) / c;
  if (first != last) return ShapeSeen::kSpanning;
  const uint64_t extent = std::min<uint64_t>(c, end - first * c);
  if (step.sector == first * c && step.count == extent) return ShapeSeen::kWhole;
  return ShapeSeen::kPartial;
}

TEST(WorkloadGenerator, SameScenarioAndSeedGiveTheSameSteps) {
  const Scenario s = Small();
  const nlohmann::json a = Generate(s, 42);
  const nlohmann::json b = Generate(s, 42);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, nlohmann::json(Generate(s, 43)));
}

TEST(WorkloadGenerator, DrawsOnlyFromThePrngItIsGiven) {
  const Scenario s = Small();
  Prng prng(7);
  GenerateWorkload(s, prng);
  Prng fresh(7);
  GenerateWorkload(s, fresh);
  EXPECT_EQ(prng.Next(), fresh.Next()) << "the stream advanced the same way";
}

TEST(WorkloadGenerator, EachCycleEndsWithOneCrash) {
  const Scenario s = Small();
  const std::vector<Step> steps = Generate(s, 1);
  ASSERT_EQ(steps.size(), 3u * 201u);
  for (size_t cycle = 0; cycle < 3; ++cycle) {
    EXPECT_EQ(steps[cycle * 201 + 200].kind, StepKind::kCrash);
  }
  EXPECT_EQ(BrokenRule(s, steps), "");
}

TEST(WorkloadGenerator, LastCycleHasNoCrashWhenThePolicySaysSo) {
  Scenario s = Small();
  s.crash.end_with_crash = false;
  const std::vector<Step> steps = Generate(s, 1);
  ASSERT_EQ(steps.size(), 3u * 200u + 2u);
  EXPECT_NE(steps.back().kind, StepKind::kCrash);
  EXPECT_EQ(BrokenRule(s, steps), "");
}

TEST(WorkloadGenerator, CrashAnywhereLandsAtEveryPositionOfItsCycleTheFirstIncluded) {
  Scenario s = Small();
  s.workload.steps_per_cycle = 3;
  s.workload.cycles = 60;
  s.crash.anywhere = Ratio{1, 1};
  const std::vector<Step> steps = Generate(s, 5);
  std::array<int, 4> at{};  // crash position within its cycle of 4 steps
  for (size_t i = 0; i < steps.size(); ++i) {
    if (steps[i].kind == StepKind::kCrash) ++at[i % 4];
  }
  for (int count : at) EXPECT_GT(count, 0);
  EXPECT_EQ(BrokenRule(s, steps), "");
  // Without it, the same seed draws the same steps as ever: the crash closes each cycle.
  s.crash.anywhere = kNever;
  const std::vector<Step> at_end = Generate(s, 5);
  for (size_t i = 0; i < at_end.size(); ++i) {
    EXPECT_EQ(at_end[i].kind == StepKind::kCrash, i % 4 == 3) << i;
  }
}

TEST(WorkloadGenerator, CrashTriggersFollowTheirWeights) {
  Scenario s = Small();
  s.workload.steps_per_cycle = 1;
  s.workload.cycles = 100;
  s.crash.trigger_weights = {1, 0, 0, 1, 0, 1, 0};
  s.crash.events_min = 5;
  s.crash.events_max = 9;
  std::array<int, kNumCrashTriggers> seen{};
  for (const Step& step : Generate(s, 3)) {
    if (step.kind == StepKind::kCrash) ++seen[static_cast<size_t>(step.trigger)];
  }
  EXPECT_GT(seen[0], 0);
  EXPECT_GT(seen[3], 0);
  EXPECT_GT(seen[5], 0);
  EXPECT_EQ(seen[1] + seen[2] + seen[4], 0);
  EXPECT_EQ(BrokenRule(s, Generate(s, 3)), "");
}

Scenario OnlyOriginWrites(uint32_t partial, uint32_t whole, uint32_t spanning) {
  Scenario s = Small();
  s.workload.ops = OpWeights{1, 0, 0, 0, 0, 0, 0, 0, 0, 0};
  s.workload.shapes = ShapeWeights{partial, whole, spanning};
  return s;
}

TEST(WorkloadGenerator, PartialChunkWritesStayInsideOneChunkAndAreShorter) {
  const Scenario s = OnlyOriginWrites(1, 0, 0);
  int writes = 0;
  for (const Step& step : Generate(s, 5)) {
    if (step.kind != StepKind::kOriginWrite) continue;
    ++writes;
    EXPECT_EQ(ShapeOf(step, 8, 1024), ShapeSeen::kPartial) << step.sector << "+" << step.count;
    EXPECT_LT(step.count, 8u);
  }
  EXPECT_EQ(writes, 600);
}

TEST(WorkloadGenerator, WholeChunkWritesAreAlignedChunks) {
  const Scenario s = OnlyOriginWrites(0, 1, 0);
  for (const Step& step : Generate(s, 5)) {
    if (step.kind != StepKind::kOriginWrite) continue;
    EXPECT_EQ(step.sector % 8, 0u);
    EXPECT_EQ(step.count, 8u);
  }
}

TEST(WorkloadGenerator, SpanningWritesCrossAChunkBoundary) {
  const Scenario s = OnlyOriginWrites(0, 0, 1);
  for (const Step& step : Generate(s, 5)) {
    if (step.kind != StepKind::kOriginWrite) continue;
    EXPECT_EQ(ShapeOf(step, 8, 1024), ShapeSeen::kSpanning) << step.sector << "+" << step.count;
  }
}

TEST(WorkloadGenerator, LastShortChunkIsWrittenWholeWithinTheDevice) {
  Scenario s = OnlyOriginWrites(0, 1, 0);
  s.geometry.origin_sectors = 8 * 3 + 4;  // three chunks and half a chunk
  s.workload.pattern = AccessPattern::kSequential;
  ASSERT_TRUE(ValidateScenario(s).ok());
  const std::vector<Step> steps = Generate(s, 2);
  EXPECT_EQ(steps[3].sector, 24u);
  EXPECT_EQ(steps[3].count, 4u);
  EXPECT_EQ(steps[4].sector, 0u) << "the sequential cursor wraps";
  EXPECT_EQ(BrokenRule(s, steps), "");
}

TEST(WorkloadGenerator, OneBlockChunksFallBackToWholeChunks) {
  Scenario s = OnlyOriginWrites(1, 0, 0);
  s.geometry.chunk_sectors = 1;
  for (const Step& step : Generate(s, 9)) {
    if (step.kind == StepKind::kOriginWrite) {
      EXPECT_EQ(step.count, 1u);
    }
  }
}

TEST(WorkloadGenerator, IoIsAlignedToTheLargerLogicalBlock) {
  Scenario s = Small();
  s.geometry.chunk_sectors = 32;
  s.geometry.cow_block_bytes = 4096;
  ASSERT_TRUE(ValidateScenario(s).ok());
  const std::vector<Step> steps = Generate(s, 11);
  EXPECT_EQ(BrokenRule(s, steps), "");
  bool saw_partial = false;
  for (const Step& step : steps) {
    if (IsIo(step.kind) && ShapeOf(step, 32, 1024) == ShapeSeen::kPartial) saw_partial = true;
  }
  EXPECT_TRUE(saw_partial);
}

TEST(WorkloadGenerator, SequentialPatternWalksTheChunksInOrder) {
  Scenario s = OnlyOriginWrites(0, 1, 0);
  s.workload.pattern = AccessPattern::kSequential;
  const std::vector<Step> steps = Generate(s, 4);
  for (size_t i = 0; i < 100; ++i) EXPECT_EQ(steps[i].sector, (i % 128) * 8);
}

TEST(WorkloadGenerator, HotspotKeepsItsShareInsideTheHotChunks) {
  Scenario s = OnlyOriginWrites(0, 1, 0);
  s.workload.pattern = AccessPattern::kHotspot;
  s.workload.hotspot_chunks = 4;
  s.workload.hotspot_percent = 100;
  std::set<sector_t> chunks;
  for (const Step& step : Generate(s, 8)) {
    if (step.kind == StepKind::kOriginWrite) chunks.insert(step.sector / 8);
  }
  EXPECT_LE(chunks.size(), 4u);
  EXPECT_GE(chunks.size(), 2u);
}

TEST(WorkloadGenerator, AtMostOneMergeStartAndInterruptsOnlyAfterIt) {
  Scenario s = Small();
  s.workload.ops = OpWeights{4, 0, 2, 0, 0, 0, 1, 1, 3, 3};
  const std::vector<Step> steps = Generate(s, 12);
  size_t starts = 0;
  size_t interrupts = 0;
  size_t snapshot_writes_after_start = 0;
  for (const Step& step : steps) {
    starts += step.kind == StepKind::kStartMerge;
    if (starts == 0) {
      EXPECT_NE(step.kind, StepKind::kMergeInterrupt);
    }
    if (starts > 0) {
      interrupts += step.kind == StepKind::kMergeInterrupt;
      snapshot_writes_after_start += step.kind == StepKind::kSnapshotWrite;
    }
  }
  EXPECT_EQ(starts, 1u);
  EXPECT_GT(interrupts, 0u);
  EXPECT_GT(snapshot_writes_after_start, 0u) << "snapshot writes stay allowed while merging";
  EXPECT_EQ(BrokenRule(s, steps), "");
}

TEST(WorkloadGenerator, ThinkTimeIsDrawnFromItsRange) {
  Scenario s = Small();
  s.workload.think_min_ns = 100;
  s.workload.think_max_ns = 200;
  const std::vector<Step> steps = Generate(s, 13);
  EXPECT_EQ(BrokenRule(s, steps), "");
  std::set<uint64_t> delays;
  for (const Step& step : steps) delays.insert(step.delay_ns);
  EXPECT_GT(delays.size(), 10u);
}

TEST(WorkloadGenerator, EveryLibraryScenarioGeneratesValidSteps) {
  absl::StatusOr<std::vector<Scenario>> scenarios =
      ListScenarios(std::string(testing::kSourceDir) + "/scenarios");
  ASSERT_TRUE(scenarios.ok()) << scenarios.status();
  for (const Scenario& s : *scenarios) {
    for (uint64_t seed : s.ctest_seeds) {
      const std::vector<Step> steps = Generate(s, seed);
      EXPECT_EQ(BrokenRule(s, steps), "") << s.name << " seed " << seed;
      EXPECT_TRUE(ValidateSteps(s, steps).ok()) << s.name << " seed " << seed;
    }
  }
}

TEST(ValidateSteps, RefusesIoPastTheEndEmptyOrMisaligned) {
  Scenario s = Small();
  s.geometry.cow_block_bytes = 1024;
  Step write;
  write.kind = StepKind::kOriginWrite;
  write.sector = 1022;
  write.count = 2;
  EXPECT_TRUE(ValidateSteps(s, {write}).ok());
  write.count = 4;
  EXPECT_EQ(ValidateSteps(s, {write}).message(),
            "steps[0] (origin_write): sectors 1022+4 go past the device end 1024");
  write.count = 0;
  EXPECT_EQ(ValidateSteps(s, {write}).message(),
            "steps[0] (origin_write): count must be 1..2048 sectors, got 0");
  write.sector = 1;
  write.count = 2;
  EXPECT_EQ(ValidateSteps(s, {Step{}, write}).message(),
            "steps[1] (origin_write): sector and count must be multiples of the 2-sector "
            "logical block");
}

// A random scenario that passes validation (geometry drawn to obey the chunk size rules).
rc::Gen<Scenario> ValidScenario() {
  return rc::gen::exec([] {
    Scenario s;
    s.name = "random";
    s.description = "rapidcheck";
    const uint32_t origin_shift = *rc::gen::inRange<uint32_t>(0, 4);
    const uint32_t cow_shift = *rc::gen::inRange<uint32_t>(0, 4);
    s.geometry.origin_block_bytes = 512u << origin_shift;
    s.geometry.cow_block_bytes = 512u << cow_shift;
    const uint32_t block = IoBlockSectors(s.geometry);
    const uint32_t block_shift = std::max(origin_shift, cow_shift);
    s.geometry.chunk_sectors =
        *rc::gen::element(0u, 1u << *rc::gen::inRange<uint32_t>(block_shift, 12));
    const uint32_t chunk = EffectiveChunkSectors(s.geometry);
    s.geometry.origin_sectors =
        chunk + sector_t{block} * *rc::gen::inRange<uint32_t>(0, 4 * chunk / block + 64);
    s.geometry.cow_sectors = 3 * chunk + sector_t{chunk} * *rc::gen::inRange<uint32_t>(0, 64);
    WorkloadSpec& w = s.workload;
    w.steps_per_cycle = *rc::gen::inRange<uint32_t>(1, 200);
    w.cycles = *rc::gen::inRange<uint32_t>(1, 6);
    w.max_in_flight = *rc::gen::inRange<uint32_t>(1, 257);
    auto weight = [] { return *rc::gen::inRange<uint32_t>(0, 6); };
    w.ops = OpWeights{weight() + 1, weight(), weight(), weight(), weight(),
                      weight(),     weight(), weight(), weight(), 0};
    if (w.ops.merge_start > 0) w.ops.merge_interrupt = weight();
    w.shapes = ShapeWeights{weight(), weight(), weight() + 1};
    w.pattern = static_cast<AccessPattern>(*rc::gen::inRange<int>(0, 3));
    w.hotspot_chunks = *rc::gen::inRange<uint32_t>(1, 20);
    w.hotspot_percent = *rc::gen::inRange<uint32_t>(0, 101);
    w.think_min_ns = *rc::gen::inRange<uint64_t>(0, 1000);
    w.think_max_ns = w.think_min_ns + *rc::gen::element<uint64_t>(0, 1, 5000);
    for (uint32_t& tw : s.crash.trigger_weights) tw = weight();
    s.crash.trigger_weights[0] += 1;
    s.crash.events_min = *rc::gen::inRange<uint64_t>(0, 100);
    s.crash.events_max = s.crash.events_min + *rc::gen::inRange<uint64_t>(0, 100);
    s.crash.end_with_crash = *rc::gen::arbitrary<bool>();
    return s;
  });
}

RC_GTEST_PROP(WorkloadGeneratorProperty, RandomValidScenariosGiveStepsThatKeepEveryRule, ()) {
  const Scenario s = *ValidScenario();
  RC_ASSERT(ValidateScenario(s).ok());
  const uint64_t seed = *rc::gen::arbitrary<uint64_t>();
  const std::vector<Step> steps = Generate(s, seed);
  RC_ASSERT(BrokenRule(s, steps) == "");
  RC_ASSERT(ValidateSteps(s, steps).ok());
  RC_ASSERT(nlohmann::json(steps) == nlohmann::json(Generate(s, seed)));
  // Each read and write has a shape whose weight is positive, or the documented fallback.
  const uint64_t c = EffectiveChunkSectors(s.geometry);
  const sector_t end = s.geometry.origin_sectors;
  const ShapeWeights& shapes = s.workload.shapes;
  std::set<ShapeSeen> allowed;
  if (shapes.partial_chunk > 0) allowed.insert(ShapeSeen::kPartial);
  if (shapes.whole_chunk > 0) allowed.insert(ShapeSeen::kWhole);
  if (shapes.spanning > 0) allowed.insert(ShapeSeen::kSpanning);
  if (shapes.partial_chunk > 0 && c == IoBlockSectors(s.geometry))
    allowed.insert(ShapeSeen::kWhole);
  if (shapes.spanning > 0 && end <= c) allowed.insert(ShapeSeen::kWhole);
  for (const Step& step : steps) {
    if (!IsIo(step.kind)) continue;
    const ShapeSeen seen = ShapeOf(step, c, end);
    // A partial write may cover all of a device's short last chunk.
    const bool short_tail = seen == ShapeSeen::kWhole && step.count < c;
    RC_ASSERT(allowed.count(seen) > 0 || (short_tail && allowed.count(ShapeSeen::kPartial) > 0));
  }
}

}  // namespace
}  // namespace snapsim
