// SPDX-License-Identifier: GPL-2.0-only
#include "core/snapshot_target.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "core/exception_store.h"
#include "core/format.h"
#include "core/kernel_log.h"
#include "core/memory_device.h"
#include "core/sha256.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/deferred_device.h"
#include "tests/support/golden.h"

namespace snapsim {
namespace {

using ::snapsim::testing::DeferredDevice;
using ::testing::HasSubstr;

constexpr uint32_t kChunk = 16;
constexpr sector_t kOriginSectors = 64 * kChunk;  // 64 chunks
constexpr sector_t kCowSectors = 8192;            // 4 MiB, the golden geometry
constexpr size_t kMaxDrainRounds = 1000;

// The byte every sector of the origin starts with: tells whose data a sector holds.
uint8_t OriginByte(sector_t sector) { return static_cast<uint8_t>(sector % 251 + 1); }

// One bio the test submitted, kept alive (data included) until it ends.
struct Io {
  bool done = false;
  int error = 0;
  int ends = 0;
  std::vector<uint8_t> data;
};

class TargetTest : public ::testing::Test {
 protected:
  TargetTest() : origin_("origin", kOriginSectors), cow_("cow", kCowSectors) {
    for (sector_t s = 0; s < kOriginSectors; ++s) {
      std::memset(origin_.SectorData(s), OriginByte(s), kSectorSize);
    }
    origin_.set_sequence(&sequence_);
    cow_.set_sequence(&sequence_);
  }

  std::unique_ptr<SnapshotTarget> Make(TargetKind kind = TargetKind::kSnapshot,
                                       TargetOptions options = {}) {
    absl::StatusOr<std::unique_ptr<SnapshotTarget>> target =
        SnapshotTarget::Create(kind, &origin_, &cow_, {"/dev/origin", "/dev/cow", "P", "16"},
                               options, StoreOptions{}, &log_);
    EXPECT_TRUE(target.ok()) << target.status();
    origin_.ClearRecords();
    cow_.ClearRecords();
    return target.ok() ? *std::move(target) : nullptr;
  }

  std::shared_ptr<Io> Submit(SnapshotTarget& target, bool to_origin, BioOp op, sector_t sector,
                             uint32_t count, uint8_t fill = 0, bool preflush = false) {
    auto io = std::make_shared<Io>();
    io->data.assign(uint64_t{count} << kSectorShift, fill);
    Bio bio;
    bio.op = op;
    bio.sector = sector;
    bio.sector_count = count;
    bio.preflush = preflush;
    bio.data = count > 0 ? io->data.data() : nullptr;
    bio.end_io = [io](int error) {
      io->done = true;
      io->error = error;
      ++io->ends;
    };
    if (to_origin) {
      target.SubmitOrigin(std::move(bio));
    } else {
      target.SubmitSnapshot(std::move(bio));
    }
    return io;
  }
  std::shared_ptr<Io> OriginWrite(SnapshotTarget& t, sector_t sector, uint32_t count,
                                  uint8_t fill) {
    return Submit(t, true, BioOp::kWrite, sector, count, fill);
  }
  std::shared_ptr<Io> SnapWrite(SnapshotTarget& t, sector_t sector, uint32_t count, uint8_t fill) {
    return Submit(t, false, BioOp::kWrite, sector, count, fill);
  }
  std::shared_ptr<Io> SnapRead(SnapshotTarget& t, sector_t sector, uint32_t count) {
    return Submit(t, false, BioOp::kRead, sector, count);
  }

  void Drain() {
    for (size_t i = 0; origin_.queued() + cow_.queued() > 0; ++i) {
      ASSERT_LT(i, kMaxDrainRounds);
      origin_.ReleaseAll();
      cow_.ReleaseAll();
    }
  }

  // The exceptions a fresh load of the COW device finds (a reload, as after a reboot).
  std::vector<Exception> LoadTable() {
    absl::StatusOr<std::unique_ptr<ExceptionStore>> store =
        CreateExceptionStore({"P", "16"}, &origin_, &cow_, StoreOptions{}, nullptr);
    EXPECT_TRUE(store.ok());
    std::vector<Exception> table;
    const int r = (*store)->ReadMetadata([&table](chunk_t old_chunk, chunk_t new_chunk) {
      table.push_back(Exception{old_chunk, new_chunk});
      return 0;
    });
    EXPECT_EQ(r, 0);
    std::sort(table.begin(), table.end(),
              [](const Exception& a, const Exception& b) { return a.old_chunk < b.old_chunk; });
    return table;
  }

  // The whole snapshot image as the target reads it.
  std::vector<uint8_t> ReadSnapshotImage(SnapshotTarget& t) {
    std::vector<uint8_t> image;
    for (sector_t s = 0; s < kOriginSectors; s += kChunk) {
      std::shared_ptr<Io> io = SnapRead(t, s, kChunk);
      Drain();
      EXPECT_TRUE(io->done);
      EXPECT_EQ(io->error, 0);
      image.insert(image.end(), io->data.begin(), io->data.end());
    }
    return image;
  }

  bool CowChunkHoldsOrigin(chunk_t new_chunk, chunk_t old_chunk) {
    for (sector_t i = 0; i < kChunk; ++i) {
      const uint8_t* p = cow_.SectorData(new_chunk * kChunk + i);
      const uint8_t want = OriginByte(old_chunk * kChunk + i);
      if (std::any_of(p, p + kSectorSize, [want](uint8_t b) { return b != want; })) return false;
    }
    return true;
  }

