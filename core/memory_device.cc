// SPDX-License-Identifier: GPL-2.0-only
#include "core/memory_device.h"

#include <cerrno>
#include <cstring>
#include <utility>

#include "util/assert.h"

namespace snapsim {

MemoryDevice::MemoryDevice(sector_t size_sectors, uint32_t logical_block_size, std::string name)
    : bytes_(size_sectors << kSectorShift, 0),
      logical_block_size_(logical_block_size),
      name_(std::move(name)) {
  SNAPSIM_ASSERT(logical_block_size >= kSectorSize && logical_block_size % kSectorSize == 0 &&
                 (logical_block_size & (logical_block_size - 1)) == 0);
}

MemoryDevice MemoryDevice::FromBytes(std::vector<uint8_t> bytes, uint32_t logical_block_size,
                                     std::string name) {
  SNAPSIM_ASSERT(bytes.size() % kSectorSize == 0);
  MemoryDevice device(0, logical_block_size, std::move(name));
  device.bytes_ = std::move(bytes);
  return device;
}

void MemoryDevice::Submit(Bio bio) {
  const sector_t size = size_sectors();
  // Written so that a huge sector number cannot overflow the sum.
  if (bio.sector > size || bio.sector_count > size - bio.sector) {
    bio.end_io(-EIO);
    return;
  }
  if (bio.sector_count != 0) {
    SNAPSIM_ASSERT(bio.data != nullptr);
    uint8_t* const where = bytes_.data() + (bio.sector << kSectorShift);
    if (bio.is_write()) {
      std::memcpy(where, bio.data, bio.bytes());
    } else {
      std::memcpy(bio.data, where, bio.bytes());
    }
  }
  // Nothing is ever cached here, so FLUSH and FUA have nothing to do.
  bio.end_io(0);
}

void MemoryDevice::WaitFor(const bool& done) {
  // Every bio completed inside Submit().
  SNAPSIM_ASSERT(done);
}

const uint8_t* MemoryDevice::SectorData(sector_t sector) const {
  SNAPSIM_ASSERT(sector < size_sectors());
  return bytes_.data() + (sector << kSectorShift);
}

}  // namespace snapsim
