// SPDX-License-Identifier: GPL-2.0-only
//
// The reference model's acceptance rule (sim/check/model.h), one sector at a time: which values a
// read may return, which values a sector may hold after a crash, and how a recovery rebases it.
// Sequence numbers are written out by hand so each test shows the interleaving it is about.
#include "sim/check/model.h"

#include <optional>

#include "gtest/gtest.h"
#include "sim/workload/stamp.h"

namespace snapsim {
namespace {

constexpr sector_t kSector = 8;

Stamp OriginWrite(uint64_t write_id) { return Stamp{kStampDeviceOrigin, kSector, write_id}; }
Stamp Base() { return InitialOriginStamp(kSector); }

TEST(SectorHistoryTest, UnwrittenSectorAcceptsOnlyItsBaseValue) {
  SectorHistory h(Base());
  EXPECT_TRUE(h.AcceptableAfterCrash(kSector, Base()));
  EXPECT_TRUE(h.AcceptableRead(kSector, Base(), 1, 2));
  EXPECT_FALSE(h.AcceptableAfterCrash(kSector, OriginWrite(1)));
  EXPECT_FALSE(h.AcceptableAfterCrash(kSector, std::nullopt)) << "garbage is never acceptable";
  EXPECT_FALSE(h.AcceptableRead(kSector, std::nullopt, 1, 2));
}

TEST(SectorHistoryTest, StampForAnotherSectorIsNotAcceptable) {
  SectorHistory h(Base());
  h.AddWrite(kStampDeviceOrigin, 1, 1);
  h.Ack(1, 2);
  EXPECT_FALSE(h.AcceptableAfterCrash(kSector, Stamp{kStampDeviceOrigin, kSector + 1, 1}))
      << "a misdirected write reads with the wrong sector number";
  EXPECT_FALSE(h.AcceptableAfterCrash(kSector, Stamp{kStampDeviceSnapshot, kSector, 1}))
      << "same write id from the other device is another write";
}

TEST(SectorHistoryTest, AcknowledgedWriteSupersededByADurableLaterWriteIsNotAcceptableAfterCrash) {
  SectorHistory h(Base());
  h.AddWrite(kStampDeviceOrigin, 1, /*submit_seq=*/1);
  h.Ack(1, /*ack_seq=*/2);
  h.AddWrite(kStampDeviceOrigin, 2, /*submit_seq=*/3);  // submitted after write 1's ack
  h.Ack(2, /*ack_seq=*/4);
  h.MarkDurableBefore(/*flush_submit_seq=*/5);  // a FLUSH submitted at 5 completed
  EXPECT_TRUE(h.AcceptableAfterCrash(kSector, OriginWrite(2)));
  EXPECT_FALSE(h.AcceptableAfterCrash(kSector, OriginWrite(1)));
  EXPECT_FALSE(h.AcceptableAfterCrash(kSector, Base()));
}

TEST(SectorHistoryTest, UnflushedAcknowledgedWriteMayBeLostInACrash) {
  SectorHistory h(Base());
  h.AddWrite(kStampDeviceOrigin, 1, 1);
  h.Ack(1, 2);
  h.AddWrite(kStampDeviceOrigin, 2, 3);
  h.Ack(2, 4);
  // No FLUSH: the cache may have dropped either write, so any of the three may be on disk.
  EXPECT_TRUE(h.AcceptableAfterCrash(kSector, Base()));
  EXPECT_TRUE(h.AcceptableAfterCrash(kSector, OriginWrite(1)));
  EXPECT_TRUE(h.AcceptableAfterCrash(kSector, OriginWrite(2)));
  // A read while running, though, must see the latest acknowledged write.
  EXPECT_TRUE(h.AcceptableRead(kSector, OriginWrite(2), 5, 6));
  EXPECT_FALSE(h.AcceptableRead(kSector, OriginWrite(1), 5, 6));
  EXPECT_FALSE(h.AcceptableRead(kSector, Base(), 5, 6));
}

TEST(SectorHistoryTest, FlushSubmittedBeforeTheAckDoesNotMakeTheWriteDurable) {
  SectorHistory h(Base());
  h.AddWrite(kStampDeviceOrigin, 1, 1);
  h.MarkDurableBefore(2);  // FLUSH submitted at 2, while write 1 was still in flight
  h.Ack(1, 3);
  h.AddWrite(kStampDeviceOrigin, 2, 4);
  h.Ack(2, 5);
  EXPECT_TRUE(h.AcceptableAfterCrash(kSector, OriginWrite(1)))
      << "write 2 is not durable, so it does not supersede write 1";
  EXPECT_TRUE(h.AcceptableAfterCrash(kSector, Base()));
}

TEST(SectorHistoryTest, ConcurrentWritesAreBothAcceptable) {
  SectorHistory h(Base());
  h.AddWrite(kStampDeviceOrigin, 1, 1);
  h.AddWrite(kStampDeviceOrigin, 2, 2);  // submitted before write 1 was acknowledged
  h.Ack(2, 3);
  h.Ack(1, 4);
  h.MarkDurableBefore(5);
  // Neither was submitted after the other's acknowledgement: either order may land last.
  EXPECT_TRUE(h.AcceptableRead(kSector, OriginWrite(1), 6, 7));
  EXPECT_TRUE(h.AcceptableRead(kSector, OriginWrite(2), 6, 7));
  EXPECT_TRUE(h.AcceptableAfterCrash(kSector, OriginWrite(1)));
  EXPECT_TRUE(h.AcceptableAfterCrash(kSector, OriginWrite(2)));
  EXPECT_FALSE(h.AcceptableAfterCrash(kSector, Base())) << "both durable writes supersede it";
}

TEST(SectorHistoryTest, ReadOverlappingAnInFlightWriteMayReturnEitherValue) {
  SectorHistory h(Base());
  h.AddWrite(kStampDeviceOrigin, 1, 2);
  // Read submitted at 1, completed at 3: write 1 was submitted in between, never acknowledged.
  EXPECT_TRUE(h.AcceptableRead(kSector, Base(), 1, 3));
  EXPECT_TRUE(h.AcceptableRead(kSector, OriginWrite(1), 1, 3));
  // A read that completed before the write was submitted cannot have seen it.
  EXPECT_FALSE(h.AcceptableRead(kSector, OriginWrite(1), 0, 1));
}

TEST(SectorHistoryTest, FailedWriteNeverSupersedesButMayHaveLanded) {
  SectorHistory h(Base());
  h.AddWrite(kStampDeviceOrigin, 1, 1);  // never acknowledged: failed or cut by the crash
  h.MarkDurableBefore(2);
  EXPECT_TRUE(h.AcceptableAfterCrash(kSector, Base()));
  EXPECT_TRUE(h.AcceptableAfterCrash(kSector, OriginWrite(1)));
}

TEST(SectorHistoryTest, RebaseMakesTheRecoveredValueTheOnlyAcceptableOne) {
  SectorHistory h(Base());
  h.AddWrite(kStampDeviceOrigin, 1, 1);
  h.Ack(1, 2);
  h.Rebase(OriginWrite(1));
  EXPECT_TRUE(h.AcceptableAfterCrash(kSector, OriginWrite(1)));
  EXPECT_FALSE(h.AcceptableAfterCrash(kSector, Base())) << "history before the rebase is gone";
  EXPECT_TRUE(h.AcceptableRead(kSector, OriginWrite(1), 3, 4));
  // A write after the rebase, durable, supersedes the new base.
  h.AddWrite(kStampDeviceOrigin, 2, 5);
  h.Ack(2, 6);
  h.MarkDurableBefore(7);
  EXPECT_FALSE(h.AcceptableAfterCrash(kSector, OriginWrite(1)));
  EXPECT_TRUE(h.AcceptableAfterCrash(kSector, OriginWrite(2)));
}

TEST(SectorHistoryTest, RebaseOnGarbageAcceptsAnythingUntilRewritten) {
  SectorHistory h(Base());
  h.Rebase(std::nullopt);
  EXPECT_TRUE(h.AcceptableAfterCrash(kSector, std::nullopt));
  EXPECT_TRUE(h.AcceptableAfterCrash(kSector, OriginWrite(9)));
  EXPECT_TRUE(h.AcceptableRead(kSector, Base(), 1, 2));
  EXPECT_EQ(h.Describe(kSector, true), "anything (content unknown since the last recovery)");
}

// Issue 10: a write acknowledged but not flushed when a crash struck may have been lost. A FLUSH
// after the crash must not make it durable, even if no check could read the sector back.
TEST(SectorHistoryTest, AFlushAfterACrashDoesNotMakeAWriteTheCrashMayHaveLostDurable) {
  SectorHistory h(Base());
  h.AddWrite(kStampDeviceOrigin, 1, 1);
  h.Ack(1, 2);
  h.SettleAtCrash(kSector, /*crash_index=*/1);  // crash; the check read fails: no Rebase
  EXPECT_TRUE(h.AcceptableAfterCrash(kSector, Base()));
  EXPECT_TRUE(h.AcceptableAfterCrash(kSector, OriginWrite(1)));
  h.MarkDurableBefore(/*flush_submit_seq=*/10);
  EXPECT_TRUE(h.AcceptableRead(kSector, Base(), 11, 12)) << "the crash may have dropped write 1";
  EXPECT_TRUE(h.AcceptableRead(kSector, OriginWrite(1), 11, 12));
  EXPECT_TRUE(h.AcceptableAfterCrash(kSector, Base()));
  EXPECT_EQ(h.Describe(kSector, true),
            "initial origin data or origin write #1 (unknown since crash 1)");
  // An acknowledged, flushed write after the crash settles the sector.
  h.AddWrite(kStampDeviceOrigin, 2, 13);
  h.Ack(2, 14);
  h.MarkDurableBefore(15);
  EXPECT_FALSE(h.AcceptableAfterCrash(kSector, Base()));
  EXPECT_FALSE(h.AcceptableAfterCrash(kSector, OriginWrite(1)));
  EXPECT_TRUE(h.AcceptableAfterCrash(kSector, OriginWrite(2)));
}

TEST(SectorHistoryTest, SettlingAtACrashKeepsOnlyWhatTheCrashMayHaveLeft) {
  SectorHistory h(Base());
  h.AddWrite(kStampDeviceOrigin, 1, 1);
  h.Ack(1, 2);
  h.MarkDurableBefore(3);  // write 1 durable: the base is gone for good
  h.AddWrite(kStampDeviceOrigin, 2, 4);
  h.Ack(2, 5);
  h.AddWrite(kStampDeviceOrigin, 3, 6);  // in flight at the crash
  h.SettleAtCrash(kSector, 1);
  EXPECT_FALSE(h.AcceptableAfterCrash(kSector, Base()));
  EXPECT_TRUE(h.AcceptableAfterCrash(kSector, OriginWrite(1)));
  EXPECT_TRUE(h.AcceptableAfterCrash(kSector, OriginWrite(2)));
  EXPECT_TRUE(h.AcceptableAfterCrash(kSector, OriginWrite(3)));
  EXPECT_EQ(h.bases().size(), 3u);
  h.Rebase(OriginWrite(2));  // a check read it back
  EXPECT_FALSE(h.AcceptableAfterCrash(kSector, OriginWrite(1)));
  EXPECT_TRUE(h.AcceptableAfterCrash(kSector, OriginWrite(2)));
}

TEST(SectorHistoryTest, DescribeListsTheAcceptableValues) {
  SectorHistory h(Base());
  h.AddWrite(kStampDeviceOrigin, 1, 1);
  h.Ack(1, 2);
  EXPECT_EQ(h.Describe(kSector, /*after_crash=*/true), "initial origin data or origin write #1");
  EXPECT_EQ(h.Describe(kSector, /*after_crash=*/false), "origin write #1");
}

// The running-read rule says a read may return W unless a write acknowledged before the read was
// submitted supersedes W. A FLUSH that completes while the read is in flight makes a later write
// durable; the model must not forget W while that read can still return it.
TEST(SectorHistoryTest, ReadInFlightAcrossAFlushMayStillReturnTheOlderWrite) {
  SectorHistory h(Base());
  h.AddWrite(kStampDeviceOrigin, 1, 1);
  h.Ack(1, 2);
  // The read is submitted at 3; write 2 is submitted and acknowledged while it is in flight.
  h.AddWrite(kStampDeviceOrigin, 2, 4);
  h.Ack(2, 5);
  ASSERT_TRUE(h.AcceptableRead(kSector, OriginWrite(1), 3, 7));
  // A FLUSH submitted at 6 completes before the read (submitted at 3) does (at 7).
  h.MarkDurableBefore(6, /*reads_in_flight_from=*/3);
  EXPECT_TRUE(h.AcceptableRead(kSector, OriginWrite(1), 3, 7));
}

TEST(ViewModelTest, FlushCompletionMakesEveryEarlierAcknowledgedWriteDurable) {
  ViewModel view(View::kOrigin);
  view.WriteSubmitted(kSector, 2, kStampDeviceOrigin, 1, 1);
  view.WriteAcked(kSector, 2, 1, 2);
  view.WriteSubmitted(kSector, 1, kStampDeviceOrigin, 2, 3);
  view.WriteAcked(kSector, 1, 2, 4);
  view.FlushCompleted(5);
  EXPECT_FALSE(view.History(kSector).AcceptableAfterCrash(kSector, OriginWrite(1)));
  EXPECT_TRUE(view.History(kSector).AcceptableAfterCrash(kSector, OriginWrite(2)));
  const Stamp second_sector{kStampDeviceOrigin, kSector + 1, 1};
  EXPECT_TRUE(view.History(kSector + 1).AcceptableAfterCrash(kSector + 1, second_sector));
  EXPECT_FALSE(
      view.History(kSector + 1).AcceptableAfterCrash(kSector + 1, InitialOriginStamp(kSector + 1)));
  EXPECT_EQ(view.sectors().size(), 2u);
}

TEST(ViewModelTest, NeverWrittenSectorReadsAsTheInitialOriginStamp) {
  ViewModel view(View::kSnapshot);
  EXPECT_TRUE(view.History(100).AcceptableAfterCrash(100, InitialOriginStamp(100)));
  EXPECT_TRUE(view.sectors().empty()) << "looking does not create a history";
}

TEST(ModelTest, MergeMakesTheOriginViewTheSnapshotView) {
  Model model;
  EXPECT_EQ(model.origin().view(), View::kOrigin);
  model.StartMerge();
  EXPECT_EQ(model.origin().view(), View::kSnapshot);
  EXPECT_EQ(&model.view(View::kOrigin), &model.snapshot());
}

}  // namespace
}  // namespace snapsim
