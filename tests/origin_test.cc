// SPDX-License-Identifier: GPL-2.0-only
//
// Origin: the origin side of dm-snap.c 3.7 over several snapshots, each with its own COW, store
// and chunk size.
#include "core/origin.h"

#include <cerrno>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/memory_device.h"
#include "core/snapshot_target.h"
#include "gtest/gtest.h"
#include "tests/support/bio_builder.h"
#include "tests/support/deferred_device.h"

namespace snapsim {
namespace {

using ::snapsim::testing::DeferredDevice;

constexpr sector_t kOriginSectors = 1024;
constexpr sector_t kCowSectors = 2048;
constexpr size_t kMaxReleases = 10000;

uint8_t OriginByte(sector_t sector) { return static_cast<uint8_t>(sector % 251 + 1); }

std::vector<uint8_t> InitialOrigin() {
  std::vector<uint8_t> bytes(kOriginSectors << kSectorShift);
  for (sector_t s = 0; s < kOriginSectors; ++s) {
    std::memset(bytes.data() + (s << kSectorShift), OriginByte(s), kSectorSize);
  }
  return bytes;
}

std::unique_ptr<SnapshotTarget> MakeSnapshot(BlockDevice* origin, BlockDevice* cow, uint32_t chunk,
                                             TargetKind kind = TargetKind::kSnapshot) {
  auto target = SnapshotTarget::Create(
      kind, origin, cow, {"origin", cow->name(), "P", absl::StrCat(chunk)}, {}, {}, nullptr);
  EXPECT_TRUE(target.ok()) << target.status();
  return target.ok() ? *std::move(target) : nullptr;
}

// Submits one bio and returns its result; -1000 while it has not ended.
struct Io {
  int result = -1000;
  std::vector<uint8_t> data;
};

template <typename Submit>
std::shared_ptr<Io> Start(Submit submit, BioOp op, sector_t sector, uint32_t count, uint8_t fill) {
  auto io = std::make_shared<Io>();
  io->data.assign(uint64_t{count} << kSectorShift, fill);
  submit(testing::MakeBio(op, sector, count, io->data.data(),
                          [io](int error) { io->result = error; }));
  return io;
}

std::shared_ptr<Io> ToOrigin(Origin& origin, BioOp op, sector_t sector, uint32_t count,
                             uint8_t fill = 0) {
  return Start([&origin](Bio bio) { origin.Submit(std::move(bio)); }, op, sector, count, fill);
}

std::shared_ptr<Io> ToSnapshot(SnapshotTarget& snapshot, BioOp op, sector_t sector, uint32_t count,
                               uint8_t fill = 0) {
  return Start([&snapshot](Bio bio) { snapshot.SubmitSnapshot(std::move(bio)); }, op, sector, count,
               fill);
}

// Two snapshots on deferred devices: the order of every I/O is visible.
class OriginOrderTest : public ::testing::Test {
 protected:
  OriginOrderTest()
      : origin_device_("origin", kOriginSectors),
        cow_a_("cow-a", kCowSectors),
        cow_b_("cow-b", kCowSectors),
        origin_(&origin_device_) {
    origin_device_.bytes() = InitialOrigin();
    for (DeferredDevice* d : {&origin_device_, &cow_a_, &cow_b_}) d->set_sequence(&sequence_);
    cow_a_.set_auto_complete(true);
    cow_b_.set_auto_complete(true);
    a_ = MakeSnapshot(&origin_device_, &cow_a_, 8);
    b_ = MakeSnapshot(&origin_device_, &cow_b_, 16);
    cow_a_.set_auto_complete(false);
    cow_b_.set_auto_complete(false);
    origin_.Suspend();
    origin_.AddSnapshot(a_.get());
    origin_.AddSnapshot(b_.get());
    origin_.Resume();
    for (DeferredDevice* d : {&origin_device_, &cow_a_, &cow_b_}) d->ClearRecords();
  }

  // Releases the oldest queued bio of the first device that has one. False when all are idle.
  bool ReleaseOne() {
    for (DeferredDevice* d : {&origin_device_, &cow_a_, &cow_b_}) {
      if (d->queued() > 0) {
        d->ReleaseAt(0);
        return true;
      }
    }
    return false;
  }

  static bool WroteArea(const DeferredDevice& cow, uint64_t before_seq) {
    for (const auto& r : cow.records()) {
      if (r.op == BioOp::kWrite && r.fua && r.preflush && r.end_seq != 0 &&
          r.end_seq < before_seq) {
        return true;
      }
    }
    return false;
  }