  bool LogHas(const std::string& text) const {
    for (const CollectingLog::Entry& e : log_.entries()) {
      if (e.message.find(text) != std::string::npos) return true;
    }
    return false;
  }

  std::optional<DeferredDevice::Record> FindRecord(const DeferredDevice& d, BioOp op,
                                                   sector_t sector) const {
    for (const DeferredDevice::Record& r : d.records()) {
      if (r.op == op && r.sector == sector && r.sector_count > 0) return r;
    }
    return std::nullopt;
  }
  std::optional<DeferredDevice::Record> FindAreaWrite() const {
    for (const DeferredDevice::Record& r : cow_.records()) {
      if (r.op == BioOp::kWrite && r.preflush && r.fua && r.sector_count > 0) return r;
    }
    return std::nullopt;
  }

  uint64_t sequence_ = 0;
  DeferredDevice origin_;
  DeferredDevice cow_;
  CollectingLog log_;
};

TEST_F(TargetTest, OriginWriteToUnmappedChunkCopiesThenCommitsThenWritesThrough) {
  auto target = Make();
  std::shared_ptr<Io> io = OriginWrite(*target, 3 * kChunk + 2, 4, 0xAA);
  Drain();
  ASSERT_TRUE(io->done);
  EXPECT_EQ(io->error, 0);

  auto copy_read = FindRecord(origin_, BioOp::kRead, 3 * kChunk);
  auto copy_write = FindRecord(cow_, BioOp::kWrite, 2 * kChunk);  // first data chunk
  auto area_write = FindAreaWrite();
  auto origin_write = FindRecord(origin_, BioOp::kWrite, 3 * kChunk + 2);
  ASSERT_TRUE(copy_read && copy_write && area_write && origin_write);
  EXPECT_EQ(copy_read->sector_count, kChunk);
  EXPECT_LT(copy_read->seq, copy_write->seq);
  EXPECT_LT(copy_write->seq, area_write->seq);
  EXPECT_LT(area_write->seq, origin_write->seq);
  EXPECT_EQ(area_write->sector, 1 * kChunk);

  EXPECT_TRUE(CowChunkHoldsOrigin(2, 3));
  EXPECT_EQ(origin_.SectorData(3 * kChunk + 2)[0], 0xAA);
  std::vector<Exception> table = LoadTable();
  ASSERT_EQ(table.size(), 1u);
  EXPECT_EQ(table[0].old_chunk, 3u);
  EXPECT_EQ(table[0].new_chunk, 2u);

  // A new target over the same devices reads the old data through the snapshot.
  target.reset();
  auto reloaded = Make();
  std::shared_ptr<Io> read = SnapRead(*reloaded, 3 * kChunk + 2, 1);
  Drain();
  ASSERT_TRUE(read->done);
  EXPECT_EQ(read->data[0], OriginByte(3 * kChunk + 2));
  EXPECT_EQ(reloaded->in_flight(), 0u);
}

TEST_F(TargetTest, HeldOriginWriteIsNotIssuedBeforeTheCommitCallback) {
  auto target = Make();
  std::shared_ptr<Io> io = OriginWrite(*target, 5 * kChunk, 1, 0xBB);
  origin_.ReleaseAt(0);  // copy read
  ASSERT_EQ(cow_.queued(), 1u);
  // Releasing the copy write runs commit_exception, whose area write the COW releases in
  // WaitFor; the origin write must only appear after that area write.
  cow_.ReleaseAt(0);
  auto area_write = FindAreaWrite();
  ASSERT_TRUE(area_write.has_value());
  auto origin_write = FindRecord(origin_, BioOp::kWrite, 5 * kChunk);
  ASSERT_TRUE(origin_write.has_value());
  // The commit callback runs once the area write has ended; the held write only goes after it.
  ASSERT_NE(area_write->end_seq, 0u);
  EXPECT_GT(origin_write->seq, area_write->end_seq);
  EXPECT_FALSE(io->done);
  Drain();
  EXPECT_TRUE(io->done);
  EXPECT_EQ(io->error, 0);
}

TEST_F(TargetTest, OriginWriteWaitsWhileCopyIsInFlight) {
  auto target = Make();
  std::shared_ptr<Io> io = OriginWrite(*target, 5 * kChunk, 1, 0xBB);
  // Only the copy read is out; the write itself is held.
  ASSERT_EQ(origin_.queued(), 1u);
  EXPECT_EQ(origin_.QueuedRecord(0).op, BioOp::kRead);
  origin_.ReleaseAt(0);
  EXPECT_FALSE(FindRecord(origin_, BioOp::kWrite, 5 * kChunk).has_value());
  EXPECT_EQ(target->in_flight(), 2u);  // the bio and its pending exception
  Drain();
  EXPECT_TRUE(io->done);
  EXPECT_EQ(target->in_flight(), 0u);
}

TEST_F(TargetTest, ConcurrentCopiesCompletingInReverseOrderAllCommit) {
  auto target = Make();
  std::vector<std::shared_ptr<Io>> ios;
  for (chunk_t c : {7, 1, 4}) ios.push_back(OriginWrite(*target, c * kChunk, kChunk, 0xC0));
  ASSERT_EQ(origin_.queued(), 3u);
  origin_.ReleaseReverse();  // copy reads end newest first
  ASSERT_EQ(cow_.queued(), 3u);
  cow_.ReleaseReverse();  // copy writes too
  Drain();
  for (const auto& io : ios) {
    EXPECT_TRUE(io->done);
    EXPECT_EQ(io->error, 0);
  }
  std::vector<Exception> table = LoadTable();
  ASSERT_EQ(table.size(), 3u);
  for (const Exception& e : table) EXPECT_TRUE(CowChunkHoldsOrigin(e.new_chunk, e.old_chunk));
  EXPECT_EQ(target->Status(), "80/8192 32");
}

// Chunk size 1: 32 exceptions fill area 0, so the 32nd commit writes the area while the 33rd
// copy is still out. That copy ends inside the commit's wait and must be queued behind it (as
// kcopyd's single callback thread does), not re-enter the store with a full area.
TEST_F(TargetTest, CopyCompletionDuringCommitIsQueuedBehindIt) {
  auto created = SnapshotTarget::Create(TargetKind::kSnapshot, &origin_, &cow_,
                                        {"o", "c", "P", "1"}, {}, {}, &log_);
  ASSERT_TRUE(created.ok());
  constexpr uint32_t kPerArea = ExceptionsPerArea(1);
  std::vector<std::shared_ptr<Io>> ios;
  for (sector_t s = 0; s <= kPerArea; ++s) ios.push_back(OriginWrite(**created, s, 1, 0x77));
  origin_.ReleaseAll();  // every copy read
  ASSERT_EQ(cow_.queued(), kPerArea + 1);
  for (uint32_t i = 0; i < kPerArea; ++i) cow_.ReleaseAt(0);  // the 32nd waits for the area
  Drain();
  for (const auto& io : ios) EXPECT_EQ(io->error, 0);
  absl::StatusOr<std::unique_ptr<ExceptionStore>> store =
      CreateExceptionStore({"P", "1"}, &origin_, &cow_, StoreOptions{}, nullptr);
  ASSERT_TRUE(store.ok());
  std::vector<Exception> table;
  ASSERT_EQ((*store)->ReadMetadata([&table](chunk_t o, chunk_t n) {
    table.push_back(Exception{o, n});
    return 0;
  }),
            0);
  ASSERT_EQ(table.size(), kPerArea + 1);
  for (const Exception& e : table) {
    EXPECT_FALSE(IsMetadataChunk(kPerArea, e.new_chunk));
    EXPECT_EQ(cow_.SectorData(e.new_chunk)[0], OriginByte(e.old_chunk));
  }
  EXPECT_TRUE((*created)->valid());
}

TEST_F(TargetTest, TwoOriginWritesToTheSameChunkShareOnePendingException) {
  auto target = Make();
  auto a = OriginWrite(*target, 6 * kChunk + 1, 1, 0x01);
  auto b = OriginWrite(*target, 6 * kChunk + 9, 1, 0x02);
  EXPECT_EQ(origin_.queued(), 1u);  // one copy read
  Drain();
  EXPECT_TRUE(a->done && b->done);
  size_t copy_reads = 0;
  for (const auto& r : origin_.records()) copy_reads += r.op == BioOp::kRead;
  EXPECT_EQ(copy_reads, 1u);
  EXPECT_EQ(LoadTable().size(), 1u);
  EXPECT_EQ(target->Status(), "48/8192 32");
}

TEST_F(TargetTest, NoRoomInvalidatesTheSnapshotAndTheOriginGoesOn) {
  DeferredDevice small_cow("cow", 3 * kChunk);  // header, area 0, one data chunk
  auto created = SnapshotTarget::Create(TargetKind::kSnapshot, &origin_, &small_cow,
                                        {"o", "c", "P", "16"}, {}, {}, &log_);
  ASSERT_TRUE(created.ok());
  auto& target = *created;
  auto drain = [&] {
    for (size_t i = 0; origin_.queued() + small_cow.queued() > 0 && i < kMaxDrainRounds; ++i) {
      origin_.ReleaseAll();
      small_cow.ReleaseAll();
    }
  };
  auto first = OriginWrite(*target, 1 * kChunk, 1, 0x31);
  drain();
  EXPECT_EQ(first->error, 0);
  EXPECT_TRUE(target->valid());
  auto second = OriginWrite(*target, 2 * kChunk, 1, 0x32);
  drain();
  ASSERT_TRUE(second->done);
  EXPECT_EQ(second->error, 0);
  EXPECT_EQ(origin_.SectorData(2 * kChunk)[0], 0x32);
  EXPECT_FALSE(target->valid());
  EXPECT_EQ(target->Status(), "Invalid");
  EXPECT_TRUE(
      LogHas("device-mapper: snapshots: Invalidating snapshot: Unable to allocate "
             "exception."));
  EXPECT_EQ(DecodeHeader(small_cow.SectorData(0)).valid, 0u);
  auto read = SnapRead(*target, 1 * kChunk, 1);
  auto write = SnapWrite(*target, 1 * kChunk, 1, 0x33);
  drain();
  EXPECT_EQ(read->error, -EIO);
  EXPECT_EQ(write->error, -EIO);
  auto third = OriginWrite(*target, 9 * kChunk, 1, 0x34);
  drain();
  EXPECT_EQ(third->error, 0);
  EXPECT_EQ(origin_.SectorData(9 * kChunk)[0], 0x34);
}

TEST_F(TargetTest, SnapshotWriteWithNoRoomFailsWithEio) {
  DeferredDevice small_cow("cow", 2 * kChunk);  // no data chunk at all
  small_cow.set_auto_complete(true);
  origin_.set_auto_complete(true);
  auto created = SnapshotTarget::Create(TargetKind::kSnapshot, &origin_, &small_cow,
                                        {"o", "c", "P", "16"}, {}, {}, &log_);
  ASSERT_TRUE(created.ok());
  auto write = SnapWrite(**created, 0, 1, 0x35);
  EXPECT_EQ(write->error, -EIO);
  EXPECT_EQ((*created)->Status(), "Invalid");
}

TEST_F(TargetTest, CopyReadErrorInvalidatesAndReleasesTheOriginWrite) {
  auto target = Make();
  origin_.FailRange(BioOp::kRead, 4 * kChunk, kChunk, -EIO);
  auto snap = SnapWrite(*target, 4 * kChunk + 3, 1, 0x41);
  auto io = OriginWrite(*target, 4 * kChunk, 1, 0x42);
  Drain();
  EXPECT_EQ(io->error, 0);
  EXPECT_EQ(origin_.SectorData(4 * kChunk)[0], 0x42);
  EXPECT_EQ(snap->error, -EIO);
  EXPECT_EQ(target->Status(), "Invalid");
  EXPECT_TRUE(LogHas("Invalidating snapshot: Error reading/writing."));
  EXPECT_EQ(DecodeHeader(cow_.SectorData(0)).valid, 0u);
  EXPECT_FALSE(FindAreaWrite().has_value());  // no commit_exception after a copy error
}

TEST_F(TargetTest, CopyWriteErrorInvalidates) {
  auto target = Make();
  cow_.FailRange(BioOp::kWrite, 2 * kChunk, kChunk, -EIO);
  auto io = OriginWrite(*target, 4 * kChunk, 1, 0x43);
  Drain();
  EXPECT_EQ(io->error, 0);
  EXPECT_FALSE(target->valid());
  EXPECT_FALSE(FindAreaWrite().has_value());
  EXPECT_EQ(target->in_flight(), 0u);
}

TEST_F(TargetTest, SnapshotReadInFlightDelaysPendingCompletion) {
  auto target = Make();
  auto read = SnapRead(*target, 8 * kChunk, 1);  // tracked, to the origin
  auto write = OriginWrite(*target, 8 * kChunk, 1, 0x51);
  ASSERT_EQ(origin_.queued(), 2u);  // the snapshot read, the copy read
  origin_.ReleaseAt(1);             // copy read
  cow_.ReleaseAll();                // copy write, then the commit's metadata I/O
  EXPECT_TRUE(FindAreaWrite().has_value());
  EXPECT_FALSE(FindRecord(origin_, BioOp::kWrite, 8 * kChunk).has_value());
  // A second snapshot read now waits behind the completion and then goes to the COW.
  auto late_read = SnapRead(*target, 8 * kChunk + 1, 1);
  origin_.ReleaseAt(0);  // the first snapshot read ends
  EXPECT_TRUE(read->done);
  EXPECT_EQ(read->data[0], OriginByte(8 * kChunk));
  EXPECT_TRUE(FindRecord(origin_, BioOp::kWrite, 8 * kChunk).has_value());
  Drain();
  EXPECT_TRUE(write->done);
  ASSERT_TRUE(late_read->done);
  EXPECT_EQ(late_read->data[0], OriginByte(8 * kChunk + 1));
  EXPECT_TRUE(FindRecord(cow_, BioOp::kRead, 2 * kChunk + 1).has_value());
}

TEST_F(TargetTest, SnapshotWriteToUnmappedChunkCopiesThenWritesTheCowChunk) {
  auto target = Make();
  auto write = SnapWrite(*target, 10 * kChunk + 4, 2, 0x61);
  Drain();
  EXPECT_EQ(write->error, 0);
  EXPECT_TRUE(FindRecord(origin_, BioOp::kRead, 10 * kChunk).has_value());
  EXPECT_EQ(cow_.SectorData(2 * kChunk + 4)[0], 0x61);
  EXPECT_EQ(cow_.SectorData(2 * kChunk + 3)[0], OriginByte(10 * kChunk + 3));      // copied
  EXPECT_EQ(origin_.SectorData(10 * kChunk + 4)[0], OriginByte(10 * kChunk + 4));  // untouched
  // Now mapped: a second write goes straight to the COW chunk.
  cow_.ClearRecords();
  origin_.ClearRecords();
  auto again = SnapWrite(*target, 10 * kChunk + 15, 1, 0x62);
  Drain();
  EXPECT_EQ(again->error, 0);
  EXPECT_TRUE(origin_.records().empty());
  ASSERT_EQ(cow_.records().size(), 1u);
  EXPECT_EQ(cow_.records()[0].sector, 2 * kChunk + 15);
}

TEST_F(TargetTest, FullChunkSnapshotWriteSkipsTheCopyOnlyWithTheOption) {
  TargetOptions options;
  options.full_chunk_write_skips_copy = true;
  auto target = Make(TargetKind::kSnapshot, options);
  auto write = SnapWrite(*target, 11 * kChunk, kChunk, 0x63);
  Drain();
  EXPECT_EQ(write->error, 0);
  EXPECT_TRUE(origin_.records().empty());
  EXPECT_EQ(cow_.SectorData(2 * kChunk)[0], 0x63);
  EXPECT_EQ(LoadTable().size(), 1u);

  auto faithful = Make();
  auto other = SnapWrite(*faithful, 12 * kChunk, kChunk, 0x64);
  Drain();
  EXPECT_EQ(other->error, 0);
  EXPECT_TRUE(FindRecord(origin_, BioOp::kRead, 12 * kChunk).has_value());
}

TEST_F(TargetTest, FlushesGoToTheirDevicesEvenWhenInvalid) {
  auto target = Make();
  auto origin_flush = Submit(*target, true, BioOp::kWrite, 0, 0, 0, /*preflush=*/true);
  auto snap_flush = Submit(*target, false, BioOp::kWrite, 0, 0, 0, /*preflush=*/true);
  ASSERT_EQ(origin_.records().size(), 1u);
  EXPECT_TRUE(origin_.records()[0].preflush);
  ASSERT_EQ(cow_.records().size(), 1u);
  EXPECT_TRUE(cow_.records()[0].preflush);
  Drain();
  EXPECT_EQ(origin_flush->error, 0);
  EXPECT_EQ(snap_flush->error, 0);

  // A flush with data: the empty flush first, then the data without REQ_FLUSH.
  origin_.ClearRecords();
  auto flush_write = Submit(*target, true, BioOp::kWrite, 13 * kChunk, 1, 0x71, true);
  Drain();
  EXPECT_EQ(flush_write->error, 0);
  ASSERT_GE(origin_.records().size(), 3u);
  EXPECT_TRUE(origin_.records()[0].preflush);
  EXPECT_EQ(origin_.records()[0].sector_count, 0u);
  auto data = FindRecord(origin_, BioOp::kWrite, 13 * kChunk);
  ASSERT_TRUE(data.has_value());
  EXPECT_FALSE(data->preflush);

  origin_.FailRange(BioOp::kRead, 14 * kChunk, kChunk, -EIO);
  OriginWrite(*target, 14 * kChunk, 1, 0x72);
  Drain();
  ASSERT_FALSE(target->valid());
  cow_.ClearRecords();
  auto invalid_flush = Submit(*target, false, BioOp::kWrite, 0, 0, 0, true);
  Drain();
  EXPECT_EQ(invalid_flush->error, 0);
  ASSERT_EQ(cow_.records().size(), 1u);
  EXPECT_TRUE(cow_.records()[0].preflush);
}

TEST_F(TargetTest, BioSpanningChunksIsSplitAndEndsOnceWithTheFirstError) {
  auto target = Make();
  auto read = SnapRead(*target, 8, 2 * kChunk);  // sectors 8..39: chunks 0, 1, 2
  ASSERT_EQ(origin_.records().size(), 3u);
  EXPECT_EQ(origin_.records()[0].sector, 8u);
  EXPECT_EQ(origin_.records()[0].sector_count, 8u);
  EXPECT_EQ(origin_.records()[1].sector, 16u);
  EXPECT_EQ(origin_.records()[1].sector_count, 16u);
  EXPECT_EQ(origin_.records()[2].sector, 32u);
  EXPECT_EQ(origin_.records()[2].sector_count, 8u);
  origin_.ReleaseAt(2);
  origin_.ReleaseAt(0);
  EXPECT_FALSE(read->done);
  origin_.ReleaseAt(0);
  EXPECT_TRUE(read->done);
  EXPECT_EQ(read->ends, 1);
  EXPECT_EQ(read->data[0], OriginByte(8));
  EXPECT_EQ(read->data[(2 * kChunk - 1) * kSectorSize], OriginByte(39));

  origin_.FailRange(BioOp::kRead, 20, 1, -EIO);
  auto failing = SnapRead(*target, 8, 2 * kChunk);
  Drain();
  EXPECT_EQ(failing->ends, 1);
  EXPECT_EQ(failing->error, -EIO);
}

TEST_F(TargetTest, StatusAndTableMatchTheGoldenGeometry) {
  auto target = Make();
  EXPECT_EQ(target->Status(), "32/8192 32");
  for (chunk_t c = 0; c < 7; ++c) OriginWrite(*target, c * 3 * kChunk, 1, 0x80);
  Drain();
  EXPECT_EQ(target->Status(), "144/8192 32");  // golden a-cs16
  EXPECT_EQ(target->Table(), "/dev/origin /dev/cow P 16");
  EXPECT_EQ(target->chunk_size(), kChunk);
}

TEST_F(TargetTest, ConstructorErrorsCarryTheKernelTexts) {
  auto few = SnapshotTarget::Create(TargetKind::kSnapshot, &origin_, &cow_, {"o", "c", "P"}, {}, {},
                                    &log_);
  EXPECT_EQ(few.status().message(), "requires exactly 4 arguments");
  auto bad_chunk = SnapshotTarget::Create(TargetKind::kSnapshot, &origin_, &cow_,
                                          {"o", "c", "P", "15"}, {}, {}, &log_);
  EXPECT_EQ(bad_chunk.status().message(), "Couldn't create exception store");
  cow_.set_auto_complete(true);
  std::memcpy(cow_.SectorData(0), "junk", 4);
  auto corrupt = SnapshotTarget::Create(TargetKind::kSnapshot, &origin_, &cow_,
                                        {"o", "c", "P", "16"}, {}, {}, &log_);
  EXPECT_EQ(corrupt.status().message(), "Failed to read snapshot metadata");
}

TEST_F(TargetTest, InvalidHeaderActivatesAnInvalidSnapshot) {
  auto target = Make();
  origin_.FailRange(BioOp::kRead, 0, kChunk, -EIO);
  OriginWrite(*target, 0, 1, 0x90);
  Drain();
  ASSERT_FALSE(target->valid());
  target.reset();
  origin_.ClearFailures();
  auto reloaded = Make();
  EXPECT_FALSE(reloaded->valid());
  EXPECT_EQ(reloaded->Status(), "Invalid");
  EXPECT_TRUE(LogHas("device-mapper: snapshots: Snapshot is marked invalid."));
}

class MergeTest : public TargetTest {
 protected:
  // Exceptions for origin chunks 5, 1, 9, 20 (not consecutive, so each merge step moves one
  // chunk) plus a snapshot write; returns the snapshot image.
  std::vector<uint8_t> BuildSnapshot() {
    auto target = Make();
    for (chunk_t c : {5, 1, 9, 20}) OriginWrite(*target, c * kChunk, 2, 0xD0);
    SnapWrite(*target, 9 * kChunk + 7, 1, 0xE0);  // the snapshot's own write
    Drain();
    std::vector<uint8_t> image = ReadSnapshotImage(*target);
    EXPECT_EQ(LoadTable().size(), 4u);
    return image;
  }
  std::vector<uint8_t> OriginImage() const {
    return std::vector<uint8_t>(origin_.bytes().begin(), origin_.bytes().end());
  }
};

TEST_F(MergeTest, MergeToCompletionLeavesTheSnapshotImageOnTheOrigin) {
  std::vector<uint8_t> image = BuildSnapshot();
  auto merge = Make(TargetKind::kSnapshotMerge);
  merge->Resume();
  EXPECT_TRUE(merge->merging());
  Drain();
  EXPECT_FALSE(merge->merging());
  EXPECT_FALSE(merge->merge_failed());
  EXPECT_TRUE(OriginImage() == image);
  EXPECT_TRUE(LoadTable().empty());
  EXPECT_EQ(merge->Status(), "32/8192 32");
  EXPECT_EQ(merge->in_flight(), 0u);
}

TEST_F(MergeTest, WritesToTheMergingChunkWaitForTheStep) {
  std::vector<uint8_t> image = BuildSnapshot();
  auto merge = Make(TargetKind::kSnapshotMerge);
  merge->Resume();
  // The first step merges the last exception (origin chunk 20): its COW read is out.
  ASSERT_EQ(cow_.queued(), 1u);
  auto write = OriginWrite(*merge, 20 * kChunk, 1, 0xF0);
  for (const auto& r : origin_.records()) EXPECT_FALSE(r.op == BioOp::kWrite);
  EXPECT_FALSE(write->done);
  Drain();
  ASSERT_TRUE(write->done);
  EXPECT_EQ(write->error, 0);
  EXPECT_EQ(origin_.SectorData(20 * kChunk)[0], 0xF0);  // landed after the merge copy
  std::fill_n(image.begin() + 20 * kChunk * kSectorSize, kSectorSize, 0xF0);
  EXPECT_TRUE(OriginImage() == image);
}

TEST_F(MergeTest, MergeInterruptedBySuspendResumesInANewTarget) {
  std::vector<uint8_t> image = BuildSnapshot();
  auto merge = Make(TargetKind::kSnapshotMerge);
  merge->Resume();
  merge->Suspend();  // the first step is in flight and finishes
  Drain();
  EXPECT_FALSE(merge->merging());
  EXPECT_EQ(LoadTable().size(), 3u);
  merge.reset();
  auto again = Make(TargetKind::kSnapshotMerge);
  // Before merging on, the merge device already shows the snapshot image.
  EXPECT_TRUE(ReadSnapshotImage(*again) == image);
  again->Resume();
  Drain();
  EXPECT_TRUE(LoadTable().empty());
  EXPECT_TRUE(OriginImage() == image);
}

TEST_F(MergeTest, FlushOptionFlushesTheOriginBeforeEachAreaWrite) {
  BuildSnapshot();
  TargetOptions options;
  options.flush_origin_before_commit_merge = true;
  auto merge = Make(TargetKind::kSnapshotMerge, options);
  merge->Resume();
  Drain();
  std::vector<uint64_t> flushes, area_writes;
  for (const auto& r : origin_.records()) {
    if (r.preflush && r.sector_count == 0) flushes.push_back(r.seq);
  }
  for (const auto& r : cow_.records()) {
    if (r.preflush && r.fua && r.sector_count > 0) area_writes.push_back(r.seq);
  }
  ASSERT_EQ(flushes.size(), 4u);
  ASSERT_EQ(area_writes.size(), 4u);
  for (size_t i = 0; i < 4; ++i) EXPECT_LT(flushes[i], area_writes[i]);

  // Without the option (3.7.1) the origin sees no flush at all.
  BuildSnapshot();
  auto faithful = Make(TargetKind::kSnapshotMerge);
  faithful->Resume();
  Drain();
  for (const auto& r : origin_.records()) EXPECT_FALSE(r.preflush);
}

TEST_F(MergeTest, MergeCopyErrorMarksMergeFailed) {
  BuildSnapshot();
  auto merge = Make(TargetKind::kSnapshotMerge);
  origin_.FailRange(BioOp::kWrite, 20 * kChunk, kChunk, -EIO);
  merge->Resume();
  Drain();
  EXPECT_TRUE(merge->merge_failed());
  EXPECT_FALSE(merge->merging());
  EXPECT_EQ(merge->Status(), "Merge failed");
  EXPECT_TRUE(LogHas("Write error: shutting down merge."));
  EXPECT_EQ(LoadTable().size(), 4u);
}

TEST_F(TargetTest, ReleaseOriginBeforeCommitMutationIssuesTheWriteBeforeTheAreaWrite) {
  TargetOptions options;
  options.mutation = TargetMutation::kReleaseOriginBeforeCommit;
  auto target = Make(TargetKind::kSnapshot, options);
  auto io = OriginWrite(*target, 3 * kChunk, 1, 0xAB);
  Drain();
  EXPECT_EQ(io->error, 0);
  auto area_write = FindAreaWrite();
  auto origin_write = FindRecord(origin_, BioOp::kWrite, 3 * kChunk);
  ASSERT_TRUE(area_write && origin_write);
  EXPECT_LT(origin_write->seq, area_write->seq);  // the faithful order is the other way round
}

// The simulator abandons everything at a crash, possibly from inside the store's wait; the
// target must then be destructible with I/O in flight and submit nothing while it goes.
TEST(TargetCrashTest, AbandonedMidCommitWithIoInFlightDestroysCleanly) {
  auto origin = std::make_unique<DeferredDevice>("origin", kOriginSectors);
  auto cow = std::make_unique<DeferredDevice>("cow", kCowSectors);
  CollectingLog log;
  auto target = SnapshotTarget::Create(TargetKind::kSnapshot, origin.get(), cow.get(),
                                       {"o", "c", "P", "16"}, {}, {}, &log);
  ASSERT_TRUE(target.ok());
  std::vector<std::vector<uint8_t>> buffers(4, std::vector<uint8_t>(kSectorSize, 0x5A));
  int ended = 0;
  for (size_t i = 0; i < buffers.size(); ++i) {
    Bio bio;
    bio.op = BioOp::kWrite;
    bio.sector = i * kChunk;
    bio.sector_count = 1;
    bio.data = buffers[i].data();
    bio.end_io = [&ended](int) { ++ended; };
    (*target)->SubmitOrigin(std::move(bio));
  }
  origin->ReleaseAll();  // copy reads; copy writes now queued on the COW
  cow->set_crash_in_wait(true);
  // The last copy write ends the batch: commit_exception writes the area and waits.
  EXPECT_THROW(cow->ReleaseAll(), testing::SimulatedCrash);
  const size_t origin_records = origin->records().size();
  const size_t cow_records = cow->records().size();
  target->reset();
  EXPECT_EQ(origin->records().size(), origin_records);
  EXPECT_EQ(cow->records().size(), cow_records);
  EXPECT_EQ(ended, 0);
  cow.reset();
  origin.reset();
}

// The origin every golden case starts from (manifest origin_initial.generator).
std::vector<uint8_t> GoldenInitialOrigin(uint64_t bytes) {
  std::vector<uint8_t> image(bytes);
  for (uint64_t sector = 0; sector < bytes / kSectorSize; ++sector) {
    const std::string line = absl::StrFormat("ORIGIN-SECTOR-%08d\n", sector);
    for (uint32_t i = 0; i < kSectorSize; ++i) {
      image[sector * kSectorSize + i] = static_cast<uint8_t>(line[i % line.size()]);
    }
  }
  return image;
}

class TargetGoldenTest : public ::testing::TestWithParam<std::string> {};

// The golden cases whose workload only writes the origin: the COW then holds only copies of the
// initial origin and metadata, so replaying the workload must give the kernel's COW byte for byte
// (including, for d-invalid, the ENOSPC invalidation), and the kernel's status line.
TEST_P(TargetGoldenTest, ReplayedOriginWorkloadWritesTheKernelsCowImage) {
  absl::StatusOr<testing::GoldenCase> golden = testing::LoadGoldenCase(GetParam());
  ASSERT_TRUE(golden.ok()) << golden.status();
  const nlohmann::json& m = golden->manifest;
  std::vector<uint8_t> initial = GoldenInitialOrigin(m["origin_bytes"].get<uint64_t>());
  ASSERT_EQ(Sha256Hex(initial), m["origin_initial"]["sha256"].get<std::string>());
  MemoryDevice origin = MemoryDevice::FromBytes(std::move(initial));
  MemoryDevice cow(m["cow_bytes"].get<uint64_t>() >> kSectorShift);

  // The table's chunk size is the last word of the "create-snap" command.
  std::string chunk_arg;
  for (const auto& event : m["events"]) {
    if (event["label"] == "create-snap") {
      std::vector<std::string> words = absl::StrSplit(event["command"].get<std::string>(), ' ');
      chunk_arg = words.back();
    }
  }
  ASSERT_FALSE(chunk_arg.empty());
  CollectingLog log;
  auto target = SnapshotTarget::Create(TargetKind::kSnapshot, &origin, &cow,
                                       {"254:0", "254:16", "P", chunk_arg}, {}, {}, &log);
  ASSERT_TRUE(target.ok()) << target.status();
  EXPECT_EQ((*target)->chunk_size(), golden->chunk_sectors);
  for (const auto& step : m["workload"]) {
    ASSERT_EQ(step["device"], "origin");
    ASSERT_EQ(step["op"], "write");
    const uint32_t sectors = step["sectors"].get<uint32_t>();
    std::vector<uint8_t> data(uint64_t{sectors} << kSectorShift, 0xEE);
    int result = 1;
    Bio bio;
    bio.op = BioOp::kWrite;
    bio.sector = step["start_sector"].get<sector_t>();
    bio.sector_count = sectors;
    bio.data = data.data();
    bio.end_io = [&result](int error) { result = error; };
    (*target)->SubmitOrigin(std::move(bio));
    ASSERT_EQ(result, 0);  // memory devices: everything ended inside the call
  }
  EXPECT_EQ((*target)->in_flight(), 0u);
  EXPECT_EQ((*target)->Status(), testing::FinalSnapshotStatus(*golden).value_or("?"));
  EXPECT_EQ((*target)->Table(), absl::StrCat("254:0 254:16 P ", golden->chunk_sectors));
  EXPECT_EQ(Sha256Hex(cow.bytes()), m["files"]["cow.img"]["sha256"].get<std::string>());

  // A reload (the kernel case reactivates too); then the target's messages are the kernel's.
  target->reset();
  auto reloaded = SnapshotTarget::Create(TargetKind::kSnapshot, &origin, &cow,
                                         {"254:0", "254:16", "P", chunk_arg}, {}, {}, &log);
  ASSERT_TRUE(reloaded.ok());
  EXPECT_EQ((*reloaded)->Status(), testing::FinalSnapshotStatus(*golden).value_or("?"));
  std::vector<std::string> kernel_lines, our_lines;
  for (const auto& line : m["dmesg_device_mapper"]) {
    const std::string text = line.get<std::string>();
    const size_t at = text.find(kSnapshotsLogPrefix);
    if (at != std::string::npos) kernel_lines.push_back(text.substr(at));
  }
  for (const CollectingLog::Entry& e : log.entries()) {
    if (e.message.rfind(kSnapshotsLogPrefix, 0) == 0) our_lines.push_back(e.message);
  }
  EXPECT_EQ(our_lines, kernel_lines);
}

// e-merge-partial: the kernel merged part of a 303-exception snapshot and was stopped. From the
// same pre-merge images, merging step by step must pass through the kernel's stopping point with
// identical COW and origin images, and merging to the end must leave the pre-merge snapshot image
// on the origin.
class TargetGoldenMergeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<testing::GoldenCase> golden = testing::LoadGoldenCase("e-merge-partial");
    ASSERT_TRUE(golden.ok()) << golden.status();
    golden_ = *std::move(golden);
    for (auto [name, device] : {std::pair{"image-origin-before-merge", &origin_bytes_},
                                std::pair{"image-cow-before-merge", &cow_bytes_}}) {
      auto image = golden_.LoadImage(name);
      ASSERT_TRUE(image.ok()) << image.status();
      *device = (*image)->bytes();
    }
  }
  const nlohmann::json& manifest() const { return golden_.manifest; }

