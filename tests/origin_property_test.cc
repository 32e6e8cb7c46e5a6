// SPDX-License-Identifier: GPL-2.0-only
//
// Random workloads on one origin with several snapshots of mixed chunk sizes, made and removed
// between batches (lvcreate order), with every completion released in a random order across the
// origin and all COWs: each snapshot keeps the origin's image of the moment it was made plus its
// own writes, the origin holds its writes, and a reload of every snapshot sees the same images.
#include <cstring>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/origin.h"
#include "core/snapshot_target.h"
#include "gtest/gtest.h"
#include "rapidcheck.h"
#include "rapidcheck/gtest.h"
#include "tests/support/bio_builder.h"
#include "tests/support/deferred_device.h"

namespace snapsim {
namespace {

using ::snapsim::testing::DeferredDevice;

constexpr sector_t kOriginSectors = 256;  // 8 chunks of 32 .. 64 chunks of 4
constexpr sector_t kCowSectors = 4096;    // never full here
constexpr size_t kMaxSnapshots = 4;
constexpr int kMaxBatches = 10;
constexpr int kMaxBiosPerBatch = 6;
constexpr uint32_t kMaxBioLength = 40;
constexpr size_t kMaxReleases = 200000;

struct Snapshot {
  std::unique_ptr<DeferredDevice> cow;
  uint32_t chunk = 0;
  std::unique_ptr<SnapshotTarget> target;
  std::vector<uint8_t> model;  // the origin when it was made, plus its own writes
};

struct Io {
  int device = -1;  // -1 the origin, else a snapshot index
  bool write = false;
  sector_t sector = 0;
  uint32_t count = 0;
  std::vector<uint8_t> data;
  bool done = false;
  int error = 0;
};

class MultiWorld {
 public:
  MultiWorld() : origin_device_("origin", kOriginSectors), origin_(&origin_device_) {
    for (sector_t s = 0; s < kOriginSectors; ++s) {
      std::memset(origin_device_.SectorData(s), static_cast<int>(s % 255 + 1), kSectorSize);
    }
    origin_model_ = origin_device_.bytes();
  }

  // lvcreate: suspend the origin, create the snapshot on a fresh COW, resume the origin.
  void AddSnapshot(uint32_t chunk) {
    auto snapshot = std::make_unique<Snapshot>();
    snapshot->cow =
        std::make_unique<DeferredDevice>(absl::StrCat("cow", snapshots_.size()), kCowSectors);
    snapshot->chunk = chunk;
    snapshot->model = origin_model_;
    snapshots_.push_back(std::move(snapshot));
    Activate(*snapshots_.back());
  }

  void Activate(Snapshot& snapshot) {
    origin_.Suspend();
    snapshot.cow->set_auto_complete(true);  // header and read_metadata
    auto target = SnapshotTarget::Create(
        TargetKind::kSnapshot, &origin_device_, snapshot.cow.get(),
        {"o", snapshot.cow->name(), "P", absl::StrCat(snapshot.chunk)}, {}, {}, nullptr);
    snapshot.cow->set_auto_complete(false);
    RC_ASSERT(target.ok());
    snapshot.target = *std::move(target);
    origin_.AddSnapshot(snapshot.target.get());
    origin_.Resume();
  }

  void Deactivate(Snapshot& snapshot) {
    RC_ASSERT(snapshot.target->in_flight() == 0u);
    origin_.Suspend();
    origin_.RemoveSnapshot(snapshot.target.get());
    snapshot.target.reset();
    origin_.Resume();
  }

  void RemoveSnapshot(size_t index) {
    Deactivate(*snapshots_[index]);
    snapshots_.erase(snapshots_.begin() + static_cast<std::ptrdiff_t>(index));
  }

  // Every snapshot removed and re-created from its COW, then the origin resumed (lvm2's order).
  void ReloadAll() {
    for (auto& s : snapshots_) Deactivate(*s);
    for (auto& s : snapshots_) Activate(*s);
  }

  void Submit(const std::shared_ptr<Io>& io) {
    Bio bio = testing::MakeBio(io->write ? BioOp::kWrite : BioOp::kRead, io->sector, io->count,
                               io->data.data(), [io](int error) {
                                 io->done = true;
                                 io->error = error;
                               });
    if (io->device < 0) {
      origin_.Submit(std::move(bio));
    } else {
      snapshots_[static_cast<size_t>(io->device)]->target->SubmitSnapshot(std::move(bio));
    }
  }

  // Releases queued completions of every device in an order the generator picks.
  void ReleaseRandomly() {
    for (size_t i = 0;; ++i) {
      RC_ASSERT(i < kMaxReleases);
      std::vector<DeferredDevice*> devices = {&origin_device_};
      for (auto& s : snapshots_) devices.push_back(s->cow.get());
      size_t total = 0;
      for (DeferredDevice* d : devices) total += d->queued();
      if (total == 0) return;
      size_t pick = *rc::gen::inRange<size_t>(0, total);
      for (DeferredDevice* d : devices) {
        if (pick < d->queued()) {
          d->ReleaseAt(pick);
          break;
        }
        pick -= d->queued();
      }
    }
  }