  uint64_t sequence_ = 0;
  DeferredDevice origin_device_;
  DeferredDevice cow_a_;
  DeferredDevice cow_b_;
  Origin origin_;
  std::unique_ptr<SnapshotTarget> a_;
  std::unique_ptr<SnapshotTarget> b_;
};

TEST_F(OriginOrderTest, ListIsLargestChunkFirstAndSplitIsTheSmallestAfterResume) {
  ASSERT_EQ(origin_.snapshots().size(), 2u);
  EXPECT_EQ(origin_.snapshots()[0], b_.get());
  EXPECT_EQ(origin_.snapshots()[1], a_.get());
  EXPECT_EQ(origin_.split_sectors(), 8u);
}

TEST_F(OriginOrderTest, OriginWriteWaitsForTheCommittedCopyOfEverySnapshot) {
  auto write = ToOrigin(origin_, BioOp::kWrite, 0, 8, 0xEE);
  // Both copies start at once; the bio waits on snap-b's exception (first in the list) and that
  // copy is started last, so snap-a's copy read goes first.
  ASSERT_EQ(origin_device_.records().size(), 2u);
  EXPECT_EQ(origin_device_.records()[0].op, BioOp::kRead);
  EXPECT_EQ(origin_device_.records()[0].sector_count, 8u);  // snap-a's chunk
  EXPECT_EQ(origin_device_.records()[1].op, BioOp::kRead);
  EXPECT_EQ(origin_device_.records()[1].sector_count, 16u);  // snap-b's chunk
  size_t releases = 0;
  uint64_t origin_write_seq = 0;
  while (ReleaseOne()) {
    ASSERT_LT(releases++, kMaxReleases);
    for (const auto& r : origin_device_.records()) {
      if (r.op == BioOp::kWrite && r.sector_count > 0) origin_write_seq = r.seq;
    }
    if (origin_write_seq != 0) break;
  }
  ASSERT_NE(origin_write_seq, 0u) << "the origin write was never issued";
  EXPECT_TRUE(WroteArea(cow_a_, origin_write_seq)) << "issued before snap-a's commit";
  EXPECT_TRUE(WroteArea(cow_b_, origin_write_seq)) << "issued before snap-b's commit";
  while (ReleaseOne()) ASSERT_LT(releases++, kMaxReleases);
  EXPECT_EQ(write->result, 0);
  EXPECT_EQ(a_->Status(), "24/2048 16");  // header, area 0 and one 8-sector chunk
  EXPECT_EQ(b_->Status(), "48/2048 32");  // header, area 0 and one 16-sector chunk
}

TEST_F(OriginOrderTest, FailedCopyInOneSnapshotInvalidatesOnlyThatOne) {
  cow_a_.FailRange(BioOp::kWrite, 16, 8, -EIO);  // snap-a's first data chunk
  auto write = ToOrigin(origin_, BioOp::kWrite, 0, 8, 0xEE);
  size_t releases = 0;
  while (ReleaseOne()) ASSERT_LT(releases++, kMaxReleases);
  EXPECT_EQ(write->result, 0);  // the origin moves on
  EXPECT_EQ(a_->Status(), "Invalid");
  EXPECT_EQ(b_->Status(), "48/2048 32");
  auto read_a = ToSnapshot(*a_, BioOp::kRead, 0, 8);
  EXPECT_EQ(read_a->result, -EIO);
  auto read_b = ToSnapshot(*b_, BioOp::kRead, 0, 8);
  while (ReleaseOne()) ASSERT_LT(releases++, kMaxReleases);
  EXPECT_EQ(read_b->result, 0);
  EXPECT_EQ(read_b->data[0], OriginByte(0));  // snap-b still sees the point-in-time data
}

// origin_write_extent: a merge step that overwrites an origin chunk another snapshot has not
// copied yet waits until that copy is committed; only then does the step read the merging COW.
TEST_F(OriginOrderTest, MergeStepWaitsUntilTheOtherSnapshotsCopyIsCommitted) {
  size_t releases = 0;
  auto write = ToOrigin(origin_, BioOp::kWrite, 0, 8, 0xEE);  // both snapshots copy chunk 0
  while (ReleaseOne()) ASSERT_LT(releases++, kMaxReleases);
  ASSERT_EQ(write->result, 0);
  // a (chunk 8) becomes snapshot-merge; b (chunk 16) made after the write stays.
  origin_.Suspend();
  origin_.RemoveSnapshot(a_.get());
  origin_.RemoveSnapshot(b_.get());
  a_.reset();
  b_.reset();
  DeferredDevice cow_c("cow-c", kCowSectors);
  cow_c.set_sequence(&sequence_);
  cow_a_.set_auto_complete(true);
  cow_c.set_auto_complete(true);
  std::unique_ptr<SnapshotTarget> merge =
      MakeSnapshot(&origin_device_, &cow_a_, 8, TargetKind::kSnapshotMerge);
  std::unique_ptr<SnapshotTarget> c = MakeSnapshot(&origin_device_, &cow_c, 16);
  cow_a_.set_auto_complete(false);
  cow_c.set_auto_complete(false);
  ASSERT_NE(merge, nullptr);
  ASSERT_NE(c, nullptr);
  origin_.AddSnapshot(merge.get());
  origin_.AddSnapshot(c.get());
  origin_.Resume();
  cow_a_.ClearRecords();
  cow_c.ClearRecords();
  origin_device_.ClearRecords();
  merge->Resume();
  // The step would write origin chunk 0 back; c lacks it, so c's copy starts and the merge waits.
  ASSERT_EQ(origin_device_.queued(), 1u);
  EXPECT_EQ(origin_device_.QueuedRecord(0).op, BioOp::kRead);
  EXPECT_EQ(origin_device_.QueuedRecord(0).sector_count, 16u);
  EXPECT_EQ(cow_a_.queued(), 0u) << "the merge read its COW before c's copy";
  uint64_t c_committed = 0;
  for (size_t i = 0; cow_c.queued() + origin_device_.queued() > 0; ++i) {
    ASSERT_LT(i, kMaxReleases);
    if (origin_device_.queued() > 0) {
      origin_device_.ReleaseAt(0);
    } else {
      cow_c.ReleaseAt(0);
    }
  }
  for (const auto& r : cow_c.records()) {
    if (r.fua && r.preflush) c_committed = r.end_seq;
  }
  ASSERT_NE(c_committed, 0u);
  ASSERT_GT(cow_a_.queued(), 0u) << "the merge step did not start after c's copy";
  EXPECT_GT(cow_a_.QueuedRecord(0).seq, c_committed);
  EXPECT_EQ(cow_a_.QueuedRecord(0).op, BioOp::kRead);
  while (cow_a_.queued() + origin_device_.queued() > 0) {
    ASSERT_LT(releases++, kMaxReleases);
    if (cow_a_.queued() > 0) {
      cow_a_.ReleaseAt(0);
    } else {
      origin_device_.ReleaseAt(0);
    }
  }
  EXPECT_FALSE(merge->merging());
  EXPECT_EQ(origin_device_.SectorData(0)[0], OriginByte(0));  // a's image is back
  auto read_c = ToSnapshot(*c, BioOp::kRead, 0, 8);
  while (ReleaseOne() || cow_c.queued() > 0) {
    ASSERT_LT(releases++, kMaxReleases);
    if (cow_c.queued() > 0) cow_c.ReleaseAt(0);
  }
  EXPECT_EQ(read_c->result, 0);
  EXPECT_EQ(read_c->data[0], 0xEE);  // c was made after the write: it keeps seeing it
  origin_.Suspend();
  origin_.RemoveSnapshot(merge.get());
  origin_.RemoveSnapshot(c.get());
}

// Memory devices: everything ends inside Submit.
class OriginMemoryTest : public ::testing::Test {
 protected:
  OriginMemoryTest()
      : origin_device_(MemoryDevice::FromBytes(InitialOrigin())), origin_(&origin_device_) {}

