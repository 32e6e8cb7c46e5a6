// SPDX-License-Identifier: GPL-2.0-only
#include "sim/world/prng.h"

#include <array>
#include <cstdint>
#include <vector>

#include "gtest/gtest.h"

namespace snapsim {
namespace {

// Reference vectors computed with the authors' reference C (Vigna's splitmix64.c and
// xoshiro256starstar.c, compiled unchanged):
//   static uint64_t x; uint64_t next() { uint64_t z = (x += 0x9e3779b97f4a7c15);
//     z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9; z = (z ^ (z >> 27)) * 0x94d049bb133111eb;
//     return z ^ (z >> 31); }
//   uint64_t next(void) { const uint64_t result = rotl(s[1] * 5, 7) * 9;
//     const uint64_t t = s[1] << 17; s[2] ^= s[0]; s[3] ^= s[1]; s[1] ^= s[2]; s[0] ^= s[3];
//     s[2] ^= t; s[3] = rotl(s[3], 45); return result; }
TEST(SplitMix64, MatchesReferenceOutputsForSeed1234567) {
  uint64_t state = 1234567;
  const std::array<uint64_t, 5> expected = {6457827717110365317ull, 3203168211198807973ull,
                                            9817491932198370423ull, 4593380528125082431ull,
                                            16408922859458223821ull};
  for (uint64_t want : expected) EXPECT_EQ(SplitMix64(state), want);
}

TEST(SplitMix64, MatchesReferenceOutputsForSeedZero) {
  uint64_t state = 0;
  EXPECT_EQ(SplitMix64(state), 16294208416658607535ull);
  EXPECT_EQ(SplitMix64(state), 7960286522194355700ull);
  EXPECT_EQ(SplitMix64(state), 487617019471545679ull);
}

// Reference: s = {splitmix64 x=42 four times}, then next() five times.
TEST(Prng, MatchesReferenceXoshiro256StarStarSeededBySplitMix64) {
  Prng prng(42);
  const std::array<uint64_t, 5> expected = {1546998764402558742ull, 6990951692964543102ull,
                                            12544586762248559009ull, 17057574109182124193ull,
                                            18295552978065317476ull};
  for (uint64_t want : expected) EXPECT_EQ(prng.Next(), want);
}

TEST(Fnv1a64, MatchesPublishedVectors) {
  EXPECT_EQ(Fnv1a64(""), 0xcbf29ce484222325ull);
  EXPECT_EQ(Fnv1a64("a"), 0xaf63dc4c8601ec8cull);
  EXPECT_EQ(Fnv1a64("foobar"), 0x85944171f73967e8ull);
}

// Pinned outputs of every helper: a change of any of them changes every replayed seed.
TEST(Prng, HelperOutputsArePinned) {
  Prng prng(7);
  std::vector<uint64_t> below;
  for (int i = 0; i < 6; ++i) below.push_back(prng.UintLessThan(1000));
  EXPECT_EQ(below, (std::vector<uint64_t>{700, 278, 839, 981, 990, 872}));
  std::vector<int64_t> ints;
  for (int i = 0; i < 6; ++i) ints.push_back(prng.IntInclusive(-5, 5));
  EXPECT_EQ(ints, (std::vector<int64_t>{-5, -4, -1, -4, 0, 3}));
  std::vector<bool> chances;
  for (int i = 0; i < 10; ++i) chances.push_back(prng.Chance({1, 3}));
  EXPECT_EQ(chances,
            (std::vector<bool>{false, false, false, false, true, false, true, true, true, false}));
  std::vector<int> items = {0, 1, 2, 3, 4, 5, 6, 7};
  prng.Shuffle(absl::MakeSpan(items));
  EXPECT_EQ(items, (std::vector<int>{2, 3, 6, 7, 0, 4, 1, 5}));
  const std::vector<uint32_t> weights = {1, 0, 5, 2};
  std::vector<size_t> picks;
  for (int i = 0; i < 8; ++i) picks.push_back(prng.WeightedIndex(weights));
  EXPECT_EQ(picks, (std::vector<size_t>{2, 0, 2, 3, 3, 3, 2, 2}));
}

TEST(Prng, SplitIsPinnedAndDependsOnlyOnSeedAndName) {
  Prng parent(42);
  Prng child = parent.Split("workload");
  EXPECT_EQ(child.seed(), 3808490575874249218ull);
  EXPECT_EQ(child.Next(), 16106094392151298139ull);
  // Consuming the parent does not change its children.
  for (int i = 0; i < 100; ++i) parent.Next();
  EXPECT_EQ(parent.Split("workload").seed(), 3808490575874249218ull);
}

TEST(Prng, SplitStreamsWithDifferentNamesOrSeedsDiffer) {
  Prng a(42);
  EXPECT_NE(a.Split("workload").seed(), a.Split("devices").seed());
  EXPECT_NE(a.Split("workload").seed(), Prng(43).Split("workload").seed());
  Prng w = a.Split("workload");
  Prng d = a.Split("devices");
  int equal = 0;
  for (int i = 0; i < 64; ++i) equal += w.Next() == d.Next();
  EXPECT_EQ(equal, 0);
}

TEST(Prng, UintLessThanStaysInBoundsIncludingOneAndHuge) {
  Prng prng(1);
  for (int i = 0; i < 1000; ++i) EXPECT_EQ(prng.UintLessThan(1), 0u);
  for (int i = 0; i < 1000; ++i) EXPECT_LT(prng.UintLessThan(3), 3u);
  const uint64_t huge = (uint64_t{1} << 63) + 12345;
  for (int i = 0; i < 1000; ++i) EXPECT_LT(prng.UintLessThan(huge), huge);
}

TEST(Prng, IntInclusiveCoversBothEndsAndFullRange) {
  Prng prng(2);
  std::array<int, 7> seen{};
  for (int i = 0; i < 7000; ++i) {
    const int64_t v = prng.IntInclusive(-3, 3);
    ASSERT_GE(v, -3);
    ASSERT_LE(v, 3);
    ++seen[v + 3];
  }
  for (int count : seen) EXPECT_GT(count, 0);
  prng.IntInclusive(INT64_MIN, INT64_MAX);  // the full range must not divide by zero
  EXPECT_EQ(prng.UintInclusive(5, 5), 5u);
}

// Lemire's method is exact: over a small generator we can enumerate, every value is equally
// likely. Check the counts of a small range are close to uniform over many draws.
TEST(Prng, UintLessThanHasNoVisibleBiasOnSmallRanges) {
  for (uint64_t n : {3u, 5u, 6u, 7u, 10u}) {
    Prng prng(100 + n);
    std::vector<uint64_t> counts(n);
    const uint64_t draws = 60000;
    for (uint64_t i = 0; i < draws; ++i) ++counts[prng.UintLessThan(n)];
    for (uint64_t c : counts) {
      // Within 5% of the mean: a modulo-biased generator over a 2-bit source would be far off.
      EXPECT_NEAR(static_cast<double>(c), static_cast<double>(draws / n), draws / n * 0.05);
    }
  }
}

TEST(Prng, ChanceNeverAndAlwaysAreExactAndNeverDrawsNothing) {
  Prng prng(3);
  Prng untouched(3);
  for (int i = 0; i < 100; ++i) EXPECT_FALSE(prng.Chance(kNever));
  EXPECT_EQ(prng.Next(), untouched.Next());  // kNever consumed nothing
  for (int i = 0; i < 100; ++i) EXPECT_TRUE(prng.Chance(kAlways));
  int hits = 0;
  for (int i = 0; i < 40000; ++i) hits += prng.Chance({1, 4});
  EXPECT_NEAR(hits, 10000, 500);
}

TEST(Prng, WeightedIndexNeverPicksZeroWeight) {
  Prng prng(4);
  const std::vector<uint32_t> weights = {0, 3, 0, 1, 0};
  std::array<int, 5> seen{};
  for (int i = 0; i < 4000; ++i) ++seen[prng.WeightedIndex(weights)];
  EXPECT_EQ(seen[0] + seen[2] + seen[4], 0);
  EXPECT_NEAR(seen[1], 3000, 200);
  EXPECT_NEAR(seen[3], 1000, 200);
}

TEST(Prng, ShuffleIsAPermutation) {
  Prng prng(5);
  std::vector<int> items(50);
  for (int i = 0; i < 50; ++i) items[i] = i;
  prng.Shuffle(absl::MakeSpan(items));
  std::vector<int> sorted = items;
  std::sort(sorted.begin(), sorted.end());
  for (int i = 0; i < 50; ++i) EXPECT_EQ(sorted[i], i);
  EXPECT_NE(items, sorted);
}

}  // namespace
}  // namespace snapsim
