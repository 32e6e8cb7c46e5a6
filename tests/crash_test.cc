// SPDX-License-Identifier: GPL-2.0-only
#include "sim/world/crash.h"

#include <set>
#include <utility>
#include <vector>

#include "gtest/gtest.h"

namespace snapsim {
namespace {

std::vector<CachedWrite> Writes(std::initializer_list<uint32_t> sector_counts) {
  std::vector<CachedWrite> writes;
  uint64_t id = 1;
  sector_t sector = 0;
  for (uint32_t count : sector_counts) {
    writes.push_back(CachedWrite{id++, sector, count, 0, false});
    sector += count;
  }
  return writes;
}

TEST(CrashEnumerator, WithoutTearsListsEveryKeepDropSubsetOnce) {
  const std::vector<CachedWrite> writes = Writes({1, 4, 8});
  CrashEnumerator enumerator(writes, /*include_tears=*/false);
  ASSERT_EQ(enumerator.count(), 8u);
  std::set<std::vector<bool>> seen;
  for (uint64_t i = 0; i < enumerator.count(); ++i) {
    const std::vector<WriteFate> fates = enumerator.At(i);
    ASSERT_EQ(fates.size(), 3u);
    std::vector<bool> kept;
    for (size_t w = 0; w < fates.size(); ++w) {
      EXPECT_TRUE(FateFits(fates[w], writes[w]));
      EXPECT_NE(fates[w].fate, Fate::kTear);
      kept.push_back(fates[w].fate == Fate::kKeep);
    }
    seen.insert(kept);
  }
  EXPECT_EQ(seen.size(), 8u);
}

TEST(CrashEnumerator, WithTearsListsEverySectorSubsetOfSmallWrites) {
  const std::vector<CachedWrite> writes = Writes({1, 3});
  CrashEnumerator enumerator(writes, /*include_tears=*/true);
  ASSERT_EQ(enumerator.count(), 2u * 8u);  // a single sector cannot tear
  int tears = 0;
  std::set<std::vector<bool>> landed_sets;
  for (uint64_t i = 0; i < enumerator.count(); ++i) {
    const std::vector<WriteFate> fates = enumerator.At(i);
    EXPECT_TRUE(FateFits(fates[1], writes[1]));
    if (fates[1].fate == Fate::kTear) {
      ++tears;
      landed_sets.insert(fates[1].landed);
    }
  }
  EXPECT_EQ(tears, 2 * 6);  // 8 subsets minus none (drop) and all (keep), per fate of write 0
  EXPECT_EQ(landed_sets.size(), 6u);
}

TEST(CrashEnumerator, TooManyStatesReportsZero) {
  std::vector<CachedWrite> writes;
  for (uint64_t i = 0; i < 21; ++i) writes.push_back(CachedWrite{i + 1, i, 1, 0, false});
  EXPECT_EQ(CrashEnumerator(writes, false).count(), 0u);
  writes.pop_back();
  EXPECT_EQ(CrashEnumerator(writes, false).count(), uint64_t{1} << 20);
}

TEST(DrawFates, FollowsTheWeights) {
  const std::vector<CachedWrite> writes = Writes({4, 4, 4, 4, 4, 4, 4, 4});
  FaultProfile profile;
  profile.crash_keep_weight = 0;
  profile.crash_drop_weight = 1;
  profile.crash_tear_weight = 0;
  Prng prng(1);
  for (const WriteFate& fate : DrawFates(writes, profile, prng)) EXPECT_EQ(fate.fate, Fate::kDrop);
  profile.crash_drop_weight = 0;
  profile.crash_tear_weight = 1;
  for (const WriteFate& fate : DrawFates(writes, profile, prng)) {
    EXPECT_EQ(fate.fate, Fate::kTear);
    EXPECT_EQ(fate.landed.size(), 4u);
  }
}

TEST(DrawFates, SubSectorTearsOnlyWhenTheProfileAllowsThem) {
  const std::vector<CachedWrite> writes = Writes({4, 4, 4, 4});
  FaultProfile profile;
  profile.crash_drop_weight = 0;
  Prng prng(2);
  for (const WriteFate& fate : DrawFates(writes, profile, prng)) {
    EXPECT_FALSE(fate.beyond_contract());
  }
  profile.subsector_tear = kAlways;
  for (const WriteFate& fate : DrawFates(writes, profile, prng)) {
    EXPECT_TRUE(fate.beyond_contract());
    EXPECT_LT(fate.partial_sector, 4u);
    EXPECT_GT(fate.partial_bytes, 0u);
    EXPECT_LT(fate.partial_bytes, kSectorSize);
    EXPECT_EQ(fate.partial_bytes % 8, 0u);
    EXPECT_EQ(fate.partial_offset % 8, 0u);
    EXPECT_LE(fate.partial_offset + fate.partial_bytes, kSectorSize);
  }
}

TEST(DrawFates, SubSectorTearsTakeEveryShape) {
  FaultProfile profile;
  profile.crash_drop_weight = 0;
  profile.subsector_tear = kAlways;
  Prng prng(4);
  std::vector<CachedWrite> writes;
  for (uint64_t id = 1; id <= 64; ++id) writes.push_back(CachedWrite{id, id, 1, 0, false});
  std::set<TearShape> shapes;
  for (const WriteFate& fate : DrawFates(writes, profile, prng)) {
    ASSERT_TRUE(fate.beyond_contract());
    const TearShape shape = fate.partial_shape();
    shapes.insert(shape);
    if (shape == TearShape::kMiddle) {
      EXPECT_GE(fate.partial_offset, 8u) << "a middle run leaves the first unit";
      EXPECT_LE(fate.partial_offset + fate.partial_bytes, kSectorSize - 8);
    }
  }
  EXPECT_EQ(shapes.size(), 3u);
}

TEST(LandPartialSector, LandsExactlyTheRunOfEachShape) {
  std::vector<uint8_t> new_content(kSectorSize, 0xAB);
  for (const auto& [offset, bytes] :
       std::vector<std::pair<uint32_t, uint32_t>>{{0, 40}, {472, 40}, {40, 16}}) {
    std::vector<uint8_t> content(kSectorSize, 0);
    WriteFate fate = WriteFate::Keep();
    fate.partial_offset = offset;
    fate.partial_bytes = bytes;
    LandPartialSector(fate, new_content.data(), content.data());
    for (uint32_t i = 0; i < kSectorSize; ++i) {
      EXPECT_EQ(content[i], i >= offset && i < offset + bytes ? 0xAB : 0) << i;
    }
  }
}

TEST(DrawFates, IsAFunctionOfTheCrashStream) {
  const std::vector<CachedWrite> writes = Writes({2, 8, 1, 5});
  const FaultProfile profile;
  Prng a(3);
  Prng b(3);
  const std::vector<WriteFate> fa = DrawFates(writes, profile, a);
  const std::vector<WriteFate> fb = DrawFates(writes, profile, b);
  ASSERT_EQ(fa.size(), fb.size());
  for (size_t i = 0; i < fa.size(); ++i) {
    EXPECT_EQ(fa[i].fate, fb[i].fate);
    EXPECT_EQ(fa[i].landed, fb[i].landed);
  }
}

TEST(FateFits, RejectsMalformedFates) {
  const CachedWrite write{1, 0, 4, 0, false};
  EXPECT_TRUE(FateFits(WriteFate::Keep(), write));
  EXPECT_FALSE(FateFits(WriteFate::Tear({true, false}), write));
  WriteFate partial_drop = WriteFate::Drop();
  partial_drop.partial_bytes = 8;
  EXPECT_FALSE(FateFits(partial_drop, write));
  WriteFate out_of_range = WriteFate::Keep();
  out_of_range.partial_sector = 4;
  out_of_range.partial_bytes = 8;
  EXPECT_FALSE(FateFits(out_of_range, write));
  WriteFate past_the_sector = WriteFate::Keep();
  past_the_sector.partial_offset = 504;
  past_the_sector.partial_bytes = 16;
  EXPECT_FALSE(FateFits(past_the_sector, write));
  WriteFate suffix = WriteFate::Keep();
  suffix.partial_offset = 496;
  suffix.partial_bytes = 16;
  EXPECT_TRUE(FateFits(suffix, write));
  EXPECT_EQ(suffix.partial_shape(), TearShape::kSuffix);
}

}  // namespace
}  // namespace snapsim
