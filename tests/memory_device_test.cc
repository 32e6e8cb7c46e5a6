// SPDX-License-Identifier: GPL-2.0-only
#include "core/memory_device.h"

#include <algorithm>
#include <cerrno>
#include <vector>

#include "gtest/gtest.h"

namespace snapsim {
namespace {

TEST(MemoryDeviceTest, WrittenSectorsReadBack) {
  MemoryDevice device(16, 512, "mem");
  std::vector<uint8_t> out(1024, 0x5A);
  ASSERT_EQ(SyncIo(device, BioOp::kWrite, 3, 2, out.data()), 0);
  std::vector<uint8_t> in(1024, 0);
  ASSERT_EQ(SyncIo(device, BioOp::kRead, 3, 2, in.data()), 0);
  EXPECT_EQ(in, out);
  EXPECT_EQ(device.bytes()[3 * 512 - 1], 0);
  EXPECT_EQ(device.bytes()[3 * 512], 0x5A);
  EXPECT_EQ(device.bytes()[5 * 512], 0);
  EXPECT_EQ(device.SectorData(4)[0], 0x5A);
}

TEST(MemoryDeviceTest, ReportsSizeBlockSizeAndName) {
  MemoryDevice device(16, 4096, "cow");
  EXPECT_EQ(device.size_sectors(), 16u);
  EXPECT_EQ(device.logical_block_size(), 4096u);
  EXPECT_EQ(device.name(), "cow");
  EXPECT_EQ(device.bytes().size(), 16u * 512);
}

TEST(MemoryDeviceTest, FromBytesKeepsTheBytes) {
  std::vector<uint8_t> bytes(2048);
  for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<uint8_t>(i * 7);
  MemoryDevice device = MemoryDevice::FromBytes(bytes, 512, "image");
  EXPECT_EQ(device.size_sectors(), 4u);
  std::vector<uint8_t> in(512);
  ASSERT_EQ(SyncIo(device, BioOp::kRead, 2, 1, in.data()), 0);
  EXPECT_TRUE(std::equal(in.begin(), in.end(), bytes.begin() + 1024));
}

TEST(MemoryDeviceTest, FlushAndFuaCompleteAtOnce) {
  MemoryDevice device(8);
  EXPECT_EQ(SyncIo(device, BioOp::kWrite, 0, 0, nullptr, /*preflush=*/true), 0);
  std::vector<uint8_t> out(512, 1);
  EXPECT_EQ(SyncIo(device, BioOp::kWrite, 7, 1, out.data(), true, true), 0);
  EXPECT_EQ(device.bytes()[7 * 512], 1);
}

TEST(MemoryDeviceTest, BioPastTheEndFailsWithEioAndChangesNothing) {
  MemoryDevice device(8);
  std::vector<uint8_t> out(1024, 9);
  EXPECT_EQ(SyncIo(device, BioOp::kWrite, 7, 2, out.data()), -EIO);
  EXPECT_EQ(SyncIo(device, BioOp::kRead, ~sector_t{0}, 1, out.data()), -EIO);
  EXPECT_EQ(device.bytes(), std::vector<uint8_t>(8 * 512, 0));
}

}  // namespace
}  // namespace snapsim
