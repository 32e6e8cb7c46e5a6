// SPDX-License-Identifier: GPL-2.0-only
#include "sim/world/sim_device.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <optional>
#include <vector>

#include "absl/container/btree_set.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "sim/workload/stamp.h"
#include "util/assert.h"

namespace snapsim {
namespace {

constexpr sector_t kDeviceSectors = 1 << 14;  // 8 MiB

// One device (or two) in a world of its own. The profile may be edited before Make().
class World {
 public:
  explicit World(uint64_t seed = 1) : prng_(seed), profile_(QuietProfile()) {}

  FaultProfile& profile() { return profile_; }
  Probes& probes() { return probes_; }
  Scheduler& scheduler() { return scheduler_; }
  Trace& trace() { return trace_; }
  Prng& prng() { return prng_; }

  SimDevice& Make(DeviceRole role = DeviceRole::kCow, sector_t size = kDeviceSectors,
                  SectorGenerator content = ZeroContent()) {
    SimDeviceConfig config{role == DeviceRole::kOrigin ? "origin" : "cow", role, size, kSectorSize,
                           std::move(content)};
    devices_.push_back(std::make_unique<SimDevice>(std::move(config), scheduler_, prng_, profile_,
                                                   probes_, &trace_));
    return *devices_.back();
  }