  std::vector<uint8_t> ReadWhole(int device) {
    auto io = std::make_shared<Io>();
    io->device = device;
    io->count = kOriginSectors;
    io->data.assign(kOriginSectors << kSectorShift, 0);
    Submit(io);
    ReleaseRandomly();
    RC_ASSERT(io->done);
    RC_ASSERT(io->error == 0);
    return io->data;
  }

  std::vector<std::unique_ptr<Snapshot>>& snapshots() { return snapshots_; }
  std::vector<uint8_t>& origin_model() { return origin_model_; }
  const DeferredDevice& origin_device() const { return origin_device_; }

 private:
  DeferredDevice origin_device_;
  Origin origin_;
  std::vector<uint8_t> origin_model_;
  std::vector<std::unique_ptr<Snapshot>> snapshots_;
};

RC_GTEST_PROP(OriginProperty, EverySnapshotKeepsItsImageUnderAnyCompletionOrder, ()) {
  MultiWorld world;
  world.AddSnapshot(*rc::gen::element(4u, 8u, 16u, 32u));
  const int batches = *rc::gen::inRange(1, kMaxBatches + 1);
  uint8_t next_fill = 1;
  for (int b = 0; b < batches; ++b) {
    // Between batches (everything idle): sometimes a new snapshot, sometimes one removed.
    const int change = *rc::gen::inRange(0, 4);
    if (change == 0 && world.snapshots().size() < kMaxSnapshots) {
      world.AddSnapshot(*rc::gen::element(4u, 8u, 16u, 32u));
    } else if (change == 1 && world.snapshots().size() > 1) {
      world.RemoveSnapshot(*rc::gen::inRange<size_t>(0, world.snapshots().size()));
    }
    const int devices = static_cast<int>(world.snapshots().size());
    // Writes never overlap another bio of the batch on the same device, so the models stay
    // exact; snapshot reads may overlap origin writes and must still see the old data.
    std::vector<std::set<sector_t>> used(static_cast<size_t>(devices) + 1);
    std::vector<std::shared_ptr<Io>> ios;
    const int count = *rc::gen::inRange(1, kMaxBiosPerBatch + 1);
    for (int i = 0; i < count; ++i) {
      auto io = std::make_shared<Io>();
      io->device = *rc::gen::inRange(-1, devices);
      io->write = *rc::gen::arbitrary<bool>();
      io->count = *rc::gen::inRange<uint32_t>(1, kMaxBioLength + 1);
      io->sector = *rc::gen::inRange<sector_t>(0, kOriginSectors - io->count + 1);
      std::set<sector_t>& taken = used[static_cast<size_t>(io->device + 1)];
      bool clash = false;
      for (sector_t s = io->sector; s < io->sector + io->count; ++s) clash |= taken.contains(s);
      if (clash) continue;
      for (sector_t s = io->sector; s < io->sector + io->count; ++s) taken.insert(s);
      io->data.assign(uint64_t{io->count} << kSectorShift, io->write ? next_fill++ : 0);
      if (io->write) {
        std::vector<uint8_t>& model =
            io->device < 0 ? world.origin_model()
                           : world.snapshots()[static_cast<size_t>(io->device)]->model;
        std::memcpy(model.data() + (io->sector << kSectorShift), io->data.data(), io->data.size());
      }
      ios.push_back(io);
      world.Submit(io);
    }
    world.ReleaseRandomly();
    for (const auto& io : ios) {
      RC_ASSERT(io->done);
      RC_ASSERT(io->error == 0);
      if (io->write) continue;
      const std::vector<uint8_t>& model =
          io->device < 0 ? world.origin_model()
                         : world.snapshots()[static_cast<size_t>(io->device)]->model;
      RC_ASSERT(std::memcmp(io->data.data(), model.data() + (io->sector << kSectorShift),
                            io->data.size()) == 0);
    }
    for (const auto& s : world.snapshots()) {
      RC_ASSERT(s->target->in_flight() == 0u);
      RC_ASSERT(s->target->valid());
    }
  }
  RC_ASSERT(world.origin_device().bytes() == world.origin_model());
  for (size_t i = 0; i < world.snapshots().size(); ++i) {
    RC_ASSERT(world.ReadWhole(static_cast<int>(i)) == world.snapshots()[i]->model);
  }
  world.ReloadAll();
  for (size_t i = 0; i < world.snapshots().size(); ++i) {
    RC_ASSERT(world.ReadWhole(static_cast<int>(i)) == world.snapshots()[i]->model);
  }
}

}  // namespace
}  // namespace snapsim
