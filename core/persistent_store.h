// SPDX-License-Identifier: GPL-2.0-only
//
// PersistentStore: the 'P' exception store of Linux 3.7.1 (dm-snap-persistent.c), operation for
// operation, over the COW BlockDevice. The on-disk format is core/format.h (prose:
// docs/format.md). With default StoreOptions it is the faithful 3.7.1 store, bugs included.
//
// State (the kernel's struct pstore):
//   valid_              the header's valid word; any non-zero value counts as valid
//   exceptions_per_area_ E = chunk_size * 512 / 16, fixed once read_metadata knows the chunk size
//   area_               in-memory copy of metadata area current_area_
//   current_committed_  next free slot of area_
//   pending_count_      prepared exceptions not yet committed
//   callbacks_          commit callbacks of the batch being built, run in queue order
//   next_free_          next COW chunk prepare_exception will hand out
// Invariants (asserted where they matter):
//   current_committed_ <= E; callbacks_.size() <= E (a full area always flushes the batch);
//   next_free_ never points at the header; after a prepare it never points at a metadata area.
//
// Contract:
//  - ReadMetadata is called once, before every other operation but Status and Usage.
//  - Every store I/O is one whole chunk through SyncIo on the COW device (dm-io, synchronous).
//    header read/write: plain; zero_disk_area: plain WRITE; area write: WRITE+FLUSH+FUA; area
//    read: plain READ.
//  - CommitException is never re-entered: a commit callback must not call CommitException
//    (the kernel's callbacks run from kcopyd's thread, never nested).
//  - Messages go to the KernelLog with the prefix "device-mapper: persistent snapshot: ".
#ifndef SNAPSIM_CORE_PERSISTENT_STORE_H_
#define SNAPSIM_CORE_PERSISTENT_STORE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "core/block_device.h"
#include "core/exception_store.h"
#include "core/format.h"
#include "core/kernel_log.h"

namespace snapsim {

inline constexpr const char kPersistentLogPrefix[] = "device-mapper: persistent snapshot: ";

class PersistentStore final : public ExceptionStore {
 public:
  // persistent_ctr. `chunk_size` is the table's, already validated, or 0 for "choose in
  // read_header". REQUIRES: origin and cow outlive the store; log may be null (no messages).
  PersistentStore(BlockDevice* origin, BlockDevice* cow, uint32_t chunk_size,
                  const StoreOptions& options, KernelLog* log);

  const char* type_name() const override { return "persistent"; }
  uint32_t chunk_size() const override { return chunk_size_; }

  int ReadMetadata(ExceptionCallback callback) override;  // persistent_read_metadata
  int PrepareException(Exception* e) override;            // persistent_prepare_exception
  void CommitException(const Exception& e, CommitCallback callback) override;
  void CommitFailedException(const Exception& e, CommitCallback callback) override;
  int PrepareMerge(chunk_t* last_old_chunk, chunk_t* last_new_chunk) override;
  int CommitMerge(int nr_merged) override;  // persistent_commit_merge
  int DropSnapshot() override;              // persistent_drop_snapshot
  void Usage(sector_t* total_sectors, sector_t* sectors_allocated,
             sector_t* metadata_sectors) const override;  // persistent_usage
  std::string Status(StatusType type) const override;     // persistent_status

  // Read-only state for unit tests and status displays. The checker must NOT use these: it judges
  // the store from outside (the recovered target and the on-disk bytes), never its private state.
  chunk_t current_area() const { return current_area_; }
  chunk_t next_free() const { return next_free_; }
  uint32_t exceptions_per_area() const { return exceptions_per_area_; }
  uint32_t valid() const { return valid_; }
  uint32_t current_committed() const { return current_committed_; }
  uint32_t pending_count() const { return pending_count_; }

 private:
  // alloc_area / free_area: the area, zero and header buffers, one chunk each.
  int AllocArea();
  void FreeArea();
  // chunk_io: one whole chunk of the COW device, synchronously.
  int ChunkIo(uint8_t* buffer, chunk_t chunk, BioOp op, bool preflush, bool fua);
  chunk_t AreaLocation(chunk_t area) const;  // area_location
  int AreaIo(BioOp op);                      // area_io
  void ZeroMemoryArea();                     // zero_memory_area
  int ZeroDiskArea(chunk_t area);            // zero_disk_area
  int ReadHeader(bool* new_snapshot);        // read_header
  int WriteHeader(bool preflush, bool fua);  // write_header
  int SetUpNewSnapshot();                    // read_metadata's new-snapshot branch
  // insert_exceptions: the slots of area_ up to the terminator.
  int InsertExceptions(ExceptionCallback callback, bool* full);
  int ReadExceptions(ExceptionCallback callback);  // read_exceptions
  void SkipMetadata();
  void ClearStaleSlots();                             // the later upstream skip_metadata
  DiskException ReadException(uint32_t index) const;  // read_exception
  void WriteException(uint32_t index, const DiskException& de);
  void ClearException(uint32_t index);
  void Warn(const std::string& message);
  void Error(const std::string& message);

  BlockDevice* const origin_;
  BlockDevice* const cow_;
  const StoreOptions options_;
  KernelLog* const log_;

  uint32_t chunk_size_;  // sectors; 0 until read_header picks one
  uint32_t valid_ = 1;
  uint32_t version_ = kSnapshotDiskVersion;
  uint32_t exceptions_per_area_ = 0;
  std::vector<uint8_t> area_;
  std::vector<uint8_t> zero_area_;
  std::vector<uint8_t> header_area_;
  chunk_t current_area_ = 0;
  chunk_t next_free_ = kNumSnapshotHeaderChunks + 1;  // header and area 0
  uint32_t current_committed_ = 0;
  uint32_t pending_count_ = 0;
  bool callbacks_allocated_ = false;
  std::vector<CommitCallback> callbacks_;
  // The commit path shared by both commits; `copied` false: a failed copy (the store becomes
  // invalid, and the exception still takes its slot in memory, as upstream's fix does).
  void Commit(const Exception* e, CommitCallback callback, bool copied);

  bool committing_ = false;  // guards the no-re-entry contract of CommitException
};

}  // namespace snapsim

#endif  // SNAPSIM_CORE_PERSISTENT_STORE_H_
