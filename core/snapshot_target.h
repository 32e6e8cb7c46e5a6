// SPDX-License-Identifier: GPL-2.0-only
//
// SnapshotTarget: the part of dm-snap.c (Linux 3.7 era) that drives an exception store: the
// "snapshot" and "snapshot-merge" targets together with the "snapshot-origin" side of one origin
// that has exactly one snapshot. For an origin with several snapshots, an Origin (core/origin.h)
// takes the origin side and each SnapshotTarget keeps its own snapshot side, COW and store.
// docs/target.md maps each method to its dm-snap.c function.
//
// State:
//   complete_      origin chunk -> COW chunk, every exception whose commit succeeded
//   pending_       origin chunk -> the exception being copied/committed for it, with the origin
//                  writes held behind it and the snapshot bios waiting for it
//   tracked_       origin chunk -> snapshot reads in flight to the origin (kSnapshot), or
//                  snapshot writes in flight to the COW (kSnapshotMerge)
//   valid_         false once invalidated; never true again
// Invariants (asserted): a chunk is never both in complete_ and pending_; every pending
// exception's COW chunk was handed out by the store's PrepareException; an origin write to a
// chunk with a pending exception is not issued before that exception completes.
//
// Contract:
//  - Everything is driven by BlockDevice Submit and completions; no completion is assumed to be
//    synchronous or ordered. The only waits are inside the store (its metadata I/O) and the
//    optional origin FLUSH before commit_merge, both through BlockDevice::WaitFor.
//  - Copy completions are serialised as kcopyd's callback thread serialises them: one that ends
//    while another is being handled (the store waits for metadata I/O) is queued behind it.
//  - REQUIRES: the devices and the log outlive the target; at most kMaxInFlightBios bios
//    submitted and not yet ended; every bio at most kMaxBioSectors long and inside its device.
//  - Attached to an Origin (AttachOrigin), origin writes are not submitted through this target
//    (SubmitOrigin is for the one-snapshot use); the Origin drives PrepareForOriginWrite, and held
//    origin writes are re-driven through the Origin when their exception completes.
//  - Destruction submits no I/O. Destroy the target with in_flight() == 0, or abandon it together
//    with its devices (a crash): completions must not be delivered to a destroyed target.
#ifndef SNAPSIM_CORE_SNAPSHOT_TARGET_H_
#define SNAPSIM_CORE_SNAPSHOT_TARGET_H_

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/btree_map.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "core/bio_split.h"
#include "core/block_device.h"
#include "core/exception_store.h"
#include "core/format.h"
#include "core/kernel_log.h"

namespace snapsim {

class Origin;

inline constexpr const char kSnapshotsLogPrefix[] = "device-mapper: snapshots: ";

// Bios accepted by one target and not yet ended (a bound for the callers, asserted).
inline constexpr uint64_t kMaxInFlightBios = 1024;
// Every queue of pieces (held origin writes, waiting snapshot bios, writes queued behind a merge
// step) holds at most this many: each piece belongs to one accepted bio.
inline constexpr uint64_t kMaxQueuedPieces = kMaxInFlightBios * kMaxBioPieces;
// Pending exceptions at once: each is created by one queued piece.
inline constexpr uint64_t kMaxPendingExceptions = kMaxQueuedPieces;
// Copy and merge completions waiting for the one being handled.
inline constexpr uint64_t kMaxQueuedCompletions = kMaxPendingExceptions + 1;

enum class TargetKind { kSnapshot, kSnapshotMerge };

// Deliberate breakages, for tests that prove the checker catches them.
enum class TargetMutation : uint8_t {
  kNone = 0,
  kReleaseOriginBeforeCommit,  // release held origin writes when the copy ends, before commit
  kRecycleCopyBufferEarly,     // refill the copy buffer as soon as its COW write is submitted
  kIgnoreCopyReadError,        // a copy whose origin read failed writes its buffer to the COW
  kIgnoreCopyWriteError,       // a copy whose COW write failed is committed as if it landed
  kNoWaitForTrackedReads,      // complete an exception while snapshot reads of its chunk are
                               // still in flight to the origin (no __check_for_conflicting_io)
  kRetrySkipsOtherSnapshots,   // several snapshots: a held origin write whose exception completed
                               // goes to the origin device, not back through do_origin, so the
                               // snapshots after the first that needed a copy never get one
  kMergeSkipsOtherSnapshots,   // several snapshots: a merge step overwrites the origin without
                               // origin_write_extent, so the other snapshots lacking the chunks
                               // never copy them
};

// All false is the faithful 3.7 target. Each bool has a row in kNamedOptions
// (core/named_options.h).
struct TargetOptions {
  // A snapshot write covering a whole chunk is written to the COW chunk instead of copying.
  bool full_chunk_write_skips_copy = false;
  // FLUSH the origin before commit_merge (upstream "dm snapshot: flush disk cache when merging").
  bool flush_origin_before_commit_merge = false;
  // A failed copy still goes through the store's commit path as a failed exception (upstream
  // "dm snapshot: fix hung bios when copy error occurs"). 3.7 completes it directly, so the store's
  // pending_count never drops to zero again and later commits wait forever.
  bool commit_failed_copies = false;
  // Copies are handed to the store in the order their chunks were allocated, holding back one
  // that ends before an earlier one (upstream "dm snapshot: avoid snapshot space leak on crash").
  // 3.7 commits in completion order, so a durable area can name a chunk above others still
  // copying; after a crash those are below next_free and never used again.
  bool complete_exceptions_in_order = false;
  // When the header write of an invalidation fails, origin writes that would need a copy fail
  // with EIO (each retries the header write first) until the disk says invalid. 3.7 only warns
  // and lets the origin move on, so after a reload the snapshot is valid with wrong data.
  bool fail_origin_until_invalid_on_disk = false;
  TargetMutation mutation = TargetMutation::kNone;
};

class SnapshotTarget {
 public:
  // snapshot_ctr. `args`: "<origin_path> <cow_path> <P|N> <chunk_size>"; the paths are only
  // echoed by Table(). Runs read_metadata and builds the completed table. Errors carry the
  // kernel's ti->error text. A header marked invalid activates an invalid snapshot.
  // REQUIRES: origin, cow non-null; log may be null (no messages).
  static absl::StatusOr<std::unique_ptr<SnapshotTarget>> Create(
      TargetKind kind, BlockDevice* origin, BlockDevice* cow, const std::vector<std::string>& args,
      const TargetOptions& options, const StoreOptions& store_options, KernelLog* log);