  // lvcreate_order: suspend the origin, create the snapshot, resume the origin.
  SnapshotTarget* Add(uint32_t chunk, sector_t cow_sectors = kCowSectors,
                      bool lvcreate_order = true) {
    cows_.push_back(std::make_unique<MemoryDevice>(cow_sectors));
    targets_.push_back(MakeSnapshot(&origin_device_, cows_.back().get(), chunk));
    if (lvcreate_order) origin_.Suspend();
    origin_.AddSnapshot(targets_.back().get());
    if (lvcreate_order) origin_.Resume();
    return targets_.back().get();
  }

  MemoryDevice origin_device_;
  Origin origin_;
  std::vector<std::unique_ptr<MemoryDevice>> cows_;
  std::vector<std::unique_ptr<SnapshotTarget>> targets_;
};

TEST_F(OriginMemoryTest, WithoutSnapshotsTheOriginIsAPassThrough) {
  EXPECT_EQ(origin_.split_sectors(), 0u);
  auto write = ToOrigin(origin_, BioOp::kWrite, 3, 40, 0x42);
  EXPECT_EQ(write->result, 0);
  EXPECT_EQ(origin_device_.SectorData(3)[0], 0x42);
  EXPECT_EQ(origin_device_.SectorData(42)[0], 0x42);
}

TEST_F(OriginMemoryTest, EachSnapshotCopiesOnlyTheFirstWriteToAChunkAtItsOwnChunkSize) {
  SnapshotTarget* a = Add(8);
  auto w1 = ToOrigin(origin_, BioOp::kWrite, 0, 8, 0x11);
  SnapshotTarget* b = Add(32);
  auto w2 = ToOrigin(origin_, BioOp::kWrite, 0, 8, 0x22);  // a has chunk 0; b copies 0x11
  auto w3 = ToOrigin(origin_, BioOp::kWrite, 8, 8, 0x33);  // a copies chunk 1; b has chunk 0
  EXPECT_EQ(w1->result | w2->result | w3->result, 0);
  EXPECT_EQ(a->Status(), "32/2048 16");  // two 8-sector chunks
  EXPECT_EQ(b->Status(), "96/2048 64");  // one 32-sector chunk
  auto read_a = ToSnapshot(*a, BioOp::kRead, 0, 16);
  auto read_b = ToSnapshot(*b, BioOp::kRead, 0, 16);
  EXPECT_EQ(read_a->data[0], OriginByte(0));
  EXPECT_EQ(read_a->data[8 << kSectorShift], OriginByte(8));
  EXPECT_EQ(read_b->data[0], 0x11);  // made after the first write: it sees it
  EXPECT_EQ(read_b->data[8 << kSectorShift], OriginByte(8));
}

TEST_F(OriginMemoryTest, AWriteThroughASnapshotIsNeverCopiedAgainForIt) {
  SnapshotTarget* a = Add(8);
  auto through_snapshot = ToSnapshot(*a, BioOp::kWrite, 16, 8, 0x55);
  EXPECT_EQ(through_snapshot->result, 0);
  EXPECT_EQ(a->Status(), "24/2048 16");
  auto origin_write = ToOrigin(origin_, BioOp::kWrite, 16, 8, 0x66);
  EXPECT_EQ(origin_write->result, 0);
  EXPECT_EQ(a->Status(), "24/2048 16");
  EXPECT_EQ(ToSnapshot(*a, BioOp::kRead, 16, 8)->data[0], 0x55);
}

TEST_F(OriginMemoryTest, OverflowInvalidatesOneSnapshotWhileTheOthersCarryOn) {
  SnapshotTarget* small = Add(8, /*cow_sectors=*/32);  // header, area 0, two data chunks
  SnapshotTarget* big = Add(8);
  for (sector_t chunk = 0; chunk < 4; ++chunk) {
    EXPECT_EQ(ToOrigin(origin_, BioOp::kWrite, chunk * 8, 8, 0x70)->result, 0);
  }
  EXPECT_EQ(small->Status(), "Invalid");
  EXPECT_EQ(big->Status(), "48/2048 16");
  EXPECT_EQ(ToSnapshot(*small, BioOp::kRead, 0, 8)->result, -EIO);
  EXPECT_EQ(ToSnapshot(*small, BioOp::kWrite, 0, 8)->result, -EIO);
  for (sector_t chunk = 0; chunk < 4; ++chunk) {
    EXPECT_EQ(ToSnapshot(*big, BioOp::kRead, chunk * 8, 8)->data[0], OriginByte(chunk * 8));
  }
}

TEST_F(OriginMemoryTest, RemovedSnapshotGetsNoMoreCopiesAndTheSplitFollowsTheResume) {
  SnapshotTarget* a = Add(4);
  SnapshotTarget* b = Add(16);
  ASSERT_EQ(origin_.split_sectors(), 4u);
  const std::vector<uint8_t> cow_a = cows_[0]->bytes();
  origin_.Suspend();
  origin_.RemoveSnapshot(a);
  EXPECT_EQ(origin_.split_sectors(), 4u);  // only the resume recomputes it
  origin_.Resume();
  EXPECT_EQ(origin_.split_sectors(), 16u);
  EXPECT_EQ(ToOrigin(origin_, BioOp::kWrite, 0, 8, 0x12)->result, 0);
  EXPECT_EQ(cows_[0]->bytes(), cow_a);
  EXPECT_EQ(b->Status(), "48/2048 32");
}

// A snapshot registered without the origin's suspend and resume (not what lvcreate does): the
// origin still splits at the old size, so a write spanning two of the new snapshot's chunks is
// mapped whole and __origin_write, which looks at its first sector, copies only the first. The
// second chunk then reads the new data through the snapshot: the kernel's behaviour, kept.
TEST_F(OriginMemoryTest, WithoutTheOriginsResumeAWriteAcrossSmallChunksCopiesOnlyTheFirst) {
  Add(16);
  ASSERT_EQ(origin_.split_sectors(), 16u);
  SnapshotTarget* small = Add(4, kCowSectors, /*lvcreate_order=*/false);
  EXPECT_EQ(origin_.split_sectors(), 16u);
  EXPECT_EQ(ToOrigin(origin_, BioOp::kWrite, 0, 8, 0x12)->result, 0);
  EXPECT_EQ(small->Status(), "12/2048 8");  // one 4-sector exception, not two
  auto read = ToSnapshot(*small, BioOp::kRead, 0, 8);
  EXPECT_EQ(read->data[0], OriginByte(0));
  EXPECT_EQ(read->data[4 << kSectorShift], 0x12);
  // After the resume the split is 4 and each chunk gets its own copy.
  origin_.Suspend();
  origin_.Resume();
  EXPECT_EQ(ToOrigin(origin_, BioOp::kWrite, 16, 8, 0x13)->result, 0);
  EXPECT_EQ(small->Status(), "20/2048 8");
}

// lvconvert --merge of one snapshot while another stays: before each merge step the other
// snapshot copies the origin chunks the step overwrites (origin_write_extent), and origin writes
// through the merging snapshot still give it its copies (do_origin).
TEST_F(OriginMemoryTest, MergeOfOneSnapshotKeepsTheOtherSnapshotsImage) {
  SnapshotTarget* a = Add(8);
  EXPECT_EQ(ToOrigin(origin_, BioOp::kWrite, 0, 8, 0x11)->result, 0);  // a copies chunk 0
  SnapshotTarget* b = Add(8);
  EXPECT_EQ(ToOrigin(origin_, BioOp::kWrite, 8, 8, 0x22)->result, 0);  // both copy chunk 1
  EXPECT_EQ(b->Status(), "24/2048 16");
  // a becomes snapshot-merge on the same COW, in the origin's place.
  origin_.Suspend();
  origin_.RemoveSnapshot(a);
  targets_[0].reset();
  std::unique_ptr<SnapshotTarget> merge =
      MakeSnapshot(&origin_device_, cows_[0].get(), 8, TargetKind::kSnapshotMerge);
  ASSERT_NE(merge, nullptr);
  origin_.AddSnapshot(merge.get());
  origin_.Resume();
  merge->Resume();  // memory devices: the whole merge runs inside
  EXPECT_FALSE(merge->merging());
  EXPECT_FALSE(merge->merge_failed());
  EXPECT_EQ(merge->Status(), "16/2048 16");
  // The origin is a's image again; b copied chunk 0 (0x11) before the merge overwrote it.
  EXPECT_EQ(origin_device_.SectorData(0)[0], OriginByte(0));
  EXPECT_EQ(origin_device_.SectorData(8)[0], OriginByte(8));
  EXPECT_EQ(b->Status(), "32/2048 16");
  auto read_b = ToSnapshot(*b, BioOp::kRead, 0, 16);
  EXPECT_EQ(read_b->data[0], 0x11);
  EXPECT_EQ(read_b->data[8 << kSectorShift], OriginByte(8));
  // An origin write now goes through the merging target and still gives b its copy.
  EXPECT_EQ(ToOrigin(origin_, BioOp::kWrite, 40, 8, 0x33)->result, 0);
  EXPECT_EQ(b->Status(), "40/2048 16");
  EXPECT_EQ(ToSnapshot(*b, BioOp::kRead, 40, 8)->data[0], OriginByte(40));
  EXPECT_EQ(origin_device_.SectorData(40)[0], 0x33);
  origin_.Suspend();
  origin_.RemoveSnapshot(merge.get());
  origin_.RemoveSnapshot(b);
}

}  // namespace
}  // namespace snapsim
