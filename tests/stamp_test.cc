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

// The memoized decoder gives DecodeStamp's answer on intact, flipped, torn and foreign sectors,
// for more stamps than its memo holds (slots evicted and refilled, colliding seeds), and a
// decoder sharing the memo does too.
TEST(StampDecoder, AnswersAsDecodeStampWhateverTheMemoHolds) {
  const StampDecoder decoder;
  const StampDecoder copy = decoder.Share();
  uint32_t intact = 0, rejected = 0;
  for (uint32_t round = 0; round < 3; ++round) {
    for (uint64_t write_id = 0; write_id < 700; ++write_id) {
      const Stamp stamp{static_cast<uint32_t>(write_id % 3), write_id * 7 % 64, write_id};
      SectorBytes bytes = Stamped(stamp);
      const StampDecoder& d = write_id % 2 == 0 ? decoder : copy;
      ASSERT_EQ(d.Decode(bytes.data()), DecodeStamp(bytes.data())) << write_id;
      intact += d.Decode(bytes.data()).has_value() ? 1 : 0;
      const SectorBytes other = Stamped({stamp.device, stamp.sector, write_id + 1});
      const uint32_t cut = 8 + static_cast<uint32_t>(write_id * 8 % (kSectorSize - 8));
      std::memcpy(bytes.data() + cut, other.data() + cut, kSectorSize - cut);  // torn: a suffix
      ASSERT_EQ(d.Decode(bytes.data()), DecodeStamp(bytes.data())) << write_id << " cut " << cut;
      bytes = Stamped(stamp);
      bytes[write_id % kSectorSize] ^= 0x40;  // one flipped bit
      ASSERT_EQ(d.Decode(bytes.data()), DecodeStamp(bytes.data())) << write_id;
      rejected += d.Decode(bytes.data()).has_value() ? 0 : 1;
    }
  }
  EXPECT_EQ(intact, 3u * 700u);
  EXPECT_EQ(rejected, 3u * 700u);
  SectorBytes zeros{};
  EXPECT_FALSE(decoder.Decode(zeros.data()).has_value());
}

}  // namespace
}  // namespace snapsim
