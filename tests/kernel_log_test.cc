// SPDX-License-Identifier: GPL-2.0-only
//
// The host side of `snapsim kernel` without a VM: a dm-log-writes log (in 6.1's layout) parses,
// the crash fates keep exactly the writes the device contract allows, stamps round-trip, and the
// dump check names every sector that holds data which does not belong there.
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "kernel/guest/log_writes.h"
#include "kernel/guest/stamp.h"
#include "kernel/job.h"
#include "tests/support/fake_campaign.h"

namespace snapsim::kernel {
namespace {

using testing::MakeTempDir;

// A log in 6.1's layout, built entry by entry; `block` is the log's sectorsize.
class LogBuilder {
 public:
  explicit LogBuilder(uint32_t block) : block_(block), bytes_(block, 0) {}
  void Write(uint64_t sector512, uint32_t sectors512, uint64_t flags, uint8_t fill) {
    Entry(sector512 / (block_ / 512), sectors512 / (block_ / 512), flags, 0);
    bytes_.resize(bytes_.size() + static_cast<size_t>(sectors512) * 512, fill);
    Pad();
  }
  void Flush() { Entry(0, 0, kLogFlush, 0); }
  void Mark(const std::string& name) {
    const size_t at = bytes_.size();
    Entry(0, 0, kLogMark, name.size());
    std::memcpy(&bytes_[at + 32], name.data(), name.size());
  }
  std::vector<uint8_t> Finish() {
    Put(0, kLogMagic);
    Put(8, 1);
    Put(16, count_);
    Put(24, block_);
    return bytes_;
  }

 private:
  void Put(size_t at, uint64_t v) {
    for (int i = 0; i < 8; ++i) bytes_[at + i] = static_cast<uint8_t>(v >> (8 * i));
  }
  void Entry(uint64_t sector, uint64_t sectors, uint64_t flags, uint64_t data_len) {
    const size_t at = bytes_.size();
    bytes_.resize(at + block_, 0);
    Put(at, sector);
    Put(at + 8, sectors);
    Put(at + 16, flags);
    Put(at + 24, data_len);
    ++count_;
  }
  void Pad() { bytes_.resize((bytes_.size() + block_ - 1) / block_ * block_, 0); }

