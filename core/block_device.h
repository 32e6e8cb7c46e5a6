// SPDX-License-Identifier: GPL-2.0-only
//
// The one block-device interface the store and the snapshot target talk to. It mirrors the bio
// of Linux 3.7: a READ or WRITE of whole 512-byte sectors, optionally with REQ_FLUSH (flush the
// device's volatile cache before this request) and REQ_FUA (this write is durable when it
// completes), finished by a completion callback with 0 or a negative errno.
//
// Contract:
//  - Submit() may complete the bio inside the call (memory and file devices) or later (the
//    simulator schedules every completion). end_io is called exactly once.
//  - The data buffer belongs to the submitter and must stay valid until end_io runs.
//  - A write has landed in the device's volatile cache when it completes; it is durable only
//    after a later FLUSH on the same device completes, or at completion if it carries FUA.
//  - An empty FLUSH is a kWrite with sector_count 0 and preflush set.
//  - WaitFor(done) returns once `done` is true, letting the world make progress meanwhile. It is
//    how the store's synchronous metadata I/O waits (dm-io's synchronous mode); a device that
//    completes inside Submit returns at once.
#ifndef SNAPSIM_CORE_BLOCK_DEVICE_H_
#define SNAPSIM_CORE_BLOCK_DEVICE_H_

#include <cstdint>
#include <string>

#include "absl/functional/any_invocable.h"
#include "core/format.h"

namespace snapsim {

enum class BioOp : uint8_t { kRead, kWrite };

using BioEndIo = absl::AnyInvocable<void(int error)>;  // error: 0 or -errno

struct Bio {
  BioOp op = BioOp::kRead;
  sector_t sector = 0;
  uint32_t sector_count = 0;
  bool preflush = false;    // REQ_FLUSH
  bool fua = false;         // REQ_FUA
  uint8_t* data = nullptr;  // sector_count * 512 bytes, owned by the submitter
  BioEndIo end_io;

  bool is_write() const { return op == BioOp::kWrite; }
  bool is_empty_flush() const { return op == BioOp::kWrite && sector_count == 0 && preflush; }
  uint64_t bytes() const { return uint64_t{sector_count} << kSectorShift; }
};

class BlockDevice {
 public:
  virtual ~BlockDevice() = default;

  // Size in 512-byte sectors.
  virtual sector_t size_sectors() const = 0;
  // Logical block size in bytes (512, 4096, ...).
  virtual uint32_t logical_block_size() const = 0;
  // A name for messages and table lines ("254:16", "/dev/vg/cow", "cow").
  virtual std::string name() const = 0;

  // REQUIRES: bio.sector + bio.sector_count <= size_sectors(); data non-null unless empty.
  virtual void Submit(Bio bio) = 0;
  // Returns once `done` is true. See the contract above.
  virtual void WaitFor(const bool& done) = 0;
};

// Submits one bio and waits for it: the synchronous I/O of dm-io. Returns 0 or -errno.
int SyncIo(BlockDevice& device, BioOp op, sector_t sector, uint32_t sector_count, uint8_t* data,
           bool preflush = false, bool fua = false);

}  // namespace snapsim

#endif  // SNAPSIM_CORE_BLOCK_DEVICE_H_
