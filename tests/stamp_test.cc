// SPDX-License-Identifier: GPL-2.0-only
#include "sim/workload/stamp.h"

#include <array>
#include <cstring>

#include "gtest/gtest.h"

namespace snapsim {
namespace {

using SectorBytes = std::array<uint8_t, kSectorSize>;

SectorBytes Stamped(const Stamp& stamp) {
  SectorBytes bytes;
  FillStampedSector(stamp, bytes.data());
  return bytes;
}

TEST(Stamp, RoundTripsDeviceSectorAndWriteId) {
  for (const Stamp& stamp : {Stamp{kStampDeviceOrigin, 0, 0}, Stamp{kStampDeviceSnapshot, 12345, 7},
                             Stamp{kStampDeviceSpecial, (uint64_t{1} << 40) + 3, ~uint64_t{0}}}) {
    const SectorBytes bytes = Stamped(stamp);
    EXPECT_EQ(std::memcmp(bytes.data(), "SSIM", 4), 0);
    auto decoded = DecodeStamp(bytes.data());
    ASSERT_TRUE(decoded.has_value());
    EXPECT_EQ(*decoded, stamp);
  }
}

TEST(Stamp, DifferentStampsHaveDifferentFiller) {
  const SectorBytes a = Stamped({kStampDeviceOrigin, 10, 1});
  const SectorBytes b = Stamped({kStampDeviceOrigin, 10, 2});
  EXPECT_NE(std::memcmp(a.data() + 32, b.data() + 32, kSectorSize - 32), 0);
}

TEST(Stamp, ASingleFlippedByteAnywhereIsDetected) {
  const SectorBytes good = Stamped({kStampDeviceSnapshot, 99, 42});
  for (uint32_t offset = 0; offset < kSectorSize; ++offset) {
    SectorBytes bad = good;
    bad[offset] ^= 0x10;
    EXPECT_FALSE(DecodeStamp(bad.data()).has_value()) << "offset " << offset;
  }
}

// Every cut that leaves a mix of the two stamps (the prefixes up to the write id are equal).
TEST(Stamp, ASubSectorTearOfTwoStampsIsDetected) {
  const SectorBytes old_data = Stamped({kStampDeviceOrigin, 5, 0});
  const SectorBytes new_data = Stamped({kStampDeviceOrigin, 5, 9});
  for (uint32_t cut = 8; cut < kSectorSize; cut += 8) {
    SectorBytes torn = old_data;
    std::memcpy(torn.data(), new_data.data(), cut);
    if (torn == old_data) continue;  // the prefix was identical: nothing was torn
    EXPECT_FALSE(DecodeStamp(torn.data()).has_value()) << "cut " << cut;
  }
}

TEST(Stamp, ZerosAndNonStampDataDoNotDecode) {
  SectorBytes zeros{};
  EXPECT_FALSE(DecodeStamp(zeros.data()).has_value());
  SectorBytes magic_only{};
  std::memcpy(magic_only.data(), "SSIM", 4);
  EXPECT_FALSE(DecodeStamp(magic_only.data()).has_value());
}

TEST(Stamp, AMisdirectedSectorNamesItsIntendedSector) {
  const SectorBytes bytes = Stamped({kStampDeviceOrigin, 77, 3});
  auto decoded = DecodeStamp(bytes.data());
  ASSERT_TRUE(decoded.has_value());
  EXPECT_NE(decoded->sector, 78u);  // read back at sector 78: attributable as misplaced
  EXPECT_EQ(decoded->sector, 77u);
}

TEST(Stamp, InitialOriginContentIsTheWriteIdZeroStampOfEachSector) {
  const SectorGenerator generator = InitialOriginContent();
  SectorBytes bytes;
  for (sector_t s : {sector_t{0}, sector_t{1}, sector_t{1} << 31}) {
    generator(s, bytes.data());
    auto decoded = DecodeStamp(bytes.data());
    ASSERT_TRUE(decoded.has_value());
    EXPECT_EQ(*decoded, InitialOriginStamp(s));
    EXPECT_EQ(decoded->write_id, 0u);
  }
}

}  // namespace
}  // namespace snapsim