  uint32_t block_;
  std::vector<uint8_t> bytes_;
  uint64_t count_ = 0;
};

std::vector<LogEntry> Parse(const std::vector<uint8_t>& log, std::string* problem = nullptr) {
  std::vector<LogEntry> entries;
  const std::string p = ParseLog(
      [&log](uint64_t offset, void* out, size_t bytes) {
        if (offset + bytes > log.size()) return false;
        std::memcpy(out, log.data() + offset, bytes);
        return true;
      },
      &entries);
  if (problem != nullptr) *problem = p;
  EXPECT_TRUE(problem != nullptr || p.empty()) << p;
  return entries;
}

// The order 6.1 logs in: plain writes only before the FLUSH that covered them, FUA at once,
// unflushed plain writes after the crash mark (when the log device is removed).
TEST(KernelLogTest, FatesKeepWhatTheDeviceContractAllows) {
  for (uint32_t block : {512u, 4096u}) {
    LogBuilder b(block);
    b.Write(8, 8, 0, 1);         // 0: plain, covered by the flush below: durable
    b.Flush();                   // 1
    b.Write(16, 8, kLogFua, 2);  // 2: FUA: durable
    b.Mark("crash");             // 3
    b.Write(24, 8, 0, 3);        // 4: completed, never flushed
    b.Write(0, 8, kLogFua, 4);   // 5: FUA after the crash: never
    b.Mark("dm-log-writes-end");
    const std::vector<LogEntry> entries = Parse(b.Finish());
    ASSERT_EQ(entries.size(), 7u) << block;
    EXPECT_EQ(entries[0].sector, 8u);
    EXPECT_EQ(entries[0].nr_sectors, 8u);
    EXPECT_EQ(entries[3].mark, "crash");
    const size_t cut = FindMark(entries, "crash");
    EXPECT_EQ(cut, 3u);
    EXPECT_EQ(SurvivingWrites(entries, cut, LogFate::kDrop), (std::vector<size_t>{0, 2}));
    EXPECT_EQ(SurvivingWrites(entries, cut, LogFate::kKeep), (std::vector<size_t>{0, 2, 4}));
  }
}

TEST(KernelLogTest, NotALogIsRefused) {
  std::vector<uint8_t> junk(4096, 7);
  std::string problem;
  Parse(junk, &problem);
  EXPECT_NE(problem.find("bad magic"), std::string::npos) << problem;
  // The super block promises two entries; the log holds one.
  LogBuilder b(512);
  b.Write(0, 8, 0, 1);
  std::vector<uint8_t> short_log = b.Finish();
  short_log[16] = 2;
  Parse(short_log, &problem);
  EXPECT_EQ(problem, "log entry 1 unreadable");
}

TEST(KernelLogTest, StampsRoundTripAndATornSectorIsNoStamp) {
  uint8_t sector[kStampSectorBytes];
  FillStamp("o12", 345, sector);
  std::optional<SectorStamp> s = ReadStamp(sector);
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->tag, "o12");
  EXPECT_EQ(s->sector, 345u);
  uint8_t other[kStampSectorBytes];
  FillStamp("o13", 345, other);
  std::memcpy(sector + 256, other + 256, 256);  // half of one write, half of another
  EXPECT_FALSE(ReadStamp(sector).has_value());
}

TEST(KernelLogTest, DumpCheckNamesDataThatDoesNotBelong) {
  const std::string dir = MakeTempDir("kernel_dump_check");
  const std::string dump = dir + "/dump";
  ASSERT_TRUE(CreateStampedImage(dump, 64).ok());
  // Snapshot content: initial everywhere, a snapshot write at its own sectors: all fine.
  {
    std::fstream f(dump, std::ios::binary | std::ios::in | std::ios::out);
    uint8_t sector[kStampSectorBytes];
    FillStamp("s3", 9, sector);
    f.seekp(9 * 512);
    f.write(reinterpret_cast<const char*>(sector), sizeof sector);
  }
  EXPECT_EQ(CheckDump(dump, 64, 4, "s", true).wrong_sectors, 0u);
  // An origin write in the snapshot, a snapshot write at another sector, zeros.
  {
    std::fstream f(dump, std::ios::binary | std::ios::in | std::ios::out);
    uint8_t sector[kStampSectorBytes];
    FillStamp("o7", 20, sector);
    f.seekp(20 * 512);
    f.write(reinterpret_cast<const char*>(sector), sizeof sector);
    FillStamp("s3", 9, sector);
    f.seekp(40 * 512);
    f.write(reinterpret_cast<const char*>(sector), sizeof sector);
    std::memset(sector, 0, sizeof sector);
    f.seekp(63 * 512);
    f.write(reinterpret_cast<const char*>(sector), sizeof sector);
  }
  const DumpVerdict v = CheckDump(dump, 64, 4, "s", true);
  EXPECT_EQ(v.wrong_sectors, 3u);
  EXPECT_EQ(v.wrong_chunks, 3u);
  ASSERT_EQ(v.lines.size(), 3u);
  EXPECT_EQ(v.lines[0], "chunk 5 sector 20 holds the origin write of step 7");
  EXPECT_EQ(v.lines[1], "chunk 10 sector 40 holds the snapshot write of step 3 for sector 9");
  EXPECT_EQ(v.lines[2], "chunk 15 sector 63 holds data no write put there");
  // When the initial content is the simulator's, unstamped data is not judged.
  EXPECT_EQ(CheckDump(dump, 64, 4, "s", false).wrong_sectors, 2u);
}

}  // namespace
}  // namespace snapsim::kernel
