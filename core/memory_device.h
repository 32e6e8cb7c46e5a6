// SPDX-License-Identifier: GPL-2.0-only
//
// MemoryDevice: a BlockDevice over a byte vector, with no cache and no faults.
//
// Contract:
//  - Every bio completes inside Submit() with 0; a write is durable at once, so FLUSH and FUA are
//    no-ops and WaitFor() returns immediately (its flag is already true).
//  - The byte vector always holds exactly size_sectors() * 512 bytes.
//  - A bio beyond the end of the device completes with -EIO, as a bio past the end of a real
//    block device does, rather than touching memory outside the vector.
// It is the device of unit tests and benchmarks; the simulator's device lives in sim/.
#ifndef SNAPSIM_CORE_MEMORY_DEVICE_H_
#define SNAPSIM_CORE_MEMORY_DEVICE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "core/block_device.h"
#include "core/format.h"

namespace snapsim {

class MemoryDevice final : public BlockDevice {
 public:
  // A zero-filled device of `size_sectors` sectors.
  // REQUIRES: logical_block_size is a power of two and a multiple of 512.
  explicit MemoryDevice(sector_t size_sectors, uint32_t logical_block_size = kSectorSize,
                        std::string name = "memory");
  // A device holding `bytes`. REQUIRES: bytes.size() is a multiple of 512.
  static MemoryDevice FromBytes(std::vector<uint8_t> bytes,
                                uint32_t logical_block_size = kSectorSize,
                                std::string name = "memory");

  sector_t size_sectors() const override { return bytes_.size() >> kSectorShift; }
  uint32_t logical_block_size() const override { return logical_block_size_; }
  std::string name() const override { return name_; }
  void Submit(Bio bio) override;
  void WaitFor(const bool& done) override;

  // The raw contents, for tests that look at or damage the bytes directly.
  const std::vector<uint8_t>& bytes() const { return bytes_; }
  std::vector<uint8_t>& mutable_bytes() { return bytes_; }
  // The 512 * sector_count bytes starting at `sector`. REQUIRES: in range.
  const uint8_t* SectorData(sector_t sector) const;

 private:
  std::vector<uint8_t> bytes_;
  uint32_t logical_block_size_;
  std::string name_;
};

}  // namespace snapsim

#endif  // SNAPSIM_CORE_MEMORY_DEVICE_H_
