// SPDX-License-Identifier: GPL-2.0-only
// sim/world/durable_medium.h: the pristine medium and the fault overlay stay apart, and reads
// (and the flattened image) go through the overlay.
#include "sim/world/durable_medium.h"

#include <vector>

#include "gtest/gtest.h"

namespace snapsim {
namespace {

constexpr sector_t kSectors = 64;

std::vector<uint8_t> Filled(uint64_t count, uint8_t value) {
  return std::vector<uint8_t>(count * kSectorSize, value);
}

uint8_t FirstByte(const SectorSource& source, sector_t sector) {
  uint8_t bytes[kSectorSize];
  source.Read(sector, 1, bytes);
  return bytes[0];
}

DurableMedium ZeroMedium() { return DurableMedium(PageStore(kSectors, ZeroContent())); }

TEST(DurableMediumTest, ALandedWriteIsPristineAndReadable) {
  DurableMedium medium = ZeroMedium();
  const std::vector<uint8_t> data = Filled(8, 0xAA);
  medium.Land(8, 8, WriteBuffer(8, 8, data.data()));
  EXPECT_EQ(FirstByte(medium.pristine(), 15), 0xAA);
  EXPECT_EQ(FirstByte(medium, 15), 0xAA);
  EXPECT_FALSE(medium.has_faults());
}

TEST(DurableMediumTest, DamageShowsInReadsAndTheFlattenedImageButNotInPristine) {
  DurableMedium medium = ZeroMedium();
  const std::vector<uint8_t> bad = Filled(1, 0x5C);
  medium.Damage(3, bad.data());
  EXPECT_EQ(FirstByte(medium.pristine(), 3), 0);
  EXPECT_EQ(FirstByte(medium, 3), 0x5C);
  EXPECT_EQ(FirstByte(medium, 2), 0) << "only the damaged sector differs";
  EXPECT_EQ(FirstByte(medium.Flattened(), 3), 0x5C);
  EXPECT_EQ(medium.damaged_sectors().size(), 1u) << "flattening a copy keeps the overlay";
}

TEST(DurableMediumTest, ALandedWriteHealsTheDamageItCovers) {
  DurableMedium medium = ZeroMedium();
  const std::vector<uint8_t> bad = Filled(1, 0x5C);
  medium.Damage(3, bad.data());
  medium.Damage(9, bad.data());
  const std::vector<uint8_t> data = Filled(4, 0x11);
  medium.Land(2, 2, 4, data.data());
  EXPECT_EQ(medium.damaged_sectors().size(), 1u);
  EXPECT_EQ(FirstByte(medium, 3), 0x11);
  EXPECT_EQ(FirstByte(medium, 9), 0x5C);
}

TEST(DurableMediumTest, AMisdirectedWriteIsPristineAtItsTargetAndReadAtWhereItWent) {
  DurableMedium medium = ZeroMedium();
  const std::vector<uint8_t> data = Filled(2, 0x77);
  medium.Land(/*intended=*/4, /*actual=*/40, WriteBuffer(40, 2, data.data()));
  EXPECT_EQ(FirstByte(medium.pristine(), 4), 0x77);
  EXPECT_EQ(FirstByte(medium.pristine(), 40), 0);
  EXPECT_EQ(FirstByte(medium, 4), 0) << "the intended sectors keep their old content";
  EXPECT_EQ(FirstByte(medium, 41), 0x77);
  // A correct rewrite of both places heals them.
  const std::vector<uint8_t> fix = Filled(2, 0x01);
  medium.Land(4, 4, 2, fix.data());
  medium.Land(40, 40, 2, fix.data());
  EXPECT_FALSE(medium.has_faults());
}

TEST(DurableMediumTest, OverlappingMisdirectionLetsTheDataWin) {
  DurableMedium medium = ZeroMedium();
  const std::vector<uint8_t> data = Filled(8, 0x33);
  medium.Land(/*intended=*/0, /*actual=*/8, WriteBuffer(8, 8, data.data()));
  medium.Land(/*intended=*/8, /*actual=*/4, 8, data.data());
  EXPECT_EQ(FirstByte(medium, 4), 0x33);
  EXPECT_EQ(FirstByte(medium, 15), 0x33) << "kept from the first write";
  EXPECT_EQ(FirstByte(medium, 3), 0);
}

TEST(DurableMediumTest, ALostWriteIsPristineButReadsTheOldContent) {
  DurableMedium medium = ZeroMedium();
  const std::vector<uint8_t> data = Filled(8, 0x42);
  medium.LoseWrite(16, WriteBuffer(16, 8, data.data()));
  EXPECT_EQ(FirstByte(medium.pristine(), 16), 0x42);
  EXPECT_EQ(FirstByte(medium, 16), 0);
  EXPECT_EQ(FirstByte(std::move(medium).Flattened(), 23), 0);
}

TEST(DurableMediumTest, LatentErrorsChangeNoContentAndClearOnRewrite) {
  DurableMedium medium = ZeroMedium();
  medium.AddLatentError(5);
  EXPECT_TRUE(medium.HasLatentError(0, 6));
  EXPECT_FALSE(medium.HasLatentError(0, 5));
  EXPECT_FALSE(medium.HasLatentError(6, 10));
  EXPECT_TRUE(medium.damaged_sectors().empty());
  medium.ClearLatentErrors(4, 2);
  EXPECT_FALSE(medium.has_faults());
}

}  // namespace
}  // namespace snapsim
