// SPDX-License-Identifier: GPL-2.0-only
#include "core/persistent_store.h"

#include <fiu-local.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/area_view.h"
#include "core/chunk_size.h"
#include "core/fault_points.h"
#include "util/assert.h"

namespace snapsim {
namespace {

// The commit callback array is sized lazily past this many entries: E can reach 2^26 for the
// largest chunk size, and the kernel's vcalloc of E pointers is cheap where ours is not.
constexpr size_t kMaxReservedCallbacks = 4096;

}  // namespace

PersistentStore::PersistentStore(BlockDevice* origin, BlockDevice* cow, uint32_t chunk_size,
                                 const StoreOptions& options, KernelLog* log)
    : origin_(origin), cow_(cow), options_(options), log_(log), chunk_size_(chunk_size) {
  SNAPSIM_ASSERT(origin_ != nullptr && cow_ != nullptr);
}

void PersistentStore::Warn(const std::string& message) {
  if (log_ != nullptr) log_->Log(LogLevel::kWarn, absl::StrCat(kPersistentLogPrefix, message));
}

void PersistentStore::Error(const std::string& message) {
  if (log_ != nullptr) log_->Log(LogLevel::kErr, absl::StrCat(kPersistentLogPrefix, message));
}

// alloc_area: three one-chunk buffers. The kernel's vmalloc may fail; the fault point plays that.
int PersistentStore::AllocArea() {
  fiu_return_on(fault_points::kStoreAllocArea, -ENOMEM);
  const size_t len = size_t{chunk_size_} << kSectorShift;
  area_.assign(len, 0);
  zero_area_.assign(len, 0);
  header_area_.assign(len, 0);
  return 0;
}

void PersistentStore::FreeArea() {
  area_ = {};
  zero_area_ = {};
  header_area_ = {};
}

// chunk_io: dm-io of one whole chunk on the COW device, waited for.
int PersistentStore::ChunkIo(uint8_t* buffer, chunk_t chunk, BioOp op, bool preflush, bool fua) {
  fiu_return_on(fault_points::kStoreChunkIo, -EIO);
  SNAPSIM_ASSERT(buffer != nullptr);
  const sector_t sector = chunk * chunk_size_;
  // The block layer fails a bio past the end of the device with -EIO (bio_check_eod); do it here
  // so devices may keep their in-range REQUIRES.
  const sector_t size = cow_->size_sectors();
  if (sector > size || chunk_size_ > size - sector) return -EIO;
  return SyncIo(*cow_, op, sector, chunk_size_, buffer, preflush, fua);
}

chunk_t PersistentStore::AreaLocation(chunk_t area) const {
  return snapsim::AreaLocation(exceptions_per_area_, area);
}

// area_io: the current area. Every area write of 3.7.1 is WRITE_FLUSH_FUA; kNoAreaFlush drops
// both flags to prove the checker notices.
int PersistentStore::AreaIo(BioOp op) {
  SNAPSIM_ASSERT(!area_.empty());
  const bool flush_fua = op == BioOp::kWrite && options_.mutation != StoreMutation::kNoAreaFlush;
  return ChunkIo(area_.data(), AreaLocation(current_area_), op, flush_fua, flush_fua);
}

void PersistentStore::ZeroMemoryArea() { std::fill(area_.begin(), area_.end(), uint8_t{0}); }

int PersistentStore::ZeroDiskArea(chunk_t area) {
  return ChunkIo(zero_area_.data(), AreaLocation(area), BioOp::kWrite, false, false);
}

int PersistentStore::ReadHeader(bool* new_snapshot) {
  bool chunk_size_supplied = true;
  if (chunk_size_ == 0) {
    chunk_size_ = std::max(kDefaultChunkSectors, cow_->logical_block_size() >> kSectorShift);
    chunk_size_supplied = false;
  }

  int r = AllocArea();
  if (r != 0) return r;

  // Read with the table's (or default) chunk size: the on-disk one is not known yet.
  r = ChunkIo(header_area_.data(), 0, BioOp::kRead, false, false);
  if (r != 0) {
    FreeArea();
    return r;
  }

  const DiskHeader dh = DecodeHeader(header_area_.data());
  if (dh.magic == 0) {
    *new_snapshot = true;
    return 0;
  }
  if (dh.magic != kSnapMagic) {
    Warn("Invalid or corrupt snapshot");
    FreeArea();
    return -ENXIO;
  }

  *new_snapshot = false;
  valid_ = dh.valid;
  version_ = dh.version;
  if (chunk_size_ == dh.chunk_size) return 0;

  if (chunk_size_supplied) {
    Warn(absl::StrFormat("chunk size %u in device metadata overrides table chunk size of %u.",
                         dh.chunk_size, chunk_size_));
  }
  // The buffers were sized for the wrong chunk size.
  FreeArea();
  const char* chunk_error = nullptr;
  r = ValidateChunkSize(dh.chunk_size, origin_->logical_block_size(), cow_->logical_block_size(),
                        &chunk_error);
  if (r != 0) {
    Error(absl::StrFormat("invalid on-disk chunk size %u: %s.", dh.chunk_size, chunk_error));
    return r;
  }
  chunk_size_ = dh.chunk_size;
  return AllocArea();
}

// write_header: the whole header chunk, zero after the 16 header bytes. 3.7.1 writes it plain;
// durable_invalidation asks for FLUSH|FUA, zero_area_before_header for a FLUSH first.
int PersistentStore::WriteHeader(bool preflush, bool fua) {
  SNAPSIM_ASSERT(!header_area_.empty());
  std::fill(header_area_.begin(), header_area_.end(), uint8_t{0});
  EncodeHeader(DiskHeader{kSnapMagic, valid_, version_, chunk_size_}, header_area_.data());
  return ChunkIo(header_area_.data(), 0, BioOp::kWrite, preflush, fua);
}

DiskException PersistentStore::ReadException(uint32_t index) const {
  SNAPSIM_ASSERT(index < exceptions_per_area_);
  return DecodeException(area_.data(), index);
}

void PersistentStore::WriteException(uint32_t index, const DiskException& de) {
  SNAPSIM_ASSERT(index < exceptions_per_area_);
  EncodeException(area_.data(), index, de);
}

void PersistentStore::ClearException(uint32_t index) { WriteException(index, DiskException{0, 0}); }

// insert_exceptions: every slot of area_ up to the terminator; *full when there is none.
int PersistentStore::InsertExceptions(ExceptionCallback callback, bool* full) {
  *full = true;
  const AreaView view(area_.data(), exceptions_per_area_);
  for (uint32_t i = 0; i < view.entry_count(); ++i) {
    const DiskException de = view.entry(i);
    // next_free ends up above every recorded chunk, before the callback sees it.
    const chunk_t above =
        options_.mutation == StoreMutation::kNextFreeAtLastLoaded ? de.new_chunk : de.new_chunk + 1;
    if (next_free_ < above) next_free_ = above;
    const int r = callback(de.old_chunk, de.new_chunk);
    if (r != 0) return r;
  }
  if (!view.full()) {
    current_committed_ = view.terminator_slot();
    *full = false;
  }
  return 0;
}

// read_exceptions: areas 0, 1, ... until the first that is not full. The loop ends at the latest
// when an area lies past the end of the COW device (its read fails with -EIO).
int PersistentStore::ReadExceptions(ExceptionCallback callback) {
  const chunk_t max_areas =
      cow_->size_sectors() / chunk_size_ / (chunk_t{exceptions_per_area_} + 1) + 1;
  bool full = true;
  for (current_area_ = 0; full; ++current_area_) {
    SNAPSIM_ASSERT(current_area_ <= max_areas);
    (void)max_areas;
    int r = AreaIo(BioOp::kRead);
    if (r != 0) return r;
    r = InsertExceptions(callback, &full);
    if (r != 0) return r;
    if (options_.mutation == StoreMutation::kLoadFirstAreaOnly) full = false;
  }
  --current_area_;
  if (options_.skip_metadata_after_load) SkipMetadata();
  if (options_.clear_stale_slots_after_load) ClearStaleSlots();
  return 0;
}

// A torn area write (sectors are atomic, a chunk is not) can leave entries of a write that never
// completed after the terminator. 3.7.1 keeps them in the in-memory area, and once commits fill
// the slots up to them they join the table, pointing at chunks handed out again since. Zeroing
// the slots past the terminator makes the next area write erase them.
void PersistentStore::ClearStaleSlots() {
  for (uint32_t slot = current_committed_; slot < exceptions_per_area_; ++slot) {
    ClearException(slot);
  }
}

// skip_metadata of "dm snapshot: fix data corruption" (after 3.7.1): when the last loaded area
// was exactly full, next_free lands on the next area's chunk; step past it.
void PersistentStore::SkipMetadata() {
  if (IsAreaChunk(exceptions_per_area_, next_free_)) ++next_free_;
}

// A new snapshot: the header, and area 0 zeroed in memory and on disk. 3.7.1 writes the header
// first, both plain. zero_area_before_header zeroes area 0 first and puts a FLUSH ahead of the
// header write, so the header never reaches the medium before the zeroing.
int PersistentStore::SetUpNewSnapshot() {
  const bool zero_first = options_.zero_area_before_header;
  if (!zero_first) {
    const int r = WriteHeader(/*preflush=*/false, /*fua=*/false);
    if (r != 0) {
      Warn("write_header failed");
      return r;
    }
  }
  current_area_ = 0;
  ZeroMemoryArea();
  int r = ZeroDiskArea(0);
  if (r != 0) {
    Warn("zero_disk_area(0) failed");
    return r;
  }
  if (zero_first) {
    r = WriteHeader(/*preflush=*/true, /*fua=*/false);
    if (r != 0) Warn("write_header failed");
  }
  return r;
}

int PersistentStore::ReadMetadata(ExceptionCallback callback) {
  bool new_snapshot = false;
  int r = ReadHeader(&new_snapshot);
  if (r != 0) return r;

  // The chunk size is final now.
  exceptions_per_area_ = ExceptionsPerArea(chunk_size_);
  fiu_return_on(fault_points::kStoreAllocCallbacks, -ENOMEM);
  callbacks_.reserve(std::min<size_t>(exceptions_per_area_, kMaxReservedCallbacks));
  callbacks_allocated_ = true;

  if (new_snapshot) return SetUpNewSnapshot();

  if (version_ != kSnapshotDiskVersion) {
    Warn(absl::StrFormat("unable to handle snapshot disk version %d",
                         static_cast<int32_t>(version_)));
    return -EINVAL;
  }
  // A well-formed header that says invalid: load nothing.
  if (valid_ == 0) return 1;
  return ReadExceptions(callback);
}

int PersistentStore::PrepareException(Exception* e) {
  SNAPSIM_ASSERT(exceptions_per_area_ != 0);
  const sector_t size = cow_->size_sectors();
  const chunk_t spare = options_.mutation == StoreMutation::kEarlyOutOfSpace ? 1 : 0;
  if (size < (next_free_ + 1 + spare) * chunk_size_) return -ENOSPC;

  e->new_chunk = next_free_;
  // Step over a metadata area.
  if (IsAreaChunk(exceptions_per_area_, ++next_free_) &&
      options_.mutation != StoreMutation::kNoAreaSkip) {
    ++next_free_;
  }
  SNAPSIM_ASSERT(!IsMetadataChunk(exceptions_per_area_, next_free_) ||
                 options_.mutation == StoreMutation::kNoAreaSkip);
  ++pending_count_;
  return 0;
}

void PersistentStore::CommitException(const Exception& e, CommitCallback callback) {
  Commit(&e, std::move(callback), /*copied=*/true);
}

void PersistentStore::CommitFailedException(const Exception& e, CommitCallback callback) {
  Commit(&e, std::move(callback), /*copied=*/false);
}

void PersistentStore::Commit(const Exception* e, CommitCallback callback, bool copied) {
  SNAPSIM_ASSERT(!committing_ && "CommitException must not be re-entered");
  SNAPSIM_ASSERT(callbacks_allocated_ && pending_count_ > 0);
  // A failed copy (commit_failed_copies): the snapshot is lost, but the batch must still end.
  // It takes its slot like any other, as upstream's fix does: every callback then has a slot,
  // so the callbacks never outnumber the area's entries, and with valid_ 0 the area is never
  // written again.
  if (!copied) valid_ = 0;
  WriteException(current_committed_++, DiskException{e->old_chunk, e->new_chunk});
  // Invariant: a full area always flushes the batch, so the queue never exceeds E.
  SNAPSIM_ASSERT(callbacks_.size() < exceptions_per_area_);
  callbacks_.push_back(std::move(callback));

  // Batch: wait while other prepared exceptions are still in flight and the area has room.
  const bool room_left = current_committed_ != exceptions_per_area_ ||
                         options_.mutation == StoreMutation::kOverfillArea;
  if (--pending_count_ != 0 && room_left) return;
  committing_ = true;

  const bool area_full = current_committed_ == exceptions_per_area_;
  if (options_.mutation == StoreMutation::kCallbacksBeforeAreaWrite) {
    for (size_t i = 0; i < callbacks_.size(); ++i) callbacks_[i](true);
    callbacks_.clear();
  }
  // A full area: zero the next one first, so its stale bytes can never read as exceptions.
  if (area_full && options_.mutation != StoreMutation::kNoNextAreaZeroing &&
      ZeroDiskArea(current_area_ + 1) != 0) {
    valid_ = 0;
  }
  if (valid_ != 0 && AreaIo(BioOp::kWrite) != 0 &&
      options_.mutation != StoreMutation::kAreaWriteErrorIgnored) {
    valid_ = 0;
  }
  if (area_full) {
    current_committed_ = 0;
    ++current_area_;
    ZeroMemoryArea();
  }
  // valid_ is read per callback, as the kernel does: a callback that drops the snapshot makes
  // the rest report failure.
  for (size_t i = 0; i < callbacks_.size(); ++i) callbacks_[i](valid_ != 0);
  callbacks_.clear();
  committing_ = false;
}

int PersistentStore::PrepareMerge(chunk_t* last_old_chunk, chunk_t* last_new_chunk) {
  SNAPSIM_ASSERT(exceptions_per_area_ != 0);
  if (current_committed_ == 0) {
    if (current_area_ == 0) return 0;
    // Become consistent with the previous area, which is full.
    --current_area_;
    const int r = AreaIo(BioOp::kRead);
    if (r < 0) return r;
    current_committed_ = exceptions_per_area_;
  }

  const DiskException last = ReadException(current_committed_ - 1);
  *last_old_chunk = last.old_chunk;
  *last_new_chunk = last.new_chunk;
  // Count the run of consecutive chunks backwards, within this area only.
  uint32_t nr_consecutive = 1;
  for (; nr_consecutive < current_committed_; ++nr_consecutive) {
    const DiskException de = ReadException(current_committed_ - 1 - nr_consecutive);
    if (de.old_chunk != last.old_chunk - nr_consecutive ||
        de.new_chunk != last.new_chunk - nr_consecutive) {
      break;
    }
  }
  if (options_.mutation == StoreMutation::kMergeRunOneTooLong &&
      nr_consecutive < current_committed_) {
    ++nr_consecutive;
  }
  return static_cast<int>(nr_consecutive);
}

int PersistentStore::CommitMerge(int nr_merged) {
  SNAPSIM_ASSERT(nr_merged >= 0 && static_cast<uint32_t>(nr_merged) <= current_committed_);
  const uint32_t n = static_cast<uint32_t>(nr_merged);
  for (uint32_t i = 0; i < n && options_.mutation != StoreMutation::kMergeKeepsSlots; ++i) {
    ClearException(current_committed_ - 1 - i);
  }
  const int r = AreaIo(BioOp::kWrite);
  if (r < 0) return r;
  current_committed_ -= n;
  // Only Usage reads next_free from here on; keep it meaningful.
  next_free_ = AreaLocation(current_area_) + current_committed_ + 1;
  return 0;
}

int PersistentStore::DropSnapshot() {
  valid_ = 0;
  if (options_.mutation == StoreMutation::kInvalidationNotWritten) return 0;
  const int r = WriteHeader(options_.durable_invalidation, options_.durable_invalidation);
  if (r != 0) Warn("write header failed");
  return r;
}

void PersistentStore::Usage(sector_t* total_sectors, sector_t* sectors_allocated,
                            sector_t* metadata_sectors) const {
  *sectors_allocated = AllocatedSectors(chunk_size_, next_free_);
  *total_sectors = cow_->size_sectors();
  *metadata_sectors = MetadataSectors(chunk_size_, current_area_);
}

std::string PersistentStore::Status(StatusType type) const {
  if (type == StatusType::kTable) return absl::StrFormat(" P %u", chunk_size_);
  return "";
}

}  // namespace snapsim
