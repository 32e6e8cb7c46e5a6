// SPDX-License-Identifier: GPL-2.0-only
#include "core/origin.h"

#include <algorithm>
#include <cerrno>
#include <utility>

#include "core/bio_split.h"
#include "util/assert.h"

namespace snapsim {

OriginWriteResult OriginWriteOverSnapshots(absl::Span<SnapshotTarget* const> snapshots,
                                           sector_t sector, std::optional<Bio>& bio) {
  SNAPSIM_ASSERT(snapshots.size() <= kMaxSnapshotsPerOrigin);
  bool held = false;
  bool fail_write = false;
  SnapshotTarget* start_last_in = nullptr;
  SnapshotTarget::PendingException* start_last = nullptr;
  for (SnapshotTarget* snapshot : snapshots) {
    SnapshotTarget::PendingException* pe = nullptr;
    bool created = false;
    const SnapshotTarget::OriginWriteNeed need =
        snapshot->PrepareForOriginWrite(sector, &pe, &created);
    if (need == SnapshotTarget::OriginWriteNeed::kFailWrite) fail_write = true;
    if (need != SnapshotTarget::OriginWriteNeed::kPending) continue;
    held = true;
    if (bio.has_value()) {
      // The bio waits on the first exception that is not done; its copy starts last.
      snapshot->HoldOriginWrite(pe, *std::move(bio));
      bio.reset();
      if (created) {
        start_last_in = snapshot;
        start_last = pe;
      }
      continue;
    }
    // May complete pe inside (a synchronous device): it holds no bio, so nothing comes back here.
    if (created) snapshot->StartPendingCopy(pe);
  }
  if (fail_write && bio.has_value()) {
    bio->end_io(-EIO);
    bio.reset();
    return OriginWriteResult::kSubmitted;
  }
  if (start_last != nullptr) start_last_in->StartPendingCopy(start_last);
  return held ? OriginWriteResult::kSubmitted : OriginWriteResult::kRemapped;
}

void DoOrigin(absl::Span<SnapshotTarget* const> snapshots, BlockDevice* device, Bio piece) {
  std::optional<Bio> bio(std::move(piece));
  const sector_t sector = bio->sector;
  if (OriginWriteOverSnapshots(snapshots, sector, bio) == OriginWriteResult::kRemapped) {
    device->Submit(*std::move(bio));
  }
}

void MapOriginPiece(absl::Span<SnapshotTarget* const> snapshots, BlockDevice* device, Bio piece) {
  if (!piece.is_write()) {
    device->Submit(std::move(piece));  // only writes concern the snapshots
    return;
  }
  DoOrigin(snapshots, device, std::move(piece));
}

Origin::Origin(BlockDevice* device) : device_(device) { SNAPSIM_ASSERT(device != nullptr); }

void Origin::AddSnapshot(SnapshotTarget* snapshot) {
  SNAPSIM_ASSERT(snapshot != nullptr);
  SNAPSIM_ASSERT(std::find(snapshots_.begin(), snapshots_.end(), snapshot) == snapshots_.end());
  SNAPSIM_ASSERT(snapshots_.size() < kMaxSnapshotsPerOrigin);
  // Only one snapshot of an origin merges at a time ("A snapshot is already merging.").
  SNAPSIM_ASSERT(snapshot->kind() != TargetKind::kSnapshotMerge || MergingSnapshot() == nullptr);
  // Before the first snapshot with a smaller chunk: largest first, equal sizes in arrival order.
  auto at = std::find_if(snapshots_.begin(), snapshots_.end(), [snapshot](SnapshotTarget* s) {
    return s->chunk_size() < snapshot->chunk_size();
  });
  snapshots_.insert(at, snapshot);
  snapshot->AttachOrigin(this);
}

void Origin::RemoveSnapshot(SnapshotTarget* snapshot) {
  auto it = std::find(snapshots_.begin(), snapshots_.end(), snapshot);
  SNAPSIM_ASSERT(it != snapshots_.end());
  SNAPSIM_ASSERT(snapshot->in_flight() == 0);
  snapshots_.erase(it);
  snapshot->AttachOrigin(nullptr);
}

void Origin::Suspend() {
  SNAPSIM_ASSERT(accepted_bios_ == 0);
  suspended_ = true;
}

void Origin::Resume() {
  split_sectors_ = MinimumChunkSize();
  suspended_ = false;
}

uint32_t Origin::MinimumChunkSize() const {
  uint32_t minimum = 0;
  for (const SnapshotTarget* s : snapshots_) {
    if (minimum == 0 || s->chunk_size() < minimum) minimum = s->chunk_size();
  }
  return minimum;
}

SnapshotTarget* Origin::MergingSnapshot() const {
  for (SnapshotTarget* s : snapshots_) {
    if (s->kind() == TargetKind::kSnapshotMerge) return s;
  }
  return nullptr;
}

// ---------------------------------------------------------------------------------------------
// dm core + origin_map.

void Origin::Submit(Bio bio) {
  SNAPSIM_ASSERT(!suspended_);
  if (SnapshotTarget* merging = MergingSnapshot(); merging != nullptr) {
    merging->SubmitOrigin(std::move(bio));  // the origin's table is snapshot-merge
    return;
  }
  CountInFlight(bio, &accepted_bios_, kMaxInFlightBios);
  Dispatch(std::move(bio));
}

void Origin::Dispatch(Bio bio) {
  // origin_map: REQ_FLUSH is remapped to the origin device as it is.
  std::optional<Bio> data = PrepareForSplit(
      std::move(bio), device_->size_sectors(),
      [this](Bio flush) { device_->Submit(std::move(flush)); },
      [this](Bio data) { Dispatch(std::move(data)); });
  if (!data.has_value()) return;
  const absl::Span<SnapshotTarget* const> snapshots = absl::MakeConstSpan(snapshots_);
  if (split_sectors_ == 0) {
    // No max_io_len yet (no resume since the snapshots came): the bio is mapped whole, and
    // __origin_write looks only at its first sector.
    MapOriginPiece(snapshots, device_, *std::move(data));
    return;
  }
  SplitBio(*std::move(data), split_sectors_,
           [this, snapshots](Bio piece) { MapOriginPiece(snapshots, device_, std::move(piece)); });
}

void Origin::DoOrigin(Bio piece) {
  snapsim::DoOrigin(absl::MakeConstSpan(snapshots_), device_, std::move(piece));
}

bool Origin::WriteExtent(sector_t sector, sector_t sectors, uint32_t step) {
  SNAPSIM_ASSERT(step != 0);
  bool must_wait = false;
  // At most sectors / step probes; a merge step is at most one area of chunks.
  for (sector_t n = 0; n < sectors; n += step) {
    std::optional<Bio> no_bio;
    if (OriginWriteOverSnapshots(absl::MakeConstSpan(snapshots_), sector + n, no_bio) ==
        OriginWriteResult::kSubmitted) {
      must_wait = true;
    }
  }
  return must_wait;
}

void Origin::PendingExceptionDone() {
  ++exceptions_done_;
  if (SnapshotTarget* merging = MergingSnapshot(); merging != nullptr) {
    merging->OtherSnapshotExceptionDone();
  }
}

}  // namespace snapsim