  SnapshotTarget(const SnapshotTarget&) = delete;
  SnapshotTarget& operator=(const SnapshotTarget&) = delete;
  ~SnapshotTarget();

  // snapshot_merge_resume: starts (or continues) merging. No-op for kSnapshot.
  void Resume();
  // stop_merge without the wait: no new merge step starts; the one in flight finishes.
  void Suspend();

  // A bio to the snapshot-origin device (origin_map). For kSnapshotMerge the merging snapshot
  // replaces the origin (as lvconvert --merge does), so this is SubmitSnapshot.
  void SubmitOrigin(Bio bio);
  // A bio to the snapshot / snapshot-merge device (snapshot_map / snapshot_merge_map).
  void SubmitSnapshot(Bio bio);

  // "Invalid", "Merge failed" or "<allocated>/<total> <metadata>" (sectors).
  std::string Status() const;
  // "<origin_path> <cow_path> P <chunk_size>".
  std::string Table() const;

  bool valid() const { return valid_; }
  bool merging() const { return merge_running_; }
  bool merge_failed() const { return merge_failed_; }
  uint32_t chunk_size() const { return chunk_size_; }
  // Bios accepted and not yet ended + exceptions being copied/committed + a merge step.
  uint64_t in_flight() const;
  const TargetOptions& options() const { return options_; }
  TargetKind kind() const { return kind_; }
  // dm_lookup_exception on the completed table: the COW chunk that holds `chunk`, if any.
  std::optional<chunk_t> CompletedException(chunk_t chunk) const;

  // --- The snapshot's part of the origin side (used by core/origin and by SubmitOrigin). ---
  struct PendingException;  // dm_snap_pending_exception; opaque outside the target
  enum class OriginWriteNeed : uint8_t {
    kNothing,    // skipped: merging, invalid, or the chunk already has a completed exception
    kPending,    // the chunk's pending exception (new or found) must complete before the write
    kFailWrite,  // fail_origin_until_invalid_on_disk: the write must fail with -EIO
  };
  // One snapshot's step of __origin_write for an origin write starting at `sector`: looks the
  // chunk up, and finds or creates its pending exception (invalidating with -ENOMEM when the store
  // has no room). On kPending, *pe is set and *created says whether its copy still has to start.
  OriginWriteNeed PrepareForOriginWrite(sector_t sector, PendingException** pe, bool* created);
  // Holds an origin write on `pe` until it completes (then it is re-driven through the origin).
  void HoldOriginWrite(PendingException* pe, Bio piece);
  // start_copy for an exception PrepareForOriginWrite created. May complete `pe` inside.
  void StartPendingCopy(PendingException* pe) { StartCopy(pe); }
  // register_snapshot's link from a snapshot to its origin; null detaches. REQUIRES: idle.
  void AttachOrigin(Origin* origin);
  // _pending_exceptions_done: an exception of another snapshot of the origin completed. A merge
  // step waiting for other snapshots' copies (origin_write_extent) checks again.
  void OtherSnapshotExceptionDone();

