// SPDX-License-Identifier: GPL-2.0-only
// core/format.h against the bytes Linux 3.7.1 writes.
#include "core/format.h"

#include <cstring>
#include <vector>

#include "gtest/gtest.h"

namespace snapsim {
namespace {

TEST(FormatTest, HeaderEncodesAsSnApMagicThenLittleEndianWords) {
  uint8_t bytes[16] = {};
  EncodeHeader(DiskHeader{kSnapMagic, 1, 1, 16}, bytes);
  const uint8_t kExpected[16] = {0x53, 0x6E, 0x41, 0x70, 1, 0, 0, 0, 1, 0, 0, 0, 16, 0, 0, 0};
  EXPECT_EQ(0, std::memcmp(bytes, kExpected, sizeof bytes));
  EXPECT_EQ(0, std::memcmp(bytes, "SnAp", 4));
}

TEST(FormatTest, HeaderDecodesFieldsAtTheirOffsets) {
  const uint8_t bytes[16] = {0x53, 0x6E, 0x41, 0x70, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0x20, 0};
  const DiskHeader h = DecodeHeader(bytes);
  EXPECT_EQ(h.magic, kSnapMagic);
  EXPECT_EQ(h.valid, 0u);
  EXPECT_EQ(h.version, 2u);
  EXPECT_EQ(h.chunk_size, 0x200000u);
}

TEST(FormatTest, ExceptionSlotIsOldChunkThenNewChunkLittleEndian) {
  std::vector<uint8_t> area(64, 0xFF);
  EncodeException(area.data(), 1, DiskException{0x0102030405060708, 0x1112131415161718});
  const uint8_t kExpected[16] = {8,    7,    6,    5,    4,    3,    2,    1,
                                 0x18, 0x17, 0x16, 0x15, 0x14, 0x13, 0x12, 0x11};
  EXPECT_EQ(0, std::memcmp(area.data() + 16, kExpected, 16));
  EXPECT_EQ(area[15], 0xFF) << "slot 0 untouched";
  EXPECT_EQ(area[32], 0xFF) << "slot 2 untouched";
  const DiskException e = DecodeException(area.data(), 1);
  EXPECT_EQ(e.old_chunk, 0x0102030405060708u);
  EXPECT_EQ(e.new_chunk, 0x1112131415161718u);
}

TEST(FormatTest, AreasFollowTheirDataChunks) {
  EXPECT_EQ(ExceptionsPerArea(1), 32u);
  EXPECT_EQ(ExceptionsPerArea(32), 1024u);
  EXPECT_EQ(AreaLocation(ExceptionsPerArea(16), 0), 1u);
  EXPECT_EQ(AreaLocation(ExceptionsPerArea(16), 2), 1027u);
  EXPECT_EQ(AreaLocation(ExceptionsPerArea(32), 1), 1026u);
}

TEST(FormatTest, HeaderAndAreasAreMetadataChunksAndNothingElse) {
  const uint32_t e = ExceptionsPerArea(1);  // 32
  EXPECT_TRUE(IsMetadataChunk(e, 0));
  EXPECT_TRUE(IsMetadataChunk(e, 1));
  EXPECT_TRUE(IsMetadataChunk(e, 34));
  EXPECT_TRUE(IsMetadataChunk(e, 67));
  EXPECT_FALSE(IsMetadataChunk(e, 2));
  EXPECT_FALSE(IsMetadataChunk(e, 33));
  EXPECT_FALSE(IsMetadataChunk(e, 35));
}

TEST(FormatTest, AreaOfChunkInvertsAreaLocationForEveryChunkSize) {
  for (uint32_t chunk_sectors = 1; chunk_sectors <= 1024; chunk_sectors *= 2) {
    const uint32_t e = ExceptionsPerArea(chunk_sectors);
    for (const chunk_t area : {chunk_t{0}, chunk_t{1}, chunk_t{2}, chunk_t{7}, chunk_t{1000}}) {
      const chunk_t chunk = AreaLocation(e, area);
      EXPECT_TRUE(IsAreaChunk(e, chunk)) << chunk_sectors << " " << area;
      EXPECT_EQ(AreaOfChunk(e, chunk), area) << chunk_sectors << " " << area;
      // The neighbours are data chunks (or the header, before area 0).
      EXPECT_FALSE(IsAreaChunk(e, chunk - 1));
      EXPECT_FALSE(IsAreaChunk(e, chunk + 1));
      EXPECT_EQ(IsMetadataChunk(e, chunk - 1), area == 0) << "only the header precedes area 0";
      // An area I/O is the whole chunk, at the chunk's first sector.
      const sector_t sector = chunk * chunk_sectors;
      EXPECT_TRUE(IsAreaIo(chunk_sectors, sector, chunk_sectors));
      EXPECT_EQ(AreaOfIo(chunk_sectors, sector), area);
      EXPECT_FALSE(IsAreaIo(chunk_sectors, sector, chunk_sectors * 2));
      if (chunk_sectors > 1) {
        EXPECT_FALSE(IsAreaIo(chunk_sectors, sector + 1, chunk_sectors));
        EXPECT_FALSE(IsAreaIo(chunk_sectors, sector, chunk_sectors - 1));
      }
    }
  }
}

TEST(FormatTest, TheHeaderIsMetadataButNotAnArea) {
  const uint32_t e = ExceptionsPerArea(8);
  EXPECT_TRUE(IsMetadataChunk(e, 0));
  EXPECT_FALSE(IsAreaChunk(e, 0));
  EXPECT_FALSE(IsAreaIo(8, 0, 8)) << "a header write is not an area write";
}

TEST(FormatTest, UsageCountsTheHeaderAndEveryAreaUpToTheCurrentOne) {
  EXPECT_EQ(MetadataSectors(16, 0), 32u);
  EXPECT_EQ(MetadataSectors(16, 2), 64u);
  EXPECT_EQ(AllocatedSectors(16, 2), 32u) << "a fresh store: header and area 0";
  EXPECT_EQ(AllocatedSectors(8, 515), 4120u);
}

}  // namespace
}  // namespace snapsim
