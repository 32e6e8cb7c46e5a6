// SPDX-License-Identifier: GPL-2.0-only
//
// Random workloads against the snapshot target with completions released in random order: the
// snapshot keeps its point-in-time image (plus its own writes), the origin holds its writes, and
// a reload over the same devices sees the same snapshot.
#include <algorithm>
#include <cstring>
#include <memory>
#include <optional>
#include <set>
#include <vector>

#include "core/snapshot_target.h"
#include "gtest/gtest.h"
#include "rapidcheck.h"
#include "rapidcheck/gtest.h"
#include "tests/support/deferred_device.h"

namespace snapsim {
namespace {

using ::snapsim::testing::DeferredDevice;

constexpr sector_t kOriginSectors = 128;  // 16 chunks of 8
constexpr sector_t kCowSectors = 2048;    // never full here
constexpr int kMaxBatches = 12;
constexpr int kMaxBiosPerBatch = 6;
constexpr uint32_t kMaxBioLength = 24;  // spans up to 4 chunks
constexpr size_t kMaxReleases = 100000;

enum class Kind { kOriginWrite, kOriginRead, kSnapWrite, kSnapRead };

struct Pending {
  Kind kind;
  sector_t sector;
  uint32_t count;
  std::vector<uint8_t> data;
  bool done = false;
  int error = 0;
};

struct World {
  DeferredDevice origin{"origin", kOriginSectors};
  DeferredDevice cow{"cow", kCowSectors};
  std::vector<uint8_t> origin_model;
  std::vector<uint8_t> snap_model;

  World() {
    for (sector_t s = 0; s < kOriginSectors; ++s) {
      std::memset(origin.SectorData(s), static_cast<int>(s + 1), kSectorSize);
    }
    origin_model = origin.bytes();
    snap_model = origin.bytes();
  }

  std::unique_ptr<SnapshotTarget> Activate(bool auto_complete) {
    origin.set_auto_complete(auto_complete);
    cow.set_auto_complete(true);  // read_metadata
    auto target = SnapshotTarget::Create(TargetKind::kSnapshot, &origin, &cow, {"o", "c", "P", "8"},
                                         {}, {}, nullptr);
    cow.set_auto_complete(auto_complete);
    RC_ASSERT(target.ok());
    return *std::move(target);
  }

  // Releases queued completions in an order the generator picks, until none is left.
  void ReleaseRandomly() {
    for (size_t i = 0; origin.queued() + cow.queued() > 0; ++i) {
      RC_ASSERT(i < kMaxReleases);
      const size_t total = origin.queued() + cow.queued();
      const size_t pick = *rc::gen::inRange<size_t>(0, total);
      if (pick < origin.queued()) {
        origin.ReleaseAt(pick);
      } else {
        cow.ReleaseAt(pick - origin.queued());
      }
    }
  }

  std::vector<uint8_t> ReadSnapshot(SnapshotTarget& target) {
    std::vector<uint8_t> image(kOriginSectors << kSectorShift);
    int error = 1;
    Bio bio;
    bio.op = BioOp::kRead;
    bio.sector = 0;
    bio.sector_count = kOriginSectors;
    bio.data = image.data();
    bio.end_io = [&error](int e) { error = e; };
    target.SubmitSnapshot(std::move(bio));
    ReleaseRandomly();
    RC_ASSERT(error == 0);
    return image;
  }
};

RC_GTEST_PROP(TargetProperty, SnapshotKeepsItsImageUnderAnyCompletionOrder, ()) {
  World world;
  auto target = world.Activate(false);
  const int batches = *rc::gen::inRange(1, kMaxBatches + 1);
  uint8_t next_fill = 1;
  for (int b = 0; b < batches; ++b) {
    // Bios of one batch run concurrently; writes never overlap another bio of the batch on the
    // same device side, so the models stay exact. Snapshot reads may overlap origin writes: the
    // snapshot must still return the old data.
    std::set<sector_t> origin_used, snap_used;
    std::vector<std::shared_ptr<Pending>> ios;
    std::optional<sector_t> last_snap_read;
    const int count = *rc::gen::inRange(1, kMaxBiosPerBatch + 1);
    for (int i = 0; i < count; ++i) {
      auto io = std::make_shared<Pending>();
      io->kind = *rc::gen::element(Kind::kOriginWrite, Kind::kOriginRead, Kind::kSnapWrite,
                                   Kind::kSnapRead);
      io->count = *rc::gen::inRange<uint32_t>(1, kMaxBioLength + 1);
      io->sector = *rc::gen::inRange<sector_t>(0, kOriginSectors - io->count + 1);
      // Often aim an origin write at the sectors a snapshot read of this batch has in flight:
      // the race __check_for_conflicting_io exists for.
      if (io->kind == Kind::kOriginWrite && last_snap_read.has_value() &&
          *rc::gen::arbitrary<bool>()) {
        io->sector = *last_snap_read;
        io->count = std::min<uint32_t>(io->count, kOriginSectors - io->sector);
      }
      if (io->kind == Kind::kSnapRead) last_snap_read = io->sector;
      const bool on_origin = io->kind == Kind::kOriginWrite || io->kind == Kind::kOriginRead;
      const bool is_write = io->kind == Kind::kOriginWrite || io->kind == Kind::kSnapWrite;
      std::set<sector_t>& used = on_origin ? origin_used : snap_used;
      bool clash = false;
      for (sector_t s = io->sector; s < io->sector + io->count; ++s) clash |= used.contains(s);
      if (clash) continue;
      for (sector_t s = io->sector; s < io->sector + io->count; ++s) used.insert(s);
      io->data.assign(uint64_t{io->count} << kSectorShift, is_write ? next_fill++ : 0);
      if (is_write) {
        std::vector<uint8_t>& model = on_origin ? world.origin_model : world.snap_model;
        std::memcpy(model.data() + (io->sector << kSectorShift), io->data.data(), io->data.size());
      }
      Bio bio;
      bio.op = is_write ? BioOp::kWrite : BioOp::kRead;
      bio.sector = io->sector;
      bio.sector_count = io->count;
      bio.data = io->data.data();
      bio.end_io = [io](int error) {
        io->done = true;
        io->error = error;
      };
      ios.push_back(io);
      if (on_origin) {
        target->SubmitOrigin(std::move(bio));
      } else {
        target->SubmitSnapshot(std::move(bio));
      }
    }
    // A read never overlaps a write of its own side in the batch, so the models after the
    // batch hold what it must return; origin writes never change the snapshot image.
    world.ReleaseRandomly();
    for (const auto& io : ios) {
      RC_ASSERT(io->done);
      RC_ASSERT(io->error == 0);
      if (io->kind == Kind::kSnapRead) {
        RC_ASSERT(std::memcmp(io->data.data(),
                              world.snap_model.data() + (io->sector << kSectorShift),
                              io->data.size()) == 0);
      }
      if (io->kind == Kind::kOriginRead) {
        RC_ASSERT(std::memcmp(io->data.data(),
                              world.origin_model.data() + (io->sector << kSectorShift),
                              io->data.size()) == 0);
      }
    }
    RC_ASSERT(target->in_flight() == 0u);
    RC_ASSERT(target->valid());
  }
  RC_ASSERT(world.origin.bytes() == world.origin_model);
  RC_ASSERT(world.ReadSnapshot(*target) == world.snap_model);
  target.reset();
  auto reloaded = world.Activate(false);
  RC_ASSERT(world.ReadSnapshot(*reloaded) == world.snap_model);
}

}  // namespace
}  // namespace snapsim
