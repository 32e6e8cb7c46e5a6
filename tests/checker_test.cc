// SPDX-License-Identifier: GPL-2.0-only
//
// The checker on its own: it sees the model, an inspect report and the reads it asks for
// through CheckedWorld, nothing else. A fake world serves the reads, so each verdict is pinned
// without a simulation around it.
#include "sim/check/checker.h"

#include <cstring>
#include <map>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "sim/check/invariants.h"
#include "sim/workload/stamp.h"

namespace snapsim {
namespace {

constexpr uint32_t kChunk = 8;

// Serves origin reads from a map of sector -> stamp and everything else (the snapshot, sectors
// not in the map) as the initial origin data; counts the reads.
class FakeWorld : public CheckedWorld {
 public:
  int ReadThroughTarget(View view, sector_t sector, uint32_t count, uint8_t* out) override {
    ++reads;
    for (uint32_t i = 0; i < count; ++i) {
      auto it = stamps.find(sector + i);
      const Stamp stamp = view == View::kOrigin && it != stamps.end()
                              ? it->second
                              : Stamp{kStampDeviceOrigin, sector + i, 0};
      FillStampedSector(stamp, out + (size_t{i} << kSectorShift));
    }
    return read_error;
  }
  void ReadOriginMedium(sector_t sector, uint8_t* out) override {
    ReadThroughTarget(View::kOrigin, sector, 1, out);
  }
  bool TargetValid() const override { return valid; }

  std::map<sector_t, Stamp> stamps;
  int read_error = 0;
  bool valid = true;
  int reads = 0;
};

class CheckerTest : public ::testing::Test {
 protected:
  CheckerTest() : verdicts_([](Finding&) {}), checker_(model_, verdicts_) {
    settings_.chunk_sectors = kChunk;
    settings_.origin_sectors = 64 * kChunk;
  }

  // An origin write of sector `sector`, acknowledged and made durable by a FLUSH.
  uint64_t DurableOriginWrite(sector_t sector) {
    const uint64_t id = model_.NextWriteId();
    model_.origin().WriteSubmitted(sector, 1, kStampDeviceOrigin, id, model_.NextSeq());
    model_.Touch(sector, 1);
    model_.origin().WriteAcked(sector, 1, id, model_.NextSeq());
    model_.origin().FlushCompleted(model_.NextSeq());
    return id;
  }

  InspectReport ValidReport(std::vector<DiskException> exceptions, chunk_t next_free) {
    InspectReport report;
    report.loadable = true;
    report.header.valid = 1;
    report.chunk_sectors = kChunk;
    report.exceptions_per_area = ExceptionsPerArea(kChunk);
    report.exceptions = std::move(exceptions);
    report.next_free = next_free;
    return report;
  }

