// SPDX-License-Identifier: GPL-2.0-only
//
// Origin: the "snapshot-origin" target of dm-snap.c (Linux 3.7 era) over every snapshot of one
// origin device: origin_map, do_origin, __origin_write, origin_resume and the registration of
// snapshots (register_snapshot, unregister_snapshot). Each snapshot is a SnapshotTarget with its
// own COW device, store and chunk size; the Origin owns only the list and the origin's bios.
// docs/target.md ("One origin, several snapshots") maps each method to its dm-snap.c function.
//
// State:
//   snapshots_      registered snapshots, largest chunk size first; equal sizes in registration
//                   order (__insert_snapshot)
//   split_sectors_  dm core's split size for origin bios (max_io_len): the smallest chunk size of
//                   the snapshots registered at the last Resume, 0 (no split) before the first
// Invariants (asserted): snapshots_ is sorted as above and holds no snapshot twice; at most one
// registered snapshot is a snapshot-merge target; no bio is submitted while suspended.
//
// Contract:
//  - An origin write is held until every registered snapshot that lacks its chunk (and is valid
//    and not merging) has a completed exception for it, each at its own chunk size; it is then
//    submitted to the origin device. Reads and FLUSHes go to the origin device at once.
//  - While a snapshot-merge target is registered, origin bios go to it (LVM replaces the
//    origin's table with snapshot-merge), and its writes that reach the origin come back here
//    (do_origin), so the other snapshots keep their copies.
//  - REQUIRES: the device and every registered SnapshotTarget outlive the Origin or are abandoned
//    with it (a crash); RemoveSnapshot only for an idle snapshot (in_flight() == 0); Suspend only
//    when in_flight() == 0; at most kMaxInFlightBios origin bios at once.
//  - Destruction submits no I/O and does not touch the snapshots.
#ifndef SNAPSIM_CORE_ORIGIN_H_
#define SNAPSIM_CORE_ORIGIN_H_

#include <cstdint>
#include <optional>
#include <vector>

#include "absl/types/span.h"
#include "core/block_device.h"
#include "core/snapshot_target.h"

namespace snapsim {

// Snapshots of one origin at once (a bound for the loops over them; LVM has no hard limit).
inline constexpr size_t kMaxSnapshotsPerOrigin = 64;

enum class OriginWriteResult : uint8_t {
  kRemapped,   // DM_MAPIO_REMAPPED: no snapshot needs a copy; the caller submits the write
  kSubmitted,  // DM_MAPIO_SUBMITTED: the write is held on a pending exception, or was failed
};

// __origin_write: one origin write (or, with `bio` empty, origin_write_extent's probe) at
// `sector`, over `snapshots` in list order. Each snapshot lacking the chunk gets a pending
// exception at its own chunk size; the bio is held on the first snapshot's exception whose copy is
// not done, and that copy starts last, after the copies of the other snapshots ("to give them a
// head start"). When the exception completes, the bio comes back through __origin_write.
OriginWriteResult OriginWriteOverSnapshots(absl::Span<SnapshotTarget* const> snapshots,
                                           sector_t sector, std::optional<Bio>& bio);

// do_origin: __origin_write over `snapshots`, then `device` when no snapshot holds the write.
void DoOrigin(absl::Span<SnapshotTarget* const> snapshots, BlockDevice* device, Bio piece);
// origin_map for one piece of dm core's split: reads to `device`, writes to DoOrigin.
void MapOriginPiece(absl::Span<SnapshotTarget* const> snapshots, BlockDevice* device, Bio piece);

class Origin {
 public:
  // origin_ctr. REQUIRES: device non-null. Starts resumed, with no split (origin_ctr sets none).
  explicit Origin(BlockDevice* device);
  Origin(const Origin&) = delete;
  Origin& operator=(const Origin&) = delete;
  ~Origin() = default;

  // register_snapshot: inserts into the list (largest chunk first) and attaches the snapshot.
  // The split size does not change until Resume, as in the kernel.
  void AddSnapshot(SnapshotTarget* snapshot);
  // unregister_snapshot (snapshot_dtr). REQUIRES: registered, snapshot->in_flight() == 0.
  void RemoveSnapshot(SnapshotTarget* snapshot);

  // dm suspend: REQUIRES in_flight() == 0. Bios must not be submitted until Resume.
  void Suspend();
  // origin_resume: the split size becomes the smallest chunk size of the registered snapshots.
  void Resume();

  // A bio to the origin device (dm core + origin_map).
  void Submit(Bio bio);
  // do_origin for one write piece: __origin_write over the list, then the origin device when no
  // snapshot holds it. Used by retry_origin_bios and by a merging snapshot's writes.
  void DoOrigin(Bio piece);
  // origin_write_extent: __origin_write without a bio at every `step` sectors of [sector, sector +
  // sectors) (the merge target's split size, the origin's minimum chunk size when it resumed).
  // True when some snapshot still has a copy to finish there. REQUIRES: step > 0.
  bool WriteExtent(sector_t sector, sector_t sectors, uint32_t step);
  // The smallest chunk size of the registered snapshots (__minimum_chunk_size), 0 if none.
  uint32_t MinimumChunkSize() const;
  // pending_complete's wake-up of _pending_exceptions_done, from any snapshot of this origin.
  void PendingExceptionDone();
  // How many exceptions of this origin's snapshots have completed (the kernel's done count).
  uint64_t exceptions_done() const { return exceptions_done_; }

  uint32_t split_sectors() const { return split_sectors_; }
  bool suspended() const { return suspended_; }
  const std::vector<SnapshotTarget*>& snapshots() const { return snapshots_; }
  BlockDevice* device() const { return device_; }
  // Origin bios accepted and not yet ended.
  uint64_t in_flight() const { return accepted_bios_; }

 private:
  void Dispatch(Bio bio);
  SnapshotTarget* MergingSnapshot() const;

  BlockDevice* const device_;
  std::vector<SnapshotTarget*> snapshots_;
  uint32_t split_sectors_ = 0;
  bool suspended_ = false;
  uint64_t accepted_bios_ = 0;
  uint64_t exceptions_done_ = 0;
};

}  // namespace snapsim

#endif  // SNAPSIM_CORE_ORIGIN_H_
