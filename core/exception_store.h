// SPDX-License-Identifier: GPL-2.0-only
//
// The exception store interface (dm_exception_store_type in the kernel) and the store's options.
// An exception maps origin chunk `old_chunk` to COW chunk `new_chunk`, which holds the origin's
// data as it was when the snapshot was taken.
//
// Threading model, as in the kernel: PrepareException may run while a CommitException is waiting
// for its metadata I/O; CommitException is never entered twice at once (the target serialises
// copy completions, as kcopyd's callback thread does).
#ifndef SNAPSIM_CORE_EXCEPTION_STORE_H_
#define SNAPSIM_CORE_EXCEPTION_STORE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "core/block_device.h"
#include "core/format.h"
#include "core/kernel_log.h"

namespace snapsim {

struct Exception {
  chunk_t old_chunk = 0;
  chunk_t new_chunk = 0;
};

// Deliberate breakages, used only by tests that prove the checker catches them. Never set by a
// scenario that claims to test the real store.
enum class StoreMutation : uint8_t {
  kNone = 0,
  kNoAreaFlush,               // area write without FLUSH/FUA
  kNoNextAreaZeroing,         // do not zero the next area when one fills
  kOverfillArea,              // keep batching past a full area: slots beyond the area's end
  kNoAreaSkip,                // prepare_exception hands out a metadata area's chunk as a data chunk
  kCallbacksBeforeAreaWrite,  // acknowledge a batch before its area write
  kEarlyOutOfSpace,           // prepare_exception reports the COW full one chunk early
  kNextFreeAtLastLoaded,      // read_metadata leaves next_free on the highest loaded chunk
  kInvalidationNotWritten,    // drop_snapshot never writes the invalid header
  kMergeRunOneTooLong,        // prepare_merge counts one chunk past the consecutive run
  kMergeKeepsSlots,           // commit_merge does not clear the merged slots
  kLoadFirstAreaOnly,         // read_metadata stops after area 0
  kAreaWriteErrorIgnored,     // a failed area write still reports the batch committed
};

// Named corrected behaviours. All false is the faithful Linux 3.7.1 store. Each one answers a
// known finding (docs/findings.md) and is off unless a scenario or flag names it. Each bool has a
// row in kNamedOptions (core/named_options.h).
struct StoreOptions {
  // After read_metadata, move next_free past a metadata area it points at (the kernel fixed this
  // later in "dm snapshot: fix data corruption"). Without it a reload right after an area fills
  // hands out the next area's chunk as a data chunk.
  bool skip_metadata_after_load = false;
  // drop_snapshot writes the invalid header with FLUSH|FUA, so the invalidation is durable before
  // the origin moves on. 3.7.1 writes it plain, into the COW's volatile cache.
  bool durable_invalidation = false;
  // After read_metadata, zero the current area's slots past the terminator. A torn area write can
  // leave unacknowledged entries there that 3.7.1 later writes back as part of the table.
  bool clear_stale_slots_after_load = false;
  // A new snapshot zeroes area 0 first and writes its header with a FLUSH ahead, so the header
  // is never on the medium while area 0 still holds leftover data. 3.7.1 writes the header
  // first, both plain: a crash before the first commit can keep the header and lose the zeroing.
  bool zero_area_before_header = false;
  StoreMutation mutation = StoreMutation::kNone;
};

enum class StatusType { kInfo, kTable };

using ExceptionCallback = absl::FunctionRef<int(chunk_t old_chunk, chunk_t new_chunk)>;
using CommitCallback = absl::AnyInvocable<void(bool success)>;

class ExceptionStore {
 public:
  virtual ~ExceptionStore() = default;

  virtual const char* type_name() const = 0;
  // Chunk size in sectors; may change in ReadMetadata (the on-disk size wins).
  virtual uint32_t chunk_size() const = 0;

  // Loads the table: callback(old, new) per exception. Returns <0 error, 1 invalid, 0 ok.
  virtual int ReadMetadata(ExceptionCallback callback) = 0;
  // Allocates e->new_chunk. Returns 0 or -ENOSPC.
  virtual int PrepareException(Exception* e) = 0;
  // Records e; callback(success) runs when its batch is on disk (maybe inside this call).
  virtual void CommitException(const Exception& e, CommitCallback callback) = 0;
  // The copy for a prepared exception failed. The later upstream store takes it through the
  // commit path with valid = 0: the store becomes invalid, and it leaves the batch
  // (pending_count) so the batch still completes. The persistent store gives it a slot in the
  // in-memory area as upstream does (never written: the store is invalid from then on). 3.7.1 has
  // no such call; only TargetOptions::commit_failed_copies uses it.
  virtual void CommitFailedException(const Exception& e, CommitCallback callback) = 0;
  // Returns n >= 1 consecutive exceptions ending at (*last_old, *last_new), 0 if none, or <0.
  virtual int PrepareMerge(chunk_t* last_old_chunk, chunk_t* last_new_chunk) = 0;
  // Removes the last n exceptions returned by PrepareMerge. Returns 0 or <0.
  virtual int CommitMerge(int nr_merged) = 0;
  // Marks the snapshot invalid on disk. Returns 0, or the header write's error (the kernel's
  // drop_snapshot returns nothing and only warns; TargetOptions::fail_origin_until_invalid_on_disk
  // uses the result).
  virtual int DropSnapshot() = 0;
  virtual void Usage(sector_t* total_sectors, sector_t* sectors_allocated,
                     sector_t* metadata_sectors) const = 0;
  // kTable: " P <chunk_size>" (with the leading space, as DMEMIT writes it); kInfo: "".
  virtual std::string Status(StatusType type) const = 0;
};

// The status line of a valid snapshot, "<allocated>/<total> <metadata>" in sectors, from a
// store's Usage (snapshot_status); inspect prints the same line for a COW it decoded.
std::string UsageStatusLine(sector_t total_sectors, sector_t sectors_allocated,
                            sector_t metadata_sectors);

// dm_exception_store_create: parses "<P|N> <chunk_size>" (args[0], args[1]) and validates the
// chunk size against both devices. Errors carry the kernel's texts ("Persistent flag is not P or
// N", "Invalid chunk size", "Chunk size is not a power of 2", "Chunk size is not a multiple of
// device blocksize", "Chunk size is too high").
absl::StatusOr<std::unique_ptr<ExceptionStore>> CreateExceptionStore(
    const std::vector<std::string>& args, BlockDevice* origin, BlockDevice* cow,
    const StoreOptions& options, KernelLog* log);

}  // namespace snapsim

#endif  // SNAPSIM_CORE_EXCEPTION_STORE_H_