 private:
  Scheduler scheduler_;
  Prng prng_;
  FaultProfile profile_;
  Probes probes_;
  Trace trace_;
  std::vector<std::unique_ptr<SimDevice>> devices_;
};

std::vector<uint8_t> StampedData(sector_t sector, uint32_t count, uint64_t write_id) {
  std::vector<uint8_t> data(count * kSectorSize);
  for (uint32_t i = 0; i < count; ++i) {
    FillStampedSector({kStampDeviceSpecial, sector + i, write_id}, data.data() + i * kSectorSize);
  }
  return data;
}

int WriteSync(SimDevice& device, sector_t sector, uint32_t count, uint64_t write_id,
              bool fua = false, bool preflush = false) {
  std::vector<uint8_t> data = StampedData(sector, count, write_id);
  return SyncIo(device, BioOp::kWrite, sector, count, data.data(), preflush, fua);
}

int FlushSync(SimDevice& device) {
  return SyncIo(device, BioOp::kWrite, 0, 0, nullptr, /*preflush=*/true);
}

// Submits without waiting; the data lives in `keep` until the world is done.
void WriteAsync(SimDevice& device, sector_t sector, uint32_t count, uint64_t write_id,
                std::vector<std::vector<uint8_t>>& keep, int* result = nullptr) {
  keep.push_back(StampedData(sector, count, write_id));
  Bio bio;
  bio.op = BioOp::kWrite;
  bio.sector = sector;
  bio.sector_count = count;
  bio.data = keep.back().data();
  bio.end_io = [result](int error) {
    if (result) *result = error;
  };
  device.Submit(std::move(bio));
}

void FlushAsync(SimDevice& device) {
  Bio bio;
  bio.op = BioOp::kWrite;
  bio.preflush = true;
  bio.end_io = [](int) {};
  device.Submit(std::move(bio));
}

// The write id a store holds at `sector`, or nullopt if it is not an intact stamp for it.
std::optional<uint64_t> WriteIdAt(const SectorSource& store, sector_t sector) {
  uint8_t bytes[kSectorSize];
  store.Read(sector, 1, bytes);
  auto stamp = DecodeStamp(bytes);
  if (!stamp || stamp->sector != sector) return std::nullopt;
  return stamp->write_id;
}

bool IsZero(const SectorSource& store, sector_t sector) {
  uint8_t bytes[kSectorSize];
  store.Read(sector, 1, bytes);
  for (uint8_t b : bytes) {
    if (b != 0) return false;
  }
  return true;
}

TEST(SimDevice, CompletedWriteIsReadableButNotDurableBeforeFlush) {
  World world;
  SimDevice& cow = world.Make();
  ASSERT_EQ(WriteSync(cow, 8, 8, 101), 0);
  EXPECT_EQ(WriteIdAt(cow.current_image(), 8), 101u);
  EXPECT_TRUE(IsZero(cow.durable_image(), 8));
  std::vector<uint8_t> back(8 * kSectorSize);
  ASSERT_EQ(SyncIo(cow, BioOp::kRead, 8, 8, back.data()), 0);
  EXPECT_EQ(back, StampedData(8, 8, 101));  // reads see the cache
  ASSERT_EQ(cow.NonDurableWrites().size(), 1u);
  EXPECT_EQ(cow.NonDurableWrites()[0].sector, 8u);
}

TEST(SimDevice, FlushMakesWritesCompletedBeforeItDurableAndNotLaterOnes) {
  World world;
  SimDevice& cow = world.Make();
  std::vector<std::vector<uint8_t>> keep;
  ASSERT_EQ(WriteSync(cow, 0, 1, 1), 0);
  WriteAsync(cow, 16, 1, 2, keep);  // in flight when the flush is submitted
  FlushAsync(cow);
  world.scheduler().RunUntilIdle(100);
  EXPECT_EQ(WriteIdAt(cow.durable_image(), 0), 1u);
  EXPECT_TRUE(IsZero(cow.durable_image(), 16));
  EXPECT_EQ(WriteIdAt(cow.current_image(), 16), 2u);
  const std::vector<CachedWrite> left = cow.NonDurableWrites();
  ASSERT_EQ(left.size(), 1u);
  EXPECT_EQ(left[0].sector, 16u);
  EXPECT_EQ(left[0].epoch, 1u);  // the next FLUSH (number 1) will cover it
  ASSERT_EQ(FlushSync(cow), 0);
  EXPECT_EQ(WriteIdAt(cow.durable_image(), 16), 2u);
  EXPECT_TRUE(cow.NonDurableWrites().empty());
}

TEST(SimDevice, PreflushWriteFlushesEarlierWritesThenCachesItsOwnData) {
  World world;
  SimDevice& cow = world.Make();
  ASSERT_EQ(WriteSync(cow, 0, 1, 1), 0);
  ASSERT_EQ(WriteSync(cow, 8, 1, 2, /*fua=*/false, /*preflush=*/true), 0);
  EXPECT_EQ(WriteIdAt(cow.durable_image(), 0), 1u);
  EXPECT_TRUE(IsZero(cow.durable_image(), 8));
}

TEST(SimDevice, FuaWriteIsDurableAtCompletion) {
  World world;
  SimDevice& cow = world.Make();
  ASSERT_EQ(WriteSync(cow, 24, 2, 7, /*fua=*/true), 0);
  EXPECT_EQ(WriteIdAt(cow.durable_image(), 24), 7u);
  EXPECT_EQ(WriteIdAt(cow.durable_image(), 25), 7u);
  EXPECT_TRUE(cow.NonDurableWrites().empty());
}

TEST(SimDevice, FuaWriteIsNotUndoneByAnOlderCachedWriteLandingAtCrash) {
  World world;
  SimDevice& cow = world.Make();
  ASSERT_EQ(WriteSync(cow, 0, 2, 1), 0);                // cached
  ASSERT_EQ(WriteSync(cow, 1, 1, 2, /*fua=*/true), 0);  // durable, newer on sector 1
  cow.ApplyCrash({WriteFate::Keep()});
  EXPECT_EQ(WriteIdAt(cow.durable_image(), 0), 1u);
  EXPECT_EQ(WriteIdAt(cow.durable_image(), 1), 2u);
}

TEST(SimDevice, FuaWriteOverAnOlderWholePageWriteIsNotUndoneAtCrash) {
  World world;
  SimDevice& cow = world.Make();
  ASSERT_EQ(WriteSync(cow, 8, 16, 1), 0);               // two whole pages, cached
  ASSERT_EQ(WriteSync(cow, 8, 8, 2, /*fua=*/true), 0);  // durable, newer on the first page
  PageStore image = cow.CrashImage({WriteFate::Keep()});
  EXPECT_EQ(WriteIdAt(image, 8), 2u);
  EXPECT_EQ(WriteIdAt(image, 15), 2u);
  EXPECT_EQ(WriteIdAt(image, 16), 1u);
  EXPECT_EQ(WriteIdAt(cow.current_image(), 8), 2u);  // the shared page was not changed in place
}

TEST(SimDevice, WholePageWriteTearsAtSectorGranularity) {
  World world;
  SimDevice& cow = world.Make();
  ASSERT_EQ(WriteSync(cow, 16, 8, 3), 0);
  std::vector<bool> landed(8, false);
  landed[1] = landed[6] = true;
  cow.ApplyCrash({WriteFate::Tear(landed)});
  for (sector_t i = 0; i < 8; ++i) {
    if (landed[i]) {
      EXPECT_EQ(WriteIdAt(cow.durable_image(), 16 + i), 3u);
    } else {
      EXPECT_TRUE(IsZero(cow.durable_image(), 16 + i));
    }
  }
}

TEST(SimDevice, FlushOnOneDeviceDoesNotAffectAnother) {
  World world;
  SimDevice& origin = world.Make(DeviceRole::kOrigin);
  SimDevice& cow = world.Make(DeviceRole::kCow);
  ASSERT_EQ(WriteSync(origin, 0, 1, 1), 0);
  ASSERT_EQ(WriteSync(cow, 0, 1, 2), 0);
  ASSERT_EQ(FlushSync(cow), 0);
  EXPECT_EQ(WriteIdAt(cow.durable_image(), 0), 2u);
  EXPECT_TRUE(IsZero(origin.durable_image(), 0));
  EXPECT_EQ(origin.NonDurableWrites().size(), 1u);
}

TEST(SimDevice, WithWriteCacheOffWritesAreDurableOnCompletion) {
  World world;
  world.profile().write_cache = false;
  SimDevice& cow = world.Make();
  ASSERT_EQ(WriteSync(cow, 0, 1, 5), 0);
  EXPECT_EQ(WriteIdAt(cow.durable_image(), 0), 5u);
  EXPECT_TRUE(cow.NonDurableWrites().empty());
}

TEST(SimDevice, UnwrittenSectorsReadAsTheInitialContent) {
  World world;
  SimDevice& origin = world.Make(DeviceRole::kOrigin, kDeviceSectors, InitialOriginContent());
  uint8_t bytes[kSectorSize];
  ASSERT_EQ(SyncIo(origin, BioOp::kRead, 77, 1, bytes), 0);
  EXPECT_EQ(DecodeStamp(bytes), InitialOriginStamp(77));
}

TEST(SimDevice, CrashKeepDropAndTearAtSectorGranularity) {
  World world;
  SimDevice& cow = world.Make();
  ASSERT_EQ(WriteSync(cow, 0, 4, 1), 0);
  ASSERT_EQ(WriteSync(cow, 8, 4, 2), 0);
  ASSERT_EQ(WriteSync(cow, 16, 4, 3), 0);
  ASSERT_EQ(cow.NonDurableWrites().size(), 3u);
  cow.ApplyCrash(
      {WriteFate::Keep(), WriteFate::Drop(), WriteFate::Tear({true, false, true, false})});
  EXPECT_TRUE(cow.crashed());
  EXPECT_EQ(cow.cached_writes(), 0u);
  for (sector_t s = 0; s < 4; ++s) EXPECT_EQ(WriteIdAt(cow.durable_image(), s), 1u);
  for (sector_t s = 8; s < 12; ++s) EXPECT_TRUE(IsZero(cow.durable_image(), s));
  EXPECT_EQ(WriteIdAt(cow.durable_image(), 16), 3u);
  EXPECT_TRUE(IsZero(cow.durable_image(), 17));
  EXPECT_EQ(WriteIdAt(cow.durable_image(), 18), 3u);
  EXPECT_TRUE(IsZero(cow.durable_image(), 19));
  EXPECT_EQ(world.probes().count(Probe::kCrashWriteKept), 1u);
  EXPECT_EQ(world.probes().count(Probe::kCrashWriteDropped), 1u);
  EXPECT_EQ(world.probes().count(Probe::kCrashWriteTorn), 1u);
  // After the crash the current image is the durable one.
  EXPECT_TRUE(IsZero(cow.current_image(), 8));
}

TEST(SimDevice, LaterKeptWriteWinsOverEarlierOnSharedSectors) {
  World world;
  SimDevice& cow = world.Make();
  ASSERT_EQ(WriteSync(cow, 0, 2, 1), 0);
  ASSERT_EQ(WriteSync(cow, 1, 2, 2), 0);
  cow.ApplyCrash({WriteFate::Keep(), WriteFate::Keep()});
  EXPECT_EQ(WriteIdAt(cow.durable_image(), 0), 1u);
  EXPECT_EQ(WriteIdAt(cow.durable_image(), 1), 2u);
  EXPECT_EQ(WriteIdAt(cow.durable_image(), 2), 2u);
}

TEST(SimDevice, InFlightWriteAtCrashIsANonDurableWriteThatMayLand) {
  World world;
  SimDevice& cow = world.Make();
  std::vector<std::vector<uint8_t>> keep;
  int result = 1;
  WriteAsync(cow, 40, 2, 9, keep, &result);
  const std::vector<CachedWrite> writes = cow.NonDurableWrites();
  ASSERT_EQ(writes.size(), 1u);
  EXPECT_TRUE(writes[0].in_flight);
  cow.ApplyCrash({WriteFate::Keep()});
  world.scheduler().RunUntilIdle(100);  // the stale completion event does nothing
  EXPECT_EQ(result, 1);                 // end_io never ran
  EXPECT_EQ(WriteIdAt(cow.durable_image(), 41), 9u);
  EXPECT_EQ(world.probes().count(Probe::kCrashInFlightWrite), 1u);
}

TEST(SimDevice, RestartAfterCrashServesTheDurableImage) {
  World world;
  SimDevice& cow = world.Make();
  ASSERT_EQ(WriteSync(cow, 0, 1, 1), 0);
  ASSERT_EQ(FlushSync(cow), 0);
  ASSERT_EQ(WriteSync(cow, 0, 1, 2), 0);
  cow.ApplyCrash({WriteFate::Drop()});
  world.scheduler().Clear();
  cow.Restart();
  uint8_t bytes[kSectorSize];
  ASSERT_EQ(SyncIo(cow, BioOp::kRead, 0, 1, bytes), 0);
  EXPECT_EQ(DecodeStamp(bytes)->write_id, 1u);
}

TEST(SimDevice, ReopenOverACrashedImageSeesItsContent) {
  World world;
  SimDevice& cow = world.Make();
  ASSERT_EQ(WriteSync(cow, 3, 1, 4, /*fua=*/true), 0);
  SimDeviceConfig config = cow.config();
  SimDevice reopened(config, cow.durable_image(), world.scheduler(), world.prng(), world.profile(),
                     world.probes(), nullptr);
  uint8_t bytes[kSectorSize];
  ASSERT_EQ(SyncIo(reopened, BioOp::kRead, 3, 1, bytes), 0);
  EXPECT_EQ(DecodeStamp(bytes)->write_id, 4u);
}

TEST(SimDevice, CrashImageChangesNothing) {
  World world;
  SimDevice& cow = world.Make();
  ASSERT_EQ(WriteSync(cow, 0, 1, 1), 0);
  PageStore image = cow.CrashImage({WriteFate::Keep()});
  EXPECT_EQ(WriteIdAt(image, 0), 1u);
  EXPECT_TRUE(IsZero(cow.durable_image(), 0));
  EXPECT_EQ(cow.NonDurableWrites().size(), 1u);
  EXPECT_FALSE(cow.crashed());
}

// The explorer rebuilds each crash state from the last one (RebuildCrashImage). Every state of the
// enumeration, in order, must equal the same fates applied to a fresh copy of the medium, faults
// and all (a corrupted sector, a misdirected write, a latent error), and read as CrashImage's
// flattened image does.
TEST(SimDevice, RebuildingCrashImagesOneAfterAnotherGivesEachStateAsIfBuiltAfresh) {
  constexpr sector_t kSectors = 64;
  World world;
  SimDevice& cow = world.Make(DeviceRole::kCow, kSectors);
  world.profile().cow.latent_read_error = kAlways;
  ASSERT_EQ(WriteSync(cow, 2, 2, 1, /*fua=*/true), 0);
  world.profile().cow.latent_read_error = kNever;
  world.profile().corrupted_sector = kAlways;
  ASSERT_EQ(WriteSync(cow, 8, 1, 2, /*fua=*/true), 0);
  world.profile().corrupted_sector = kNever;
  world.profile().misdirected_write = kAlways;
  ASSERT_EQ(WriteSync(cow, 16, 2, 3, /*fua=*/true), 0);
  ASSERT_EQ(WriteSync(cow, 20, 2, 4), 0);  // cached, misdirected too
  world.profile().misdirected_write = kNever;
  ASSERT_EQ(WriteSync(cow, 2, 3, 5), 0);  // cached, over the latent error
  ASSERT_EQ(WriteSync(cow, 3, 2, 6), 0);
  ASSERT_EQ(WriteSync(cow, 8, 1, 7), 0);  // over the corrupted sector
  std::vector<std::vector<uint8_t>> keep;
  WriteAsync(cow, 30, 2, 8, keep);  // in flight at the crash
  ASSERT_TRUE(cow.medium().has_faults());

  const CrashEnumerator states(cow.NonDurableWrites(), /*include_tears=*/true);
  ASSERT_GT(states.count(), 100u);
  DurableMedium rebuilt = cow.medium();
  uint8_t a[kSectorSize], b[kSectorSize];
  for (uint64_t i = 0; i < states.count(); ++i) {
    SCOPED_TRACE(i);
    const std::vector<WriteFate> fates = states.At(i);
    cow.RebuildCrashImage(fates, rebuilt);
    DurableMedium fresh = cow.medium();
    cow.RebuildCrashImage(fates, fresh);  // on a copy of the medium: CrashImage, not flattened
    const PageStore image = cow.CrashImage(fates);
    for (sector_t sector = 0; sector < kSectors; ++sector) {
      rebuilt.pristine().Read(sector, 1, a);
      fresh.pristine().Read(sector, 1, b);
      ASSERT_EQ(std::memcmp(a, b, kSectorSize), 0) << "pristine sector " << sector;
      rebuilt.Read(sector, 1, a);
      image.Read(sector, 1, b);
      ASSERT_EQ(std::memcmp(a, b, kSectorSize), 0) << "sector " << sector;
    }
    ASSERT_EQ(rebuilt.damaged_sectors(), fresh.damaged_sectors());
    ASSERT_EQ(rebuilt.latent_errors(), fresh.latent_errors());
  }
}

// The explorer reuses a scratch check whose recovery wrote: its device, built over an overlay on
// the explorer's crash state, must show the state as it is now under the same writes, also on
// the sectors of the writes' pages they did not touch (a page written over an overlay was filled
// from the base as it was then).
TEST(SimDevice, ReplayOverBaseShowsTheBaseAsItIsNowUnderTheRecordedWrites) {
  constexpr sector_t kSectors = 64;
  World world;
  SimDevice& parent = world.Make(DeviceRole::kCow, kSectors);
  ASSERT_EQ(WriteSync(parent, 0, 8, 1, /*fua=*/true), 0);
  DurableMedium base = parent.medium();
  SimDevice scratch(
      SimDeviceConfig{"scratch", DeviceRole::kCow, kSectors, kSectorSize, ZeroContent()},
      PageStore::OverlayOn(base), world.scheduler(), world.prng(), world.profile(), world.probes(),
      &world.trace());
  std::vector<SimDevice::CompletedWrite> writes;
  scratch.RecordCompletedWritesInto(&writes);
  ASSERT_EQ(WriteSync(scratch, 1, 1, 10), 0);                // cached
  ASSERT_EQ(WriteSync(scratch, 3, 1, 11, /*fua=*/true), 0);  // durable: on the scratch's medium
  scratch.RecordCompletedWritesInto(nullptr);
  ASSERT_EQ(WriteSync(scratch, 5, 1, 12), 0);  // not recorded: gone after the replay
  ASSERT_EQ(writes.size(), 2u);

  // The base becomes another crash state: sectors of the written page, written or not.
  const std::vector<uint8_t> other = StampedData(0, 8, 20);
  base.Land(0, 0, 8, other.data());
  EXPECT_EQ(WriteIdAt(scratch.current_image(), 2), 1u) << "the page was filled from the old base";

  scratch.ReplayOverBase(writes);
  EXPECT_EQ(WriteIdAt(scratch.current_image(), 0), 20u);
  EXPECT_EQ(WriteIdAt(scratch.current_image(), 1), 10u);
  EXPECT_EQ(WriteIdAt(scratch.current_image(), 2), 20u);
  EXPECT_EQ(WriteIdAt(scratch.current_image(), 3), 11u);
  EXPECT_EQ(WriteIdAt(scratch.current_image(), 5), 20u);
  uint8_t bytes[kSectorSize];
  EXPECT_EQ(scratch.ReadAsQuietRead(2, 1, bytes), 0);
  EXPECT_EQ(DecodeStamp(bytes)->write_id, 20u);
}

TEST(SimDeviceAssertions, IoToACrashedDeviceAsserts) {
  World world;
  SimDevice& cow = world.Make();
  cow.ApplyCrash({});
  try {
    WriteSync(cow, 0, 1, 1);
    ADD_FAILURE() << "I/O to a crashed device did not assert";
  } catch (const AssertionFailure& failure) {
    EXPECT_THAT(failure.what(), ::testing::HasSubstr("crashed device"));
    EXPECT_THAT(failure.file(), ::testing::StartsWith("sim/world/sim_device.cc"));
  }
}

// Fault families: each fires and is counted by its probe.

TEST(SimDeviceFaults, ReadAndWriteEioByChance) {
  World world;
  world.profile().cow.read_eio = kAlways;
  world.profile().cow.write_eio = kAlways;
  SimDevice& cow = world.Make();
  EXPECT_EQ(WriteSync(cow, 0, 1, 1), -EIO);
  EXPECT_TRUE(IsZero(cow.current_image(), 0));  // a failed write changes nothing
  uint8_t bytes[kSectorSize];
  EXPECT_EQ(SyncIo(cow, BioOp::kRead, 0, 1, bytes), -EIO);
  EXPECT_EQ(world.probes().count(Probe::kIoWriteEio), 1u);
  EXPECT_EQ(world.probes().count(Probe::kIoReadEio), 1u);
  EXPECT_EQ(FlushSync(cow), 0);  // an empty flush is not a write
}

TEST(SimDeviceFaults, EioOnASectorRangeOnlyForIoTouchingIt) {
  World world;
  world.profile().origin.eio_range_start = 100;
  world.profile().origin.eio_range_count = 10;
  SimDevice& origin = world.Make(DeviceRole::kOrigin);
  SimDevice& cow = world.Make(DeviceRole::kCow);
  EXPECT_EQ(WriteSync(origin, 96, 4, 1), 0);
  EXPECT_EQ(WriteSync(origin, 96, 8, 1), -EIO);
  EXPECT_EQ(WriteSync(origin, 109, 1, 1), -EIO);
  EXPECT_EQ(WriteSync(origin, 110, 1, 1), 0);
  EXPECT_EQ(WriteSync(cow, 100, 1, 1), 0);  // per device
  EXPECT_EQ(world.probes().count(Probe::kIoRangeEio), 2u);
}

TEST(SimDeviceFaults, EioAtTheNthIo) {
  World world;
  world.profile().cow.eio_at_nth_io = 3;
  SimDevice& cow = world.Make();
  EXPECT_EQ(WriteSync(cow, 0, 1, 1), 0);
  EXPECT_EQ(FlushSync(cow), 0);
  EXPECT_EQ(WriteSync(cow, 0, 1, 2), -EIO);
  EXPECT_EQ(WriteSync(cow, 0, 1, 3), 0);
  EXPECT_EQ(world.probes().count(Probe::kIoNthEio), 1u);
}

TEST(SimDeviceFaults, LatentReadErrorFailsReadsUntilTheSectorIsRewritten) {
  World world;
  world.profile().cow.latent_read_error = kAlways;
  SimDevice& cow = world.Make();
  ASSERT_EQ(WriteSync(cow, 0, 1, 1), 0);
  ASSERT_EQ(cow.latent_errors().size(), 1u);
  uint8_t bytes[kSectorSize];
  EXPECT_EQ(SyncIo(cow, BioOp::kRead, 0, 1, bytes), -EIO);
  EXPECT_EQ(world.probes().count(Probe::kIoLatentReadError), 1u);
  world.profile().cow.latent_read_error = kNever;
  ASSERT_EQ(WriteSync(cow, 0, 1, 2), 0);
  EXPECT_TRUE(cow.latent_errors().empty());
  EXPECT_EQ(SyncIo(cow, BioOp::kRead, 0, 1, bytes), 0);
}

TEST(SimDeviceFaults, SubSectorTearLandsAPrefixOfOneSector) {
  World world;
  world.profile().subsector_tear = kAlways;
  world.profile().crash_keep_weight = 1;
  world.profile().crash_drop_weight = 0;
  world.profile().crash_tear_weight = 0;
  SimDevice& cow = world.Make();
  ASSERT_EQ(WriteSync(cow, 0, 1, 1), 0);
  Prng crash_prng(9);
  cow.Crash(crash_prng);
  EXPECT_EQ(world.probes().count(Probe::kBeyondSubsectorTear), 1u);
  EXPECT_FALSE(WriteIdAt(cow.durable_image(), 0).has_value());  // neither old nor new
  EXPECT_FALSE(IsZero(cow.durable_image(), 0));
  ASSERT_EQ(cow.applied_faults().size(), 1u);
  EXPECT_EQ(cow.applied_faults()[0].probe, Probe::kBeyondSubsectorTear);
}

TEST(SimDeviceFaults, LostDurableWriteIsAcknowledgedButNotOnTheMedium) {
  World world;
  world.profile().lost_durable_write = kAlways;
  SimDevice& cow = world.Make();
  ASSERT_EQ(WriteSync(cow, 0, 1, 1, /*fua=*/true), 0);
  EXPECT_EQ(WriteIdAt(cow.current_image(), 0), 1u);
  EXPECT_TRUE(IsZero(cow.durable_image(), 0));
  EXPECT_EQ(world.probes().count(Probe::kBeyondLostDurableWrite), 1u);
}

TEST(SimDeviceFaults, MisdirectedWriteLandsElsewhereAndIsRecorded) {
  World world;
  world.profile().misdirected_write = kAlways;
  SimDevice& cow = world.Make();
  ASSERT_EQ(WriteSync(cow, 0, 1, 1), 0);
  EXPECT_TRUE(IsZero(cow.current_image(), 0));
  ASSERT_EQ(world.probes().count(Probe::kBeyondMisdirectedWrite), 1u);
  const AppliedFault& fault = cow.applied_faults().at(0);
  EXPECT_EQ(fault.intended_sector, 0u);
  uint8_t bytes[kSectorSize];
  cow.ReadCurrent(fault.sector, 1, bytes);
  auto stamp = DecodeStamp(bytes);
  ASSERT_TRUE(stamp.has_value());
  EXPECT_EQ(stamp->sector, 0u);  // the stamp still names where it was meant to go
}

TEST(SimDeviceFaults, CorruptedSectorOnTheMediumFailsItsStamp) {
  World world;
  world.profile().corrupted_sector = kAlways;
  SimDevice& cow = world.Make();
  ASSERT_EQ(WriteSync(cow, 0, 1, 1, /*fua=*/true), 0);
  EXPECT_EQ(world.probes().count(Probe::kBeyondCorruptedSector), 1u);
  EXPECT_EQ(WriteIdAt(cow.current_image(), 0), 1u);  // the cache still had the good copy
  EXPECT_FALSE(WriteIdAt(cow.durable_image(), 0).has_value());
}

// Reads `sector` through the device, as the store would after a crash.
std::optional<uint64_t> ReadWriteId(SimDevice& device, sector_t sector) {
  uint8_t bytes[kSectorSize];
  if (SyncIo(device, BioOp::kRead, sector, 1, bytes) != 0) return std::nullopt;
  auto stamp = DecodeStamp(bytes);
  if (!stamp || stamp->sector != sector) return std::nullopt;
  return stamp->write_id;
}

TEST(SimDeviceFaultOverlay, CorruptionLeavesThePristineMediumIntactAndReadsSeeIt) {
  World world;
  world.profile().corrupted_sector = kAlways;
  SimDevice& cow = world.Make();
  ASSERT_EQ(WriteSync(cow, 8, 1, 1, /*fua=*/true), 0);
  EXPECT_EQ(WriteIdAt(cow.medium().pristine(), 8), 1u) << "what the contract says landed";
  ASSERT_EQ(cow.medium().damaged_sectors().size(), 1u);
  EXPECT_EQ(cow.medium().damaged_sectors().begin()->first, 8u);
  EXPECT_FALSE(WriteIdAt(cow.medium(), 8).has_value()) << "the medium reads through the overlay";
  EXPECT_FALSE(WriteIdAt(cow.durable_image(), 8).has_value()) << "a crash state is the real disk";
  Prng crash_prng(1);
  cow.Crash(crash_prng);
  cow.Restart();
  EXPECT_FALSE(ReadWriteId(cow, 8).has_value()) << "after the crash, reads see the corruption";
  EXPECT_EQ(WriteIdAt(cow.medium().pristine(), 8), 1u);
}

TEST(SimDeviceFaultOverlay, ADurableRewriteHealsADamagedSector) {
  World world;
  world.profile().corrupted_sector = kAlways;
  SimDevice& cow = world.Make();
  ASSERT_EQ(WriteSync(cow, 8, 1, 1, /*fua=*/true), 0);
  ASSERT_FALSE(cow.medium().damaged_sectors().empty());
  world.profile().corrupted_sector = kNever;
  ASSERT_EQ(WriteSync(cow, 8, 1, 2, /*fua=*/true), 0);
  EXPECT_TRUE(cow.medium().damaged_sectors().empty());
  EXPECT_EQ(WriteIdAt(cow.durable_image(), 8), 2u);
}

TEST(SimDeviceFaultOverlay, ALostWriteIsPristineButReadsReturnTheOldContent) {
  World world;
  world.profile().lost_durable_write = kAlways;
  SimDevice& cow = world.Make();
  ASSERT_EQ(WriteSync(cow, 16, 2, 1, /*fua=*/true), 0);
  EXPECT_EQ(WriteIdAt(cow.medium().pristine(), 16), 1u);
  EXPECT_EQ(WriteIdAt(cow.medium().pristine(), 17), 1u);
  EXPECT_EQ(cow.medium().damaged_sectors().size(), 2u);
  Prng crash_prng(1);
  cow.Crash(crash_prng);
  cow.Restart();
  uint8_t bytes[kSectorSize];
  ASSERT_EQ(SyncIo(cow, BioOp::kRead, 16, 1, bytes), 0);
  EXPECT_TRUE(IsZero(cow.current_image(), 16));
  EXPECT_TRUE(IsZero(cow.durable_image(), 17));
}

TEST(SimDeviceFaultOverlay, AMisdirectedWriteIsPristineWhereItWasSent) {
  World world;
  world.profile().misdirected_write = kAlways;
  SimDevice& cow = world.Make();
  ASSERT_EQ(WriteSync(cow, 0, 1, 1, /*fua=*/true), 0);
  const AppliedFault& fault = cow.applied_faults().at(0);
  ASSERT_NE(fault.sector, 0u);
  EXPECT_EQ(WriteIdAt(cow.medium().pristine(), 0), 1u);
  EXPECT_TRUE(IsZero(cow.medium().pristine(), fault.sector));
  const PageStore disk = cow.durable_image();
  EXPECT_TRUE(IsZero(disk, 0)) << "the intended sector kept its old content";
  uint8_t bytes[kSectorSize];
  disk.Read(fault.sector, 1, bytes);
  ASSERT_TRUE(DecodeStamp(bytes).has_value());
  EXPECT_EQ(DecodeStamp(bytes)->write_id, 1u) << "the data is where the device put it";
}

TEST(SimDeviceFaultOverlay, LatentErrorsAreInTheOverlayAndChangeNoContent) {
  World world;
  world.profile().cow.latent_read_error = kAlways;
  SimDevice& cow = world.Make();
  ASSERT_EQ(WriteSync(cow, 0, 1, 1, /*fua=*/true), 0);
  EXPECT_EQ(cow.medium().latent_errors(), (absl::btree_set<sector_t>{0}));
  EXPECT_TRUE(cow.medium().damaged_sectors().empty());
  EXPECT_EQ(WriteIdAt(cow.durable_image(), 0), 1u);
  EXPECT_FALSE(ReadWriteId(cow, 0).has_value()) << "the read fails with EIO";
}

TEST(SimDeviceFaultOverlay, AQuietDeviceHasNoOverlay) {
  World world;
  SimDevice& cow = world.Make();
  ASSERT_EQ(WriteSync(cow, 0, 8, 1, /*fua=*/true), 0);
  EXPECT_FALSE(cow.medium().has_faults());
  EXPECT_EQ(WriteIdAt(cow.medium().pristine(), 7), 1u);
  EXPECT_EQ(WriteIdAt(cow.durable_image(), 7), 1u);
}

TEST(SimDeviceFaults, LyingFlushMakesNothingDurable) {
  World world;
  world.profile().lying_flush = kAlways;
  SimDevice& cow = world.Make();
  ASSERT_EQ(WriteSync(cow, 0, 1, 1), 0);
  ASSERT_EQ(FlushSync(cow), 0);
  EXPECT_TRUE(IsZero(cow.durable_image(), 0));
  EXPECT_EQ(cow.NonDurableWrites().size(), 1u);
  EXPECT_EQ(world.probes().count(Probe::kBeyondLyingFlush), 1u);
}

struct Completion {
  uint64_t write;  // index in submission order
  SimTime at;
};

// Submits 32 one-sector writes at once (time 0) to a new COW device; returns their completions
// in the order they happened.
std::vector<Completion> CompletionsOf32Writes(World& world) {
  SimDevice& cow = world.Make();
  std::vector<std::vector<uint8_t>> keep;
  std::vector<Completion> completions;
  for (uint64_t i = 0; i < 32; ++i) {
    keep.push_back(StampedData(i, 1, i));
    Bio bio;
    bio.op = BioOp::kWrite;
    bio.sector = i;
    bio.sector_count = 1;
    bio.data = keep.back().data();
    bio.end_io = [&world, &completions, i](int) {
      completions.push_back({i, world.scheduler().now()});
    };
    cow.Submit(std::move(bio));
  }
  world.scheduler().RunUntilIdle(100);
  return completions;
}

std::vector<uint64_t> CompletionOrderOf32Writes(World& world) {
  std::vector<uint64_t> order;
  for (const Completion& c : CompletionsOf32Writes(world)) order.push_back(c.write);
  return order;
}

TEST(SimDeviceFaults, ReorderedCompletionsAreCounted) {
  World world;
  world.profile().reorder = kAlways;
  world.profile().latency_min_ns = 1;
  world.profile().latency_max_ns = 1'000'000;
  const std::vector<uint64_t> completion_order = CompletionOrderOf32Writes(world);
  ASSERT_EQ(completion_order.size(), 32u);
  EXPECT_FALSE(std::is_sorted(completion_order.begin(), completion_order.end()));
  EXPECT_GT(world.probes().count(Probe::kSchedReorderedCompletion), 0u);
}

TEST(SimDeviceFaults, WithoutReorderCompletionsAreFifo) {
  World world;
  world.profile().latency_min_ns = 1;
  world.profile().latency_max_ns = 1'000'000;
  const std::vector<uint64_t> completion_order = CompletionOrderOf32Writes(world);
  EXPECT_TRUE(std::is_sorted(completion_order.begin(), completion_order.end()));
  EXPECT_EQ(world.probes().count(Probe::kSchedReorderedCompletion), 0u);
}

TEST(SimDeviceFaults, ASlowIoCompletesAfterEveryOrdinaryOneSubmittedWithIt) {
  World world;
  world.profile().reorder = kAlways;
  world.profile().latency_min_ns = 1'000;
  world.profile().latency_max_ns = 2'000;
  world.profile().slow_io = Ratio{1, 4};
  world.profile().slow_io_latency_max_ns = 1'000'000;
  const std::vector<Completion> completions = CompletionsOf32Writes(world);
  ASSERT_EQ(completions.size(), 32u);
  const uint64_t stalled = world.probes().count(Probe::kSchedSlowIo);
  EXPECT_GT(stalled, 0u);
  EXPECT_LT(stalled, 32u);
  // All were submitted at time 0: the ordinary ones end within latency_max_ns, the stalled ones
  // no earlier than it.
  const auto ordinary = std::count_if(completions.begin(), completions.end(),
                                      [](const Completion& c) { return c.at < 2'000; });
  EXPECT_GE(static_cast<uint64_t>(ordinary), 32u - stalled);
  EXPECT_GT(completions.back().at, 2'000u);
}

// Sparse storage.

TEST(PageStore, ATebibyteDeviceWithAFewWritesHoldsOnlyThosePages) {
  constexpr sector_t kTebibyteSectors = sector_t{1} << 31;
  World world;
  SimDevice& origin = world.Make(DeviceRole::kOrigin, kTebibyteSectors, InitialOriginContent());
  for (uint64_t i = 0; i < 10; ++i) {
    ASSERT_EQ(WriteSync(origin, (kTebibyteSectors / 10) * i / 8 * 8, 8, i + 1), 0);
  }
  ASSERT_EQ(FlushSync(origin), 0);
  EXPECT_EQ(origin.current_image().page_count(), 10u);
  EXPECT_EQ(origin.durable_image().page_count(), 10u);
  EXPECT_LE(origin.current_image().bytes_held(), 10u * kPageSize);
  uint8_t bytes[kSectorSize];
  ASSERT_EQ(SyncIo(origin, BioOp::kRead, kTebibyteSectors - 1, 1, bytes), 0);
  EXPECT_EQ(DecodeStamp(bytes), InitialOriginStamp(kTebibyteSectors - 1));
}

TEST(PageStore, CloneSharesPagesAndCopiesOnWrite) {
  PageStore store(1024, ZeroContent());
  std::vector<uint8_t> data = StampedData(0, 16, 1);
  store.Write(0, 16, data.data());
  EXPECT_EQ(store.page_count(), 2u);
  EXPECT_EQ(store.unshared_page_count(), 2u);
  PageStore clone = store;
  EXPECT_EQ(store.unshared_page_count(), 0u);
  std::vector<uint8_t> other = StampedData(0, 1, 2);
  clone.Write(0, 1, other.data());
  EXPECT_EQ(WriteIdAt(store, 0), 1u);  // the original is untouched
  EXPECT_EQ(WriteIdAt(clone, 0), 2u);
  EXPECT_EQ(WriteIdAt(clone, 1), 1u);  // the rest of the page was copied
  EXPECT_EQ(clone.unshared_page_count(), 1u);
}

TEST(PageStore, PartialPageWriteKeepsTheGeneratedRest) {
  PageStore store(64, InitialOriginContent());
  std::vector<uint8_t> data = StampedData(3, 1, 5);
  store.Write(3, 1, data.data());
  EXPECT_EQ(WriteIdAt(store, 3), 5u);
  EXPECT_EQ(WriteIdAt(store, 2), 0u);
  EXPECT_EQ(WriteIdAt(store, 4), 0u);
}

// Determinism.

uint64_t RandomWorkloadTraceHash(uint64_t seed) {
  World world(seed);
  Prng swarm = world.prng().Split("faults");
  world.profile() = SwarmProfile(swarm, {false, kDeviceSectors, kDeviceSectors});
  SimDevice& origin = world.Make(DeviceRole::kOrigin, kDeviceSectors, InitialOriginContent());
  SimDevice& cow = world.Make(DeviceRole::kCow);
  Prng workload = world.prng().Split("workload");
  std::vector<std::vector<uint8_t>> keep;
  for (uint64_t i = 0; i < 300; ++i) {
    SimDevice& device = workload.Chance({1, 2}) ? origin : cow;
    const sector_t sector = workload.UintLessThan(kDeviceSectors / 8) * 8;
    if (workload.Chance({1, 10})) {
      FlushAsync(device);
    } else {
      WriteAsync(device, sector, 8, i + 1, keep);
    }
    if (workload.Chance({1, 4})) world.scheduler().RunUntilIdle(8);
  }
  Prng crash = world.prng().Split("crash");
  origin.Crash(crash);
  cow.Crash(crash);
  return world.trace().hash();
}

TEST(SimDeviceDeterminism, SameSeedGivesTheSameTraceHash) {
  EXPECT_EQ(RandomWorkloadTraceHash(5), RandomWorkloadTraceHash(5));
  EXPECT_EQ(RandomWorkloadTraceHash(6), RandomWorkloadTraceHash(6));
}

TEST(SimDeviceDeterminism, DifferentSeedsGiveDifferentTraceHashes) {
  EXPECT_NE(RandomWorkloadTraceHash(5), RandomWorkloadTraceHash(6));
}

}  // namespace
}  // namespace snapsim
