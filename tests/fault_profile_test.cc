// SPDX-License-Identifier: GPL-2.0-only
#include "sim/world/fault_profile.h"

#include <fiu.h>

#include <set>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "sim/world/fiu_bridge.h"
#include "sim/world/probes.h"

namespace snapsim {
namespace {

TEST(FaultProfile, DefaultAndQuietProfilesAreValidAndWithinContract) {
  EXPECT_TRUE(Validate(FaultProfile{}).ok());
  EXPECT_TRUE(Validate(QuietProfile()).ok());
  EXPECT_FALSE(FaultProfile{}.BreaksContract());
  EXPECT_FALSE(FamilyEnabled(QuietProfile(), FaultFamily::kReorder));
}

TEST(FaultProfile, ValidationNamesTheField) {
  FaultProfile p;
  p.latency_max_ns = p.latency_min_ns - 1;
  absl::Status s = Validate(p);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "fault_profile.latency_max_ns: 19999 is below latency_min_ns 20000");

  p = FaultProfile{};
  p.cow.write_eio = Ratio{3, 2};
  EXPECT_EQ(Validate(p).message(), "fault_profile.cow.write_eio: 3/2 is above 1");

  p = FaultProfile{};
  p.lying_flush = Ratio{0, 0};
  EXPECT_EQ(Validate(p).message(), "fault_profile.lying_flush: denominator is 0");

  p = FaultProfile{};
  p.crash_keep_weight = p.crash_drop_weight = p.crash_tear_weight = 0;
  EXPECT_EQ(Validate(p).message(),
            "fault_profile.crash_keep_weight: crash keep/drop/tear weights are all 0");

  p = FaultProfile{};
  p.slow_io = Ratio{1, 10};
  p.slow_io_latency_max_ns = 100'000;
  EXPECT_EQ(Validate(p).message(),
            "fault_profile.slow_io_latency_max_ns: 100000 is below latency_max_ns 200000 (slow_io "
            "is on)");