  testing::GoldenCase golden_;
  std::vector<uint8_t> origin_bytes_;
  std::vector<uint8_t> cow_bytes_;
};

TEST_F(TargetGoldenMergeTest, StepwiseMergeReachesTheKernelsStoppingPointImages) {
  constexpr size_t kMaxReleases = 100000;
  DeferredDevice origin("origin", origin_bytes_.size() >> kSectorShift);
  DeferredDevice cow("cow", cow_bytes_.size() >> kSectorShift);
  origin.bytes() = origin_bytes_;
  cow.bytes() = cow_bytes_;
  cow.set_auto_complete(true);  // activation reads
  auto merge = SnapshotTarget::Create(TargetKind::kSnapshotMerge, &origin, &cow,
                                      {"254:1", "254:16", "P", "8"}, {}, {}, nullptr);
  ASSERT_TRUE(merge.ok()) << merge.status();
  cow.set_auto_complete(false);
  EXPECT_EQ((*merge)->Status(), "2448/8192 24");  // the kernel's "after-workload" line
  (*merge)->Resume();
  const std::string stop = "1128/8192 16";  // the snapshot's status after the kernel stopped
  size_t releases = 0;
  while ((*merge)->Status() != stop) {
    ASSERT_LT(releases++, kMaxReleases);
    ASSERT_TRUE((*merge)->merging()) << "merged past the kernel's stopping point";
    if (origin.queued() > 0) {
      origin.ReleaseAt(0);
    } else {
      ASSERT_GT(cow.queued(), 0u);
      cow.ReleaseAt(0);
    }
  }
  // The next step may have issued its COW read; it has changed nothing yet.
  EXPECT_EQ(Sha256Hex(cow.bytes()), manifest()["files"]["cow.img"]["sha256"].get<std::string>());
  EXPECT_EQ(Sha256Hex(origin.bytes()),
            manifest()["files"]["origin.img"]["sha256"].get<std::string>());
}

