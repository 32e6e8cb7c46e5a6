// SPDX-License-Identifier: GPL-2.0-only
// core/area_view.h: the table of an area ends at the first slot whose new_chunk is 0, and what
// lies past it is reported, never taken into the table.
#include "core/area_view.h"

#include <vector>

#include "gtest/gtest.h"

namespace snapsim {
namespace {

constexpr uint32_t kChunkSectors = 1;
constexpr uint32_t kSlots = ExceptionsPerArea(kChunkSectors);  // 32

std::vector<uint8_t> EmptyArea() { return std::vector<uint8_t>(kChunkSectors * kSectorSize, 0); }

TEST(AreaViewTest, AZeroedAreaHasNoEntriesAndItsTerminatorAtSlot0) {
  const std::vector<uint8_t> area = EmptyArea();
  const AreaView view(area.data(), kSlots);
  EXPECT_EQ(view.entry_count(), 0u);
  EXPECT_FALSE(view.full());
  EXPECT_EQ(view.terminator_slot(), 0u);
  EXPECT_TRUE(view.StaleSlots().empty());
}

TEST(AreaViewTest, EntriesEndAtTheFirstZeroNewChunk) {
  std::vector<uint8_t> area = EmptyArea();
  EncodeException(area.data(), 0, DiskException{5, 2});
  EncodeException(area.data(), 1, DiskException{0, 3});  // old_chunk 0 is a valid entry
  EncodeException(area.data(), 2, DiskException{9, 0});  // the terminator, whatever old_chunk says
  EncodeException(area.data(), 3, DiskException{7, 4});
  const AreaView view(area.data(), kSlots);
  ASSERT_EQ(view.entry_count(), 2u);
  EXPECT_EQ(view.entry(0).old_chunk, 5u);
  EXPECT_EQ(view.entry(0).new_chunk, 2u);
  EXPECT_EQ(view.entry(1).old_chunk, 0u);
  EXPECT_EQ(view.entry(1).new_chunk, 3u);
  EXPECT_FALSE(view.full());
  EXPECT_EQ(view.terminator_slot(), 2u);
}

TEST(AreaViewTest, SlotsPastTheTerminatorAreStaleNotEntries) {
  std::vector<uint8_t> area = EmptyArea();
  EncodeException(area.data(), 0, DiskException{5, 2});
  EncodeException(area.data(), 3, DiskException{7, 4});   // left by a torn area write
  EncodeException(area.data(), 31, DiskException{1, 0});  // half a slot is stale too
  const AreaView view(area.data(), kSlots);
  EXPECT_EQ(view.entry_count(), 1u);
  EXPECT_EQ(view.StaleSlots(), (std::vector<uint32_t>{3, 31}));
}

TEST(AreaViewTest, AnAreaWithoutTerminatorIsFullAndHasNoStaleSlots) {
  std::vector<uint8_t> area = EmptyArea();
  for (uint32_t slot = 0; slot < kSlots; ++slot) {
    EncodeException(area.data(), slot, DiskException{slot, 100 + slot});
  }
  const AreaView view(area.data(), kSlots);
  EXPECT_TRUE(view.full());
  EXPECT_EQ(view.entry_count(), kSlots);
  EXPECT_EQ(view.entry(kSlots - 1).new_chunk, 100u + kSlots - 1);
  EXPECT_TRUE(view.StaleSlots().empty());
}

TEST(AreaViewTest, TheTerminatorInTheLastSlotLeavesNothingPastIt) {
  std::vector<uint8_t> area = EmptyArea();
  for (uint32_t slot = 0; slot + 1 < kSlots; ++slot) {
    EncodeException(area.data(), slot, DiskException{slot, 100 + slot});
  }
  const AreaView view(area.data(), kSlots);
  EXPECT_FALSE(view.full());
  EXPECT_EQ(view.terminator_slot(), kSlots - 1);
  EXPECT_TRUE(view.StaleSlots().empty());
}

}  // namespace
}  // namespace snapsim