  p = FaultProfile{};
  p.latency_min_ns = 0;
  EXPECT_EQ(Validate(p).message(), "fault_profile.latency_min_ns: must be at least 1 ns");
}

TEST(FaultProfile, FamiliesAreClassifiedByContract) {
  for (const FaultFamilyInfo& info : kFaultFamilies) {
    EXPECT_EQ(&FamilyInfo(info.family), &info);
  }
  EXPECT_FALSE(FamilyInfo(FaultFamily::kReadEio).contract_breaking);
  EXPECT_FALSE(FamilyInfo(FaultFamily::kCrashTear).contract_breaking);
  EXPECT_TRUE(FamilyInfo(FaultFamily::kSubsectorTear).contract_breaking);
  EXPECT_TRUE(FamilyInfo(FaultFamily::kLyingFlush).contract_breaking);
  FaultProfile p;
  p.misdirected_write = Ratio{1, 100};
  EXPECT_TRUE(p.BreaksContract());
}

TEST(FaultProfile, SwarmWithinContractNeverEnablesBeyondContractFamilies) {
  for (uint64_t seed = 0; seed < 200; ++seed) {
    Prng prng(seed);
    const FaultProfile p = SwarmProfile(prng, {false, 1 << 20, 1 << 16});
    EXPECT_TRUE(Validate(p).ok());
    EXPECT_FALSE(p.BreaksContract()) << "seed " << seed;
  }
}

TEST(FaultProfile, SwarmTurnsWholeFamiliesOnAndOffAcrossSeeds) {
  std::array<int, static_cast<size_t>(FaultFamily::kCount)> enabled{};
  const int seeds = 400;
  for (uint64_t seed = 0; seed < seeds; ++seed) {
    Prng prng(seed);
    const FaultProfile p = SwarmProfile(prng, {true, 1 << 20, 1 << 16});
    ASSERT_TRUE(Validate(p).ok());
    for (const FaultFamilyInfo& info : kFaultFamilies) {
      enabled[static_cast<size_t>(info.family)] += FamilyEnabled(p, info.family);
    }
  }
  for (const FaultFamilyInfo& info : kFaultFamilies) {
    const int n = enabled[static_cast<size_t>(info.family)];
    EXPECT_GT(n, 0) << info.name << " never on";
    EXPECT_LT(n, seeds) << info.name << " always on";
  }
}

TEST(FaultProfile, SwarmIsAFunctionOfTheSeed) {
  Prng a(77);
  Prng b(77);
  const FaultProfile pa = SwarmProfile(a, {true, 1 << 20, 1 << 16});
  const FaultProfile pb = SwarmProfile(b, {true, 1 << 20, 1 << 16});
  EXPECT_EQ(pa.latency_min_ns, pb.latency_min_ns);
  EXPECT_EQ(pa.latency_max_ns, pb.latency_max_ns);
  EXPECT_EQ(pa.cow.eio_range_start, pb.cow.eio_range_start);
  EXPECT_EQ(pa.lying_flush, pb.lying_flush);
  EXPECT_EQ(a.Next(), b.Next());
}

// Probes and the libfiu bridge: the counters every fault family reports through.

TEST(Probes, NamesAreStableAndUnique) {
  std::set<std::string_view> names;
  for (size_t i = 0; i < kProbeCount; ++i) {
    const Probe probe = static_cast<Probe>(i);
    EXPECT_TRUE(names.insert(ProbeName(probe)).second);
    EXPECT_EQ(ProbeFromName(ProbeName(probe)), probe);
  }
  EXPECT_EQ(ProbeName(Probe::kCrashWriteKept), "crash.write_kept");
  EXPECT_EQ(ProbeName(Probe::kBeyondLyingFlush), "beyond.lying_flush");
  EXPECT_EQ(ProbeName(Probe::kFiuChunkIo), "fiu.chunk_io");
  EXPECT_FALSE(ProbeFromName("no.such").has_value());
}

TEST(Probes, MergeSumsAndFormatPrintsInFixedOrder) {
  Probes a;
  Probes b;
  a.Bump(Probe::kIoReadEio);
  b.Bump(Probe::kIoReadEio, 2);
  b.Bump(Probe::kFiuOther);
  a.Merge(b);
  EXPECT_EQ(a.count(Probe::kIoReadEio), 3u);
  EXPECT_EQ(a.total(), 4u);
  const std::string text = a.Format();
  EXPECT_EQ(text.rfind("crash.write_kept 0\n", 0), 0u);
  EXPECT_NE(text.find("io.read_eio 3\n"), std::string::npos);
  EXPECT_LT(text.find("io.read_eio"), text.find("fiu.other"));
}

TEST(FiuBridge, PointsFireByTheRunPrngAndAreCounted) {
  Prng prng(11);
  Probes probes;
  {
    FiuBridge bridge(prng, probes);
    ASSERT_TRUE(bridge.Enable("snapsim/store/chunk_io", kAlways).ok());
    ASSERT_TRUE(bridge.Enable("snapsim/store/alloc_area", kNever).ok());
    EXPECT_NE(fiu_fail("snapsim/store/chunk_io"), 0);
    EXPECT_EQ(fiu_fail("snapsim/store/alloc_area"), 0);
    EXPECT_EQ(fiu_fail("snapsim/store/not_enabled"), 0);
    EXPECT_EQ(probes.count(Probe::kFiuChunkIo), 1u);
    EXPECT_EQ(probes.count(Probe::kFiuAllocArea), 0u);
    EXPECT_EQ(bridge.fired("snapsim/store/chunk_io"), 1u);
    EXPECT_FALSE(bridge.Enable("x", Ratio{2, 1}).ok());
  }
  // The bridge disabled its points when it went away.
  EXPECT_EQ(fiu_fail("snapsim/store/chunk_io"), 0);
  EXPECT_EQ(FiuProbeFor("snapsim/store/alloc_callbacks"), Probe::kFiuAllocCallbacks);
  EXPECT_EQ(FiuProbeFor("elsewhere/thing"), Probe::kFiuOther);
}

TEST(FiuBridge, DecisionsAreAFunctionOfTheSeed) {
  auto pattern = [](uint64_t seed) {
    Prng prng(seed);
    Probes probes;
    FiuBridge bridge(prng, probes);
    EXPECT_TRUE(bridge.Enable("snapsim/store/alloc_callbacks", Ratio{1, 3}).ok());
    std::vector<bool> fired;
    for (int i = 0; i < 64; ++i) fired.push_back(fiu_fail("snapsim/store/alloc_callbacks") != 0);
    return fired;
  };
  EXPECT_EQ(pattern(1), pattern(1));
  EXPECT_NE(pattern(1), pattern(2));
}

}  // namespace
}  // namespace snapsim
