// SPDX-License-Identifier: GPL-2.0-only
#include "core/file_device.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace snapsim {
namespace {

class FileDeviceTest : public ::testing::Test {
 protected:
  std::string Path(const std::string& name) {
    const std::string path =
        ::testing::TempDir() + "file_device_test_" + std::to_string(getpid()) + "_" + name;
    created_.push_back(path);
    return path;
  }
  std::string WriteFile(const std::string& name, const std::vector<uint8_t>& bytes) {
    const std::string path = Path(name);
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(bytes.data()),
              static_cast<std::streamsize>(bytes.size()));
    return path;
  }
  std::vector<uint8_t> ReadFile(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), {});
  }
  void TearDown() override {
    for (const std::string& path : created_) ::unlink(path.c_str());
  }

 private:
  std::vector<std::string> created_;
};

std::vector<uint8_t> Pattern(size_t size) {
  std::vector<uint8_t> bytes(size);
  for (size_t i = 0; i < size; ++i) bytes[i] = static_cast<uint8_t>(i * 31 + 7);
  return bytes;
}

TEST_F(FileDeviceTest, ReportsSizeInSectorsAnd512ByteBlocksForAFile) {
  const std::string path = WriteFile("size", Pattern(8 * kSectorSize));
  auto device = FileDevice::Open(path, FileAccess::kReadOnly);
  ASSERT_TRUE(device.ok()) << device.status();
  EXPECT_EQ((*device)->size_sectors(), 8u);
  EXPECT_EQ((*device)->logical_block_size(), kSectorSize);
  EXPECT_EQ((*device)->name(), path);
  EXPECT_TRUE((*device)->read_only());
  EXPECT_FALSE((*device)->is_block_device());
}

TEST_F(FileDeviceTest, ReadsTheFilesBytes) {
  const std::vector<uint8_t> bytes = Pattern(4 * kSectorSize);
  auto device = FileDevice::Open(WriteFile("read", bytes), FileAccess::kReadOnly);
  ASSERT_TRUE(device.ok());
  std::vector<uint8_t> buffer(2 * kSectorSize);
  ASSERT_EQ(SyncIo(**device, BioOp::kRead, 1, 2, buffer.data()), 0);
  EXPECT_EQ(buffer,
            std::vector<uint8_t>(bytes.begin() + kSectorSize, bytes.begin() + 3 * kSectorSize));
}

TEST_F(FileDeviceTest, ReadWriteDeviceWritesWithFlushAndFua) {
  const std::string path = WriteFile("write", std::vector<uint8_t>(4 * kSectorSize, 0));
  auto device = FileDevice::Open(path, FileAccess::kReadWrite);
  ASSERT_TRUE(device.ok());
  std::vector<uint8_t> data(kSectorSize, 0xab);
  ASSERT_EQ(SyncIo(**device, BioOp::kWrite, 2, 1, data.data(), /*preflush=*/true, /*fua=*/true), 0);
  ASSERT_EQ(SyncIo(**device, BioOp::kWrite, 0, 0, nullptr, /*preflush=*/true), 0);
  const std::vector<uint8_t> on_disk = ReadFile(path);
  EXPECT_EQ(on_disk[2 * kSectorSize], 0xab);
  EXPECT_EQ(on_disk[3 * kSectorSize - 1], 0xab);
  EXPECT_EQ(on_disk[3 * kSectorSize], 0);
}

TEST_F(FileDeviceTest, ReadOnlyDeviceRefusesWritesWithErofsAndLeavesTheFileAlone) {
  const std::vector<uint8_t> bytes = Pattern(4 * kSectorSize);
  const std::string path = WriteFile("readonly", bytes);
  auto device = FileDevice::Open(path, FileAccess::kReadOnly);
  ASSERT_TRUE(device.ok());
  std::vector<uint8_t> data(kSectorSize, 0);
  EXPECT_EQ(SyncIo(**device, BioOp::kWrite, 0, 1, data.data()), -EROFS);
  EXPECT_EQ(SyncIo(**device, BioOp::kWrite, 0, 0, nullptr, /*preflush=*/true), -EROFS);
  EXPECT_EQ(ReadFile(path), bytes);
}

TEST_F(FileDeviceTest, BioPastTheEndFailsWithEio) {
  auto device =
      FileDevice::Open(WriteFile("end", Pattern(4 * kSectorSize)), FileAccess::kReadWrite);
  ASSERT_TRUE(device.ok());
  std::vector<uint8_t> buffer(2 * kSectorSize);
  EXPECT_EQ(SyncIo(**device, BioOp::kRead, 3, 2, buffer.data()), -EIO);
  EXPECT_EQ(SyncIo(**device, BioOp::kWrite, 4, 1, buffer.data()), -EIO);
  EXPECT_EQ(ReadFile((*device)->name()).size(), 4 * kSectorSize);  // not extended
}

TEST_F(FileDeviceTest, MissingFileErrorNamesThePathAndTheReason) {
  const std::string path = Path("missing");
  auto device = FileDevice::Open(path, FileAccess::kReadOnly);
  ASSERT_FALSE(device.ok());
  EXPECT_EQ(device.status().message(), "cannot open " + path + ": No such file or directory");
}

TEST_F(FileDeviceTest, EmptyFileIsRefused) {
  const std::string path = WriteFile("empty", {});
  auto device = FileDevice::Open(path, FileAccess::kReadOnly);
  ASSERT_FALSE(device.ok());
  EXPECT_EQ(device.status().message(), path + " is empty");
}

TEST_F(FileDeviceTest, SizeThatIsNotWholeSectorsIsRefused) {
  const std::string path = WriteFile("odd", Pattern(kSectorSize + 1));
  auto device = FileDevice::Open(path, FileAccess::kReadOnly);
  ASSERT_FALSE(device.ok());
  EXPECT_EQ(device.status().message(), path + " size is not a multiple of 512 bytes");
}

TEST_F(FileDeviceTest, DirectoryIsRefused) {
  auto device = FileDevice::Open(::testing::TempDir(), FileAccess::kReadOnly);
  EXPECT_FALSE(device.ok());
}

// A FIFO with no writer used to block open() forever (issue 15): refused at once instead.
TEST_F(FileDeviceTest, FifoWithoutAWriterIsRefusedWithoutBlocking) {
  const std::string fifo = Path("fifo");
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  auto device = FileDevice::Open(fifo, FileAccess::kReadOnly);
  ASSERT_FALSE(device.ok());
  EXPECT_EQ(device.status().message(), fifo + " is not a regular file or a block device");
}

TEST(BioErrorFromErrno, NegatesErrnoAndTurnsNoProgressIntoEio) {
  EXPECT_EQ(BioErrorFromErrno(ENOSPC), -ENOSPC);
  EXPECT_EQ(BioErrorFromErrno(EIO), -EIO);
  EXPECT_EQ(BioErrorFromErrno(0), -EIO);
}

}  // namespace
}  // namespace snapsim