  Model model_;
  Verdicts verdicts_;
  Checker checker_;
  CheckSettings settings_;
  FakeWorld world_;
};

TEST_F(CheckerTest, OriginHoldingItsDurableWriteHolds) {
  const uint64_t id = DurableOriginWrite(20);
  world_.stamps[20] = Stamp{kStampDeviceOrigin, 20, id};
  checker_.CheckViews(world_, ValidReport({}, 2), /*after_crash=*/false, settings_);
  EXPECT_TRUE(verdicts_.findings().empty())
      << verdicts_.findings()[0].invariant << ": " << verdicts_.findings()[0].detail << " expected "
      << verdicts_.findings()[0].expected << " actual " << verdicts_.findings()[0].actual;
  EXPECT_EQ(verdicts_.counts().at(std::string(invariant::kOriginImage)).failed, 0u);
  EXPECT_GT(world_.reads, 0);
}

TEST_F(CheckerTest, OriginThatLostItsDurableWriteAfterACrashIsAFinding) {
  DurableOriginWrite(20);  // the fake world still returns the initial data there
  checker_.CheckViews(world_, ValidReport({}, 2), /*after_crash=*/true, settings_);
  ASSERT_EQ(verdicts_.findings().size(), 1u);
  EXPECT_EQ(verdicts_.findings()[0].invariant, invariant::kOriginImage);
  EXPECT_THAT(verdicts_.findings()[0].actual, ::testing::HasSubstr("initial origin data"));
}

TEST_F(CheckerTest, ReadErrorWithoutInjectedFaultsIsAFindingAndAllowedWithThem) {
  DurableOriginWrite(20);
  world_.read_error = -5;
  settings_.eio_faults_on = true;
  checker_.CheckViews(world_, ValidReport({}, 2), false, settings_);
  EXPECT_TRUE(verdicts_.findings().empty());
  settings_.eio_faults_on = false;
  checker_.CheckViews(world_, ValidReport({}, 2), false, settings_);
  ASSERT_FALSE(verdicts_.findings().empty());
  EXPECT_EQ(verdicts_.findings()[0].actual, "error -5 (EIO)");
}

TEST_F(CheckerTest, CommittedExceptionMissingFromTheTableIsLost) {
  std::vector<uint8_t> area(size_t{kChunk} << kSectorShift, 0);
  EncodeException(area.data(), 0, DiskException{7, 2});
  model_.AreaWritten(0, area.data(), ExceptionsPerArea(kChunk));
  checker_.CheckTable(ValidReport({}, 3), /*after_crash=*/true, /*target_valid=*/true, settings_);
  ASSERT_EQ(verdicts_.findings().size(), 1u);
  EXPECT_EQ(verdicts_.findings()[0].invariant, invariant::kNoLostCommittedException);

  Model fresh;
  Verdicts fresh_verdicts([](Finding&) {});
  Checker fresh_checker(fresh, fresh_verdicts);
  fresh.AreaWritten(0, area.data(), ExceptionsPerArea(kChunk));
  fresh_checker.CheckTable(ValidReport({DiskException{7, 2}}, 3), true, true, settings_);
  EXPECT_TRUE(fresh_verdicts.findings().empty());
}

// A merge's commit clears slots; while its area write is in flight a crash may keep it, so the
// exceptions it drops are no longer required (swarm --option corrected, seed 145, reported one
// as lost before). What both images hold still is.
TEST_F(CheckerTest, AnExceptionAnInFlightAreaWriteDropsMayBeGoneAfterACrash) {
  std::vector<uint8_t> area(size_t{kChunk} << kSectorShift, 0);
  EncodeException(area.data(), 0, DiskException{7, 2});
  EncodeException(area.data(), 1, DiskException{9, 3});
  model_.AreaWritten(0, area.data(), ExceptionsPerArea(kChunk));
  std::vector<uint8_t> merged = area;
  EncodeException(merged.data(), 1, DiskException{0, 0});
  model_.AreaWriteSubmitted(0, merged.data(), ExceptionsPerArea(kChunk));

  checker_.CheckTable(ValidReport({DiskException{7, 2}}, 4), /*after_crash=*/true,
                      /*target_valid=*/true, settings_);
  EXPECT_TRUE(verdicts_.findings().empty());
  checker_.CheckTable(ValidReport({}, 4), true, true, settings_);
  ASSERT_EQ(verdicts_.findings().size(), 1u);
  EXPECT_EQ(verdicts_.findings()[0].expected, "exception 7 -> 2 (area 0, acknowledged)");
}

TEST_F(CheckerTest, NextFreeOnACommittedChunkIsAFinding) {
  std::vector<uint8_t> area(size_t{kChunk} << kSectorShift, 0);
  EncodeException(area.data(), 0, DiskException{7, 5});
  model_.AreaWritten(0, area.data(), ExceptionsPerArea(kChunk));
  checker_.CheckTable(ValidReport({DiskException{7, 5}}, 5), true, true, settings_);
  ASSERT_EQ(verdicts_.findings().size(), 1u);
  EXPECT_EQ(verdicts_.findings()[0].invariant, invariant::kNextFreeAboveCommitted);
}

TEST_F(CheckerTest, SnapshotReadAfterInvalidationIsAFindingButAFailedOneIsNot) {
  checker_.UserReadEnded(View::kSnapshot, 0, 1, nullptr, /*submit_seq=*/10, 11, -5,
                         /*invalid_seq=*/9, settings_);
  EXPECT_TRUE(verdicts_.findings().empty());
  std::vector<uint8_t> data(kSectorSize);
  FillStampedSector(Stamp{kStampDeviceOrigin, 0, 0}, data.data());
  checker_.UserReadEnded(View::kSnapshot, 0, 1, data.data(), 10, 11, 0, 9, settings_);
  ASSERT_EQ(verdicts_.findings().size(), 1u);
  EXPECT_EQ(verdicts_.findings()[0].invariant, invariant::kValidFlagSticky);
}

TEST(VerdictsTest, OneFindingPerInvariantAndEveryAddAsksToStop) {
  int announced = 0;
  Verdicts verdicts([&](Finding& f) {
    ++announced;
    f.seed = 42;
  });
  EXPECT_FALSE(verdicts.stop_requested());
  verdicts.AddFinding(invariant::kOriginImage, "a", "b", "c");
  verdicts.AddFinding(invariant::kOriginImage, "d", "e", "f");
  EXPECT_TRUE(verdicts.stop_requested());
  ASSERT_EQ(verdicts.findings().size(), 1u);
  EXPECT_EQ(announced, 1);
  EXPECT_EQ(verdicts.findings()[0].seed, 42u);
  EXPECT_EQ(verdicts.findings()[0].severity, FindingSeverity::kCritical);
}

}  // namespace
}  // namespace snapsim