TEST_F(TargetGoldenMergeTest, FullMergeLeavesThePreMergeSnapshotOnTheOrigin) {
  MemoryDevice origin = MemoryDevice::FromBytes(origin_bytes_);
  MemoryDevice cow = MemoryDevice::FromBytes(cow_bytes_);
  auto merge = SnapshotTarget::Create(TargetKind::kSnapshotMerge, &origin, &cow,
                                      {"254:1", "254:16", "P", "8"}, {}, {}, nullptr);
  ASSERT_TRUE(merge.ok()) << merge.status();
  (*merge)->Resume();
  EXPECT_FALSE((*merge)->merging());
  EXPECT_FALSE((*merge)->merge_failed());
  EXPECT_EQ((*merge)->Status(), "16/8192 16");  // header + area 0, nothing allocated
  EXPECT_EQ(Sha256Hex(origin.bytes()),
            manifest()["reads"]["snap-before-merge"]["sha256_whole"].get<std::string>());
}

INSTANTIATE_TEST_SUITE_P(OriginOnlyCases, TargetGoldenTest,
                         ::testing::Values("a-cs16", "a-default", "b-multiarea", "d-invalid"),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           std::string name = info.param;
                           std::replace(name.begin(), name.end(), '-', '_');
                           return name;
                         });

}  // namespace
}  // namespace snapsim
