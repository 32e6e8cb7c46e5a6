// SPDX-License-Identifier: GPL-2.0-only
#include "core/snapshot_target.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <optional>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "core/origin.h"
#include "util/assert.h"

namespace snapsim {

// dm_snap_pending_exception: one exception on its way from "chunk written" to "on disk".
struct SnapshotTarget::PendingException {
  Exception e;
  std::vector<Bio> origin_bios;       // origin writes held until the exception completes
  std::vector<Bio> snapshot_bios;     // snapshot bios to remap to the COW chunk (or fail) after
  std::optional<Bio> full_bio;        // the whole-chunk snapshot write that replaced the copy
  std::unique_ptr<uint8_t[]> buffer;  // kcopyd's page list for the copy
  uint64_t sequence = 0;              // allocation order (complete_exceptions_in_order)
  uint32_t copy_sectors = 0;
  // Committed, waiting for snapshot reads of the chunk to drain (__check_for_conflicting_io).
  bool waiting_for_reads = false;
};

absl::StatusOr<std::unique_ptr<SnapshotTarget>> SnapshotTarget::Create(
    TargetKind kind, BlockDevice* origin, BlockDevice* cow, const std::vector<std::string>& args,
    const TargetOptions& options, const StoreOptions& store_options, KernelLog* log) {
  SNAPSIM_ASSERT(origin != nullptr && cow != nullptr);
  if (args.size() != 4) return absl::InvalidArgumentError("requires exactly 4 arguments");
  std::unique_ptr<SnapshotTarget> target(
      new SnapshotTarget(kind, origin, cow, args[0], args[1], options, log));
  absl::StatusOr<std::unique_ptr<ExceptionStore>> store =
      CreateExceptionStore({args[2], args[3]}, origin, cow, store_options, log);
  // The kernel overwrites the store's own ti->error with this text.
  if (!store.ok()) return absl::InvalidArgumentError("Couldn't create exception store");
  target->store_ = *std::move(store);

  SnapshotTarget* t = target.get();
  const int r = t->store_->ReadMetadata([t](chunk_t old_chunk, chunk_t new_chunk) {
    t->complete_[old_chunk] = new_chunk;  // dm_add_exception
    return 0;
  });
  if (r < 0) return absl::InvalidArgumentError("Failed to read snapshot metadata");
  if (r > 0) {
    t->valid_ = false;
    if (log != nullptr) {
      log->Log(LogLevel::kWarn, absl::StrCat(kSnapshotsLogPrefix, "Snapshot is marked invalid."));
    }
  }
  t->chunk_size_ = t->store_->chunk_size();
  if (t->chunk_size_ == 0) return absl::InvalidArgumentError("Chunk size not set");
  SNAPSIM_ASSERT((t->chunk_size_ & (t->chunk_size_ - 1)) == 0);
  while ((uint32_t{1} << t->chunk_shift_) < t->chunk_size_) ++t->chunk_shift_;
  t->split_sectors_ = t->chunk_size_;
  return target;
}

SnapshotTarget::SnapshotTarget(TargetKind kind, BlockDevice* origin, BlockDevice* cow,
                               std::string origin_path, std::string cow_path,
                               const TargetOptions& options, KernelLog* log)
    : kind_(kind),
      origin_(origin),
      cow_(cow),
      origin_path_(std::move(origin_path)),
      cow_path_(std::move(cow_path)),
      options_(options),
      log_(log) {}

// Held bios are dropped without ending them: destruction happens either after the target went
// idle or at a crash, when nobody is left to hear about them.
SnapshotTarget::~SnapshotTarget() = default;

void SnapshotTarget::LogError(const std::string& text) {
  if (log_ != nullptr) log_->Log(LogLevel::kErr, absl::StrCat(kSnapshotsLogPrefix, text));
}

uint64_t SnapshotTarget::in_flight() const {
  return accepted_bios_ + pending_.size() + (merge_io_in_flight_ ? 1 : 0);
}

std::string SnapshotTarget::Status() const {
  if (!valid_) return "Invalid";
  if (merge_failed_) return "Merge failed";
  sector_t total = 0, allocated = 0, metadata = 0;
  store_->Usage(&total, &allocated, &metadata);
  return UsageStatusLine(total, allocated, metadata);
}

std::string SnapshotTarget::Table() const {
  return absl::StrCat(origin_path_, " ", cow_path_, store_->Status(StatusType::kTable));
}

// ---------------------------------------------------------------------------------------------
// dm core: accounting, preflush, split.

void SnapshotTarget::SubmitOrigin(Bio bio) {
  Accept(kind_ == TargetKind::kSnapshotMerge ? Path::kSnapshot : Path::kOrigin, std::move(bio));
}

void SnapshotTarget::SubmitSnapshot(Bio bio) { Accept(Path::kSnapshot, std::move(bio)); }

void SnapshotTarget::Accept(Path path, Bio bio) {
  CountInFlight(bio, &accepted_bios_, kMaxInFlightBios);
  Dispatch(path, std::move(bio));
}

void SnapshotTarget::Dispatch(Path path, Bio bio) {
  std::optional<Bio> data = PrepareForSplit(
      std::move(bio), origin_->size_sectors(),
      [this, path](Bio flush) { MapFlush(path, std::move(flush)); },
      [this, path](Bio data) { Dispatch(path, std::move(data)); });
  if (!data.has_value()) return;
  SplitBio(*std::move(data), split_sectors_,
           [this, path](Bio piece) { MapPiece(path, std::move(piece)); });
}

void SnapshotTarget::MapFlush(Path path, Bio bio) {
  if (kind_ == TargetKind::kSnapshotMerge) {
    // num_flush_requests = 2: the merging snapshot flushes both devices.
    std::vector<BioEndIo> ends = ForkEndIo(std::move(bio.end_io), 2);
    Bio to_cow;
    to_cow.op = bio.op;
    to_cow.preflush = true;
    bio.end_io = std::move(ends[0]);
    to_cow.end_io = std::move(ends[1]);
    origin_->Submit(std::move(bio));
    cow_->Submit(std::move(to_cow));
    return;
  }
  (path == Path::kOrigin ? origin_ : cow_)->Submit(std::move(bio));
}

void SnapshotTarget::MapPiece(Path path, Bio piece) {
  if (kind_ == TargetKind::kSnapshotMerge) {
    SnapshotMergeMap(std::move(piece));
  } else if (path == Path::kOrigin) {
    OriginMap(std::move(piece));
  } else {
    SnapshotMap(std::move(piece));
  }
}

std::optional<chunk_t> SnapshotTarget::CompletedException(chunk_t chunk) const {
  auto it = complete_.find(chunk);
  if (it == complete_.end()) return std::nullopt;
  return it->second;
}

sector_t SnapshotTarget::RemapToCow(chunk_t new_chunk, sector_t sector) const {
  return (new_chunk << chunk_shift_) + (sector & (chunk_size_ - 1));
}

void SnapshotTarget::SubmitTracked(BlockDevice* device, chunk_t chunk, Bio piece) {
  ++tracked_[chunk];
  piece.end_io = [this, chunk, end_io = std::move(piece.end_io)](int error) mutable {
    // End the tracking first: the bio is done with the chunk before its owner hears about it.
    EndTracked(chunk);
    end_io(error);
  };
  device->Submit(std::move(piece));
}

void SnapshotTarget::EndTracked(chunk_t chunk) {
  auto it = tracked_.find(chunk);
  SNAPSIM_ASSERT(it != tracked_.end() && it->second > 0);
  if (--it->second > 0) return;
  tracked_.erase(it);
  if (auto pe = pending_.find(chunk); pe != pending_.end() && pe->second->waiting_for_reads) {
    FinishPending(pe->second.get());
  }
  if (merge_waiting_for_tracked_ && !MergeRangeTracked()) {
    merge_waiting_for_tracked_ = false;
    StartMergeCopy();
  }
}

// ---------------------------------------------------------------------------------------------
// origin_map, __origin_write.

void SnapshotTarget::OriginMap(Bio piece) {
  SnapshotTarget* const self = this;
  MapOriginPiece(absl::MakeConstSpan(&self, 1), origin_, std::move(piece));
}

// retry_origin_bios: back through do_origin, which now finds the completed exception (or an
// invalid snapshot) here, and may hold the write on another snapshot's exception.
void SnapshotTarget::RetryOriginWrite(Bio piece) {
  if (options_.mutation == TargetMutation::kRetrySkipsOtherSnapshots) {
    origin_->Submit(std::move(piece));  // a planted bug (tests only)
    return;
  }
  if (origin_side_ != nullptr) {
    origin_side_->DoOrigin(std::move(piece));
  } else {
    SnapshotTarget* const self = this;
    DoOrigin(absl::MakeConstSpan(&self, 1), origin_, std::move(piece));
  }
}

SnapshotTarget::OriginWriteNeed SnapshotTarget::PrepareForOriginWrite(sector_t sector,
                                                                      PendingException** pe,
                                                                      bool* created) {
  *pe = nullptr;
  *created = false;
  // A merging snapshot is as good as deleted: no new exceptions in it.
  if (kind_ == TargetKind::kSnapshotMerge) return OriginWriteNeed::kNothing;
  // Nothing to do beyond the end of the snapshot (origin_write_extent may reach past it).
  if (sector >= origin_->size_sectors()) return OriginWriteNeed::kNothing;
  const chunk_t chunk = SectorToChunk(sector);
  if (!valid_ && invalid_not_on_disk_ && !complete_.contains(chunk)) {
    // The disk still says valid: moving this chunk on would change what a reload's snapshot
    // reads. Try the header write again; fail the write while it cannot be done.
    if (store_->DropSnapshot() != 0) return OriginWriteNeed::kFailWrite;
    invalid_not_on_disk_ = false;
  }
  if (!valid_ || complete_.contains(chunk)) return OriginWriteNeed::kNothing;
  *pe = FindOrCreatePending(chunk, created);
  if (*pe == nullptr) {
    InvalidateSnapshot(-ENOMEM);  // the snapshot is gone; the origin goes on
    return OriginWriteNeed::kNothing;
  }
  return OriginWriteNeed::kPending;
}

void SnapshotTarget::HoldOriginWrite(PendingException* pe, Bio piece) {
  SNAPSIM_ASSERT(pe->origin_bios.size() < kMaxQueuedPieces);
  pe->origin_bios.push_back(std::move(piece));
}

void SnapshotTarget::AttachOrigin(Origin* origin) {
  SNAPSIM_ASSERT(in_flight() == 0);
  origin_side_ = origin;
}

// __lookup_pending_exception + __find_pending_exception. Returns null when the store has no room.
SnapshotTarget::PendingException* SnapshotTarget::FindOrCreatePending(chunk_t chunk,
                                                                      bool* created) {
  SNAPSIM_ASSERT(!complete_.contains(chunk));
  *created = false;
  if (auto it = pending_.find(chunk); it != pending_.end()) return it->second.get();
  auto pe = std::make_unique<PendingException>();
  pe->e.old_chunk = chunk;
  if (store_->PrepareException(&pe->e) != 0) return nullptr;
  SNAPSIM_ASSERT(pe->e.new_chunk != 0);
  SNAPSIM_ASSERT(pending_.size() < kMaxPendingExceptions);
  // The store's PrepareException may wait for nothing, but be safe against a chunk that became
  // pending meanwhile: the kernel re-checks under the lock too.
  SNAPSIM_ASSERT(!pending_.contains(chunk));
  *created = true;
  pe->sequence = next_exception_sequence_++;
  PendingException* raw = pe.get();
  pending_[chunk] = std::move(pe);
  return raw;
}

// ---------------------------------------------------------------------------------------------
// kcopyd: the copy, and the serialised completion of copies and merge steps.

void SnapshotTarget::StartCopy(PendingException* pe) {
  const sector_t start = pe->e.old_chunk << chunk_shift_;
  const sector_t origin_size = origin_->size_sectors();
  SNAPSIM_ASSERT(start < origin_size);
  pe->copy_sectors = static_cast<uint32_t>(std::min<sector_t>(chunk_size_, origin_size - start));
  pe->buffer = std::make_unique<uint8_t[]>(uint64_t{pe->copy_sectors} << kSectorShift);
  Bio read;
  read.op = BioOp::kRead;
  read.sector = start;
  read.sector_count = pe->copy_sectors;
  read.data = pe->buffer.get();
  read.end_io = [this, pe](int read_error) {
    if (read_error != 0 && options_.mutation != TargetMutation::kIgnoreCopyReadError) {
      QueueCompletion([this, pe, read_error] { CopyCallback(pe, read_error); });
      return;
    }
    Bio write;
    write.op = BioOp::kWrite;
    write.sector = pe->e.new_chunk << chunk_shift_;
    write.sector_count = pe->copy_sectors;
    write.data = pe->buffer.get();
    write.end_io = [this, pe](int write_error) {
      if (options_.mutation == TargetMutation::kIgnoreCopyWriteError) write_error = 0;
      QueueCompletion([this, pe, write_error] { CopyCallback(pe, write_error); });
    };
    cow_->Submit(std::move(write));
    if (options_.mutation == TargetMutation::kRecycleCopyBufferEarly) {
      std::memset(pe->buffer.get(), 0x5a, uint64_t{pe->copy_sectors} << kSectorShift);
    }
  };
  origin_->Submit(std::move(read));
}

// start_full_bio: the snapshot write itself fills the COW chunk; its end stands in for the copy.
void SnapshotTarget::StartFullBio(PendingException* pe, Bio piece) {
  Bio write;
  write.op = BioOp::kWrite;
  write.sector = RemapToCow(pe->e.new_chunk, piece.sector);
  write.sector_count = piece.sector_count;
  write.fua = piece.fua;
  write.data = piece.data;
  pe->full_bio = std::move(piece);
  write.end_io = [this, pe](int error) {
    QueueCompletion([this, pe, error] { CopyCallback(pe, error); });
  };
  cow_->Submit(std::move(write));
}

void SnapshotTarget::QueueCompletion(absl::AnyInvocable<void()> job) {
  SNAPSIM_ASSERT(completions_.size() < kMaxQueuedCompletions);
  completions_.push_back(std::move(job));
  RunCompletions();
}

void SnapshotTarget::RunCompletions() {
  if (in_completion_) return;  // the running one is waiting inside the store; we are queued
  in_completion_ = true;
  // Each job is a copy or merge step that ended; there are at most kMaxQueuedCompletions at once,
  // and every job ends one of them.
  while (!completions_.empty()) {
    absl::AnyInvocable<void()> job = std::move(completions_.front());
    completions_.pop_front();
    job();
  }
  in_completion_ = false;
}

// copy_callback. With complete_exceptions_in_order a copy that ends before an earlier-allocated
// one waits for it, so the store sees exceptions in allocation order.
void SnapshotTarget::CopyCallback(PendingException* pe, int error) {
  if (!options_.complete_exceptions_in_order) {
    CopyEnded(pe, error);
    return;
  }
  if (pe->sequence != next_completion_sequence_) {
    SNAPSIM_ASSERT(pe->sequence > next_completion_sequence_);
    SNAPSIM_ASSERT(ended_out_of_order_.size() < kMaxPendingExceptions);
    ended_out_of_order_.emplace(pe->sequence, std::make_pair(pe, error));
    return;
  }
  ++next_completion_sequence_;
  CopyEnded(pe, error);
  // Each pass ends one held-back copy; there are at most kMaxPendingExceptions of them.
  while (!ended_out_of_order_.empty() &&
         ended_out_of_order_.begin()->first == next_completion_sequence_) {
    auto [held, held_error] = ended_out_of_order_.begin()->second;
    ended_out_of_order_.erase(ended_out_of_order_.begin());
    ++next_completion_sequence_;
    CopyEnded(held, held_error);
  }
}

void SnapshotTarget::CopyEnded(PendingException* pe, int error) {
  if (error != 0) {
    if (options_.commit_failed_copies) {
      // The upstream fix: the failed exception still leaves the store's batch.
      store_->CommitFailedException(pe->e, [this, pe](bool) { PendingComplete(pe, false); });
    } else {
      PendingComplete(pe, false);  // 3.7: pending_count keeps this exception forever
    }
    return;
  }
  if (options_.mutation == TargetMutation::kReleaseOriginBeforeCommit) {
    std::vector<Bio> origin_bios = std::move(pe->origin_bios);
    pe->origin_bios.clear();
    for (Bio& bio : origin_bios) origin_->Submit(std::move(bio));
  }
  store_->CommitException(pe->e, [this, pe](bool success) { PendingComplete(pe, success); });
}

// pending_complete, up to __check_for_conflicting_io.
void SnapshotTarget::PendingComplete(PendingException* pe, bool success) {
  if (!success) InvalidateSnapshot(-EIO);
  if (valid_ && IsTracked(pe->e.old_chunk) &&
      options_.mutation != TargetMutation::kNoWaitForTrackedReads) {
    pe->waiting_for_reads = true;  // EndTracked finishes it
    return;
  }
  FinishPending(pe);
}

// pending_complete, from the insertion into the completed table on.
void SnapshotTarget::FinishPending(PendingException* pe) {
  const bool success = valid_;
  const Exception e = pe->e;
  if (success) {
    SNAPSIM_ASSERT(!complete_.contains(e.old_chunk));
    complete_[e.old_chunk] = e.new_chunk;
  }
  std::vector<Bio> snapshot_bios = std::move(pe->snapshot_bios);
  std::vector<Bio> origin_bios = std::move(pe->origin_bios);
  std::optional<Bio> full_bio = std::move(pe->full_bio);
  auto it = pending_.find(e.old_chunk);
  SNAPSIM_ASSERT(it != pending_.end() && it->second.get() == pe);
  pending_.erase(it);  // pe is gone from here on

  if (full_bio.has_value()) full_bio->end_io(success ? 0 : -EIO);
  for (Bio& bio : snapshot_bios) {
    if (!success) {
      bio.end_io(-EIO);
      continue;
    }
    bio.sector = RemapToCow(e.new_chunk, bio.sector);
    cow_->Submit(std::move(bio));
  }
  for (Bio& bio : origin_bios) RetryOriginWrite(std::move(bio));
  if (origin_side_ != nullptr) origin_side_->PendingExceptionDone();
}

// __invalidate_snapshot.
void SnapshotTarget::InvalidateSnapshot(int error) {
  if (!valid_) return;
  if (error == -EIO) {
    LogError("Invalidating snapshot: Error reading/writing.");
  } else if (error == -ENOMEM) {
    LogError("Invalidating snapshot: Unable to allocate exception.");
  }
  // Cleared before drop_snapshot waits for its header write: the kernel holds s->lock across it,
  // so nobody can see the snapshot still valid meanwhile.
  valid_ = false;
  if (store_->DropSnapshot() != 0 && options_.fail_origin_until_invalid_on_disk) {
    invalid_not_on_disk_ = true;
  }
}

// ---------------------------------------------------------------------------------------------
// snapshot_map.

void SnapshotTarget::SnapshotMap(Bio piece) {
  if (!valid_) {
    piece.end_io(-EIO);
    return;
  }
  const chunk_t chunk = SectorToChunk(piece.sector);
  if (auto it = complete_.find(chunk); it != complete_.end()) {
    piece.sector = RemapToCow(it->second, piece.sector);
    cow_->Submit(std::move(piece));
    return;
  }
  if (!piece.is_write()) {
    auto pe = pending_.find(chunk);
    if (pe != pending_.end() && pe->second->waiting_for_reads) {
      // The kernel holds s->lock while it waits, so this read would map after the exception
      // completes, to the COW. Queue it on the exception to the same effect.
      SNAPSIM_ASSERT(pe->second->snapshot_bios.size() < kMaxQueuedPieces);
      pe->second->snapshot_bios.push_back(std::move(piece));
      return;
    }
    SubmitTracked(origin_, chunk, std::move(piece));
    return;
  }
  bool created = false;
  PendingException* pe = FindOrCreatePending(chunk, &created);
  if (pe == nullptr) {
    InvalidateSnapshot(-ENOMEM);
    piece.end_io(-EIO);
    return;
  }
  if (created && options_.full_chunk_write_skips_copy && piece.sector_count == chunk_size_) {
    StartFullBio(pe, std::move(piece));
    return;
  }
  SNAPSIM_ASSERT(pe->snapshot_bios.size() < kMaxQueuedPieces);
  pe->snapshot_bios.push_back(std::move(piece));
  if (created) StartCopy(pe);
}

// ---------------------------------------------------------------------------------------------
// snapshot_merge_map and the merge (snapshot_merge_next_chunks, merge_callback).

void SnapshotTarget::SnapshotMergeMap(Bio piece) {
  const chunk_t chunk = SectorToChunk(piece.sector);
  auto it = valid_ ? complete_.find(chunk) : complete_.end();
  if (it == complete_.end()) {
    // No exception (or an invalid snapshot): the data lives on the origin. __origin_write skips
    // a merging snapshot, so alone it goes straight through; other snapshots of the origin may
    // need their copies first (do_origin).
    if (piece.is_write() && origin_side_ != nullptr) {
      origin_side_->DoOrigin(std::move(piece));
    } else {
      origin_->Submit(std::move(piece));
    }
    return;
  }
  if (piece.is_write() && num_merging_chunks_ != 0 && chunk >= first_merging_chunk_ &&
      chunk < first_merging_chunk_ + num_merging_chunks_) {
    SNAPSIM_ASSERT(queued_during_merge_.size() < kMaxQueuedPieces);
    queued_during_merge_.push_back(std::move(piece));  // to the origin once the step is done
    return;
  }
  piece.sector = RemapToCow(it->second, piece.sector);
  if (piece.is_write()) {
    SubmitTracked(cow_, chunk, std::move(piece));
  } else {
    cow_->Submit(std::move(piece));
  }
}

void SnapshotTarget::Resume() {
  if (kind_ != TargetKind::kSnapshotMerge) return;
  // snapshot-merge acts as an origin: it splits at the origin's smallest chunk size.
  if (origin_side_ != nullptr) split_sectors_ = origin_side_->MinimumChunkSize();
  shutdown_merge_ = false;
  if (merge_running_) return;  // a step is still in flight; it carries on
  merge_running_ = true;
  MergeNextChunks();
}

void SnapshotTarget::Suspend() {
  if (merge_running_) shutdown_merge_ = true;
}

void SnapshotTarget::MergeNextChunks() {
  SNAPSIM_ASSERT(merge_running_);
  if (shutdown_merge_) {
    merge_running_ = false;  // merge_shutdown
    return;
  }
  if (!valid_) {
    LogError("Snapshot is invalid: can't merge");
    merge_running_ = false;
    return;
  }
  chunk_t old_chunk = 0, new_chunk = 0;
  const int linear_chunks = store_->PrepareMerge(&old_chunk, &new_chunk);
  if (linear_chunks <= 0) {
    if (linear_chunks < 0) {
      LogError("Read error in exception store: shutting down merge");
      merge_failed_ = true;
    }
    merge_running_ = false;
    return;
  }
  merge_old_chunk_ = old_chunk + 1 - linear_chunks;
  merge_new_chunk_ = new_chunk + 1 - linear_chunks;
  merge_linear_chunks_ = linear_chunks;
  merge_io_in_flight_ = true;
  MergeWhenOtherSnapshotsCopied();
}

// origin_write_extent: the other snapshots of the origin get their copies of the chunks this step
// overwrites before the step starts; the kernel sleeps until some exception completes and looks
// again.
void SnapshotTarget::MergeWhenOtherSnapshotsCopied() {
  merge_waiting_for_other_snapshots_ = false;
  if (origin_side_ != nullptr && options_.mutation != TargetMutation::kMergeSkipsOtherSnapshots) {
    const sector_t io_size = sector_t{static_cast<uint32_t>(merge_linear_chunks_)} << chunk_shift_;
    // Another pass only when an exception completed during the last one (the kernel compares
    // the done count taken before origin_write_extent); each pass completes at least one.
    for (uint64_t pass = 0;; ++pass) {
      SNAPSIM_ASSERT(pass <= kMaxPendingExceptions);
      const uint64_t done_before = origin_side_->exceptions_done();
      if (!origin_side_->WriteExtent(merge_old_chunk_ << chunk_shift_, io_size, split_sectors_)) {
        break;
      }
      if (origin_side_->exceptions_done() == done_before) {
        merge_waiting_for_other_snapshots_ = true;  // OtherSnapshotExceptionDone looks again
        return;
      }
    }
  }
  StartMergeStep();
}

void SnapshotTarget::OtherSnapshotExceptionDone() {
  if (merge_waiting_for_other_snapshots_) MergeWhenOtherSnapshotsCopied();
}

void SnapshotTarget::StartMergeStep() {
  const chunk_t old_chunk = merge_old_chunk_;
  const chunk_t new_chunk = merge_new_chunk_;
  const int linear_chunks = merge_linear_chunks_;
  const sector_t io_size = sector_t{static_cast<uint32_t>(linear_chunks)} << chunk_shift_;
  merge_dest_sector_ = old_chunk << chunk_shift_;
  const sector_t origin_size = origin_->size_sectors();
  merge_sectors_ = merge_dest_sector_ >= origin_size
                       ? 0
                       : static_cast<uint32_t>(std::min(io_size, origin_size - merge_dest_sector_));
  merge_src_sector_ = new_chunk << chunk_shift_;
  first_merging_chunk_ = old_chunk;
  num_merging_chunks_ = static_cast<chunk_t>(linear_chunks);
  // Wait until writes to the merging chunks drain (__check_for_conflicting_io per chunk).
  if (MergeRangeTracked()) {
    merge_waiting_for_tracked_ = true;
    return;
  }
  StartMergeCopy();
}

bool SnapshotTarget::MergeRangeTracked() const {
  auto it = tracked_.lower_bound(first_merging_chunk_);
  return it != tracked_.end() && it->first < first_merging_chunk_ + num_merging_chunks_;
}

void SnapshotTarget::StartMergeCopy() {
  if (merge_sectors_ == 0) {
    QueueCompletion([this] { MergeCallback(0, 0); });
    return;
  }
  merge_buffer_ = std::make_unique<uint8_t[]>(uint64_t{merge_sectors_} << kSectorShift);
  Bio read;
  read.op = BioOp::kRead;
  read.sector = merge_src_sector_;
  read.sector_count = merge_sectors_;
  read.data = merge_buffer_.get();
  read.end_io = [this](int read_error) {
    if (read_error != 0) {
      QueueCompletion([this, read_error] { MergeCallback(read_error, 0); });
      return;
    }
    Bio write;
    write.op = BioOp::kWrite;
    write.sector = merge_dest_sector_;
    write.sector_count = merge_sectors_;
    write.data = merge_buffer_.get();
    write.end_io = [this](int write_error) {
      QueueCompletion([this, write_error] { MergeCallback(0, write_error); });
    };
    origin_->Submit(std::move(write));
  };
  cow_->Submit(std::move(read));
}

void SnapshotTarget::MergeCallback(int read_error, int write_error) {
  if (read_error != 0 || write_error != 0) {
    LogError(read_error != 0 ? "Read error: shutting down merge."
                             : "Write error: shutting down merge.");
    MergeFail();
    return;
  }
  if (options_.flush_origin_before_commit_merge &&
      SyncIo(*origin_, BioOp::kWrite, 0, 0, nullptr, /*preflush=*/true) < 0) {
    LogError("Flush after merge failed: shutting down merge");
    MergeFail();
    return;
  }
  if (store_->CommitMerge(static_cast<int>(num_merging_chunks_)) < 0) {
    LogError("Write error in exception store: shutting down merge");
    MergeFail();
    return;
  }
  // remove_single_exception_chunk: the merged chunks now live on the origin.
  for (chunk_t c = first_merging_chunk_; c < first_merging_chunk_ + num_merging_chunks_; ++c) {
    const size_t erased = complete_.erase(c);
    SNAPSIM_ASSERT(erased == 1);
    (void)erased;
  }
  ReleaseQueuedAfterMerge(0);
  MergeNextChunks();
}

void SnapshotTarget::MergeFail() {
  merge_failed_ = true;
  ReleaseQueuedAfterMerge(-EIO);
  merge_running_ = false;
}

// __release_queued_bios_after_merge, then flush_bios (to the origin) or error_bios.
void SnapshotTarget::ReleaseQueuedAfterMerge(int error) {
  merge_io_in_flight_ = false;
  first_merging_chunk_ = 0;
  num_merging_chunks_ = 0;
  std::vector<Bio> bios = std::move(queued_during_merge_);
  queued_during_merge_.clear();
  for (Bio& bio : bios) {
    if (error != 0) {
      bio.end_io(error);
    } else {
      origin_->Submit(std::move(bio));
    }
  }
}

}  // namespace snapsim