 private:
  enum class Path { kOrigin, kSnapshot };

  SnapshotTarget(TargetKind kind, BlockDevice* origin, BlockDevice* cow, std::string origin_path,
                 std::string cow_path, const TargetOptions& options, KernelLog* log);

  void LogError(const std::string& text);
  void Accept(Path path, Bio bio);
  void Dispatch(Path path, Bio bio);
  void MapFlush(Path path, Bio bio);
  void MapPiece(Path path, Bio piece);

  chunk_t SectorToChunk(sector_t sector) const { return sector >> chunk_shift_; }
  sector_t RemapToCow(chunk_t new_chunk, sector_t sector) const;
  void SubmitTracked(BlockDevice* device, chunk_t chunk, Bio piece);
  void EndTracked(chunk_t chunk);
  bool IsTracked(chunk_t chunk) const { return tracked_.contains(chunk); }

  void OriginMap(Bio piece);
  void RetryOriginWrite(Bio piece);
  void SnapshotMap(Bio piece);
  void SnapshotMergeMap(Bio piece);

  PendingException* FindOrCreatePending(chunk_t chunk, bool* created);
  void StartCopy(PendingException* pe);
  void StartFullBio(PendingException* pe, Bio piece);
  void QueueCompletion(absl::AnyInvocable<void()> job);
  void RunCompletions();
  void CopyCallback(PendingException* pe, int error);
  void CopyEnded(PendingException* pe, int error);
  void PendingComplete(PendingException* pe, bool success);
  void FinishPending(PendingException* pe);
  void InvalidateSnapshot(int error);

  void MergeNextChunks();
  void MergeWhenOtherSnapshotsCopied();
  void StartMergeStep();
  bool MergeRangeTracked() const;
  void StartMergeCopy();
  void MergeCallback(int read_error, int write_error);
  void MergeFail();
  void ReleaseQueuedAfterMerge(int error);

  const TargetKind kind_;
  BlockDevice* const origin_;
  BlockDevice* const cow_;
  const std::string origin_path_;
  const std::string cow_path_;
  const TargetOptions options_;
  KernelLog* const log_;
  std::unique_ptr<ExceptionStore> store_;
  uint32_t chunk_size_ = 0;
  uint32_t chunk_shift_ = 0;
  // dm core's split size for this target (max_io_len): the chunk size, or for a merge attached to
  // an Origin the origin's minimum chunk size (snapshot_merge_resume).
  uint32_t split_sectors_ = 0;
  Origin* origin_side_ = nullptr;  // the Origin this snapshot is registered with, if any

  bool valid_ = true;
  // fail_origin_until_invalid_on_disk: invalid in memory, but the header write saying so failed.
  bool invalid_not_on_disk_ = false;
  absl::btree_map<chunk_t, chunk_t> complete_;
  absl::btree_map<chunk_t, std::unique_ptr<PendingException>> pending_;
  absl::btree_map<chunk_t, uint32_t> tracked_;
  uint64_t accepted_bios_ = 0;

  // kcopyd's callback thread: completions run one at a time, in arrival order.
  std::deque<absl::AnyInvocable<void()>> completions_;
  bool in_completion_ = false;
  // complete_exceptions_in_order: the sequence number the next prepared exception gets, the one
  // whose copy completes next, and copies that ended early, by sequence (at most one each per
  // pending exception).
  uint64_t next_exception_sequence_ = 0;
  uint64_t next_completion_sequence_ = 0;
  absl::btree_map<uint64_t, std::pair<PendingException*, int>> ended_out_of_order_;

  // Merge state (snapshot-merge only).
  bool merge_running_ = false;   // RUNNING_MERGE
  bool shutdown_merge_ = false;  // SHUTDOWN_MERGE
  bool merge_failed_ = false;
  bool merge_waiting_for_tracked_ = false;
  bool merge_io_in_flight_ = false;
  // origin_write_extent found copies of other snapshots still to finish for the step prepared in
  // merge_old_chunk_/merge_new_chunk_/merge_linear_chunks_.
  bool merge_waiting_for_other_snapshots_ = false;
  chunk_t merge_old_chunk_ = 0;
  chunk_t merge_new_chunk_ = 0;
  int merge_linear_chunks_ = 0;
  chunk_t first_merging_chunk_ = 0;
  chunk_t num_merging_chunks_ = 0;
  sector_t merge_src_sector_ = 0;
  sector_t merge_dest_sector_ = 0;
  uint32_t merge_sectors_ = 0;
  std::unique_ptr<uint8_t[]> merge_buffer_;
  std::vector<Bio> queued_during_merge_;
};

}  // namespace snapsim

#endif  // SNAPSIM_CORE_SNAPSHOT_TARGET_H_
