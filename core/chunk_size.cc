// SPDX-License-Identifier: GPL-2.0-only
#include "core/chunk_size.h"

#include <cerrno>
#include <climits>

#include "absl/status/status.h"
#include "core/format.h"

namespace snapsim {

int ValidateChunkSize(uint32_t chunk_sectors, uint32_t origin_block_bytes, uint32_t cow_block_bytes,
                      const char** error) {
  if (chunk_sectors == 0 || (chunk_sectors & (chunk_sectors - 1)) != 0) {
    *error = kChunkNotPowerOf2;
    return -EINVAL;
  }
  const uint32_t cow_block_sectors = cow_block_bytes >> kSectorShift;
  const uint32_t origin_block_sectors = origin_block_bytes >> kSectorShift;
  if (cow_block_sectors == 0 || origin_block_sectors == 0 ||
      chunk_sectors % cow_block_sectors != 0 || chunk_sectors % origin_block_sectors != 0) {
    *error = kChunkNotBlockMultiple;
    return -EINVAL;
  }
  if (chunk_sectors > kMaxChunkSectors) {
    *error = kChunkTooHigh;
    return -EINVAL;
  }
  return 0;
}

absl::StatusOr<uint32_t> ParseChunkSize(std::string_view arg) {
  if (!arg.empty() && arg.front() == '+') arg.remove_prefix(1);
  if (!arg.empty() && arg.back() == '\n') arg.remove_suffix(1);
  if (arg.empty()) return absl::InvalidArgumentError(kChunkInvalid);
  uint64_t value = 0;
  for (const char c : arg) {
    if (c < '0' || c > '9') return absl::InvalidArgumentError(kChunkInvalid);
    value = value * 10 + static_cast<uint64_t>(c - '0');
    // Stop before the sum can overflow: anything above INT_MAX is rejected anyway.
    if (value > static_cast<uint64_t>(INT_MAX)) return absl::InvalidArgumentError(kChunkInvalid);
  }
  return static_cast<uint32_t>(value);
}

absl::StatusOr<uint32_t> ChunkSizeFromTable(std::string_view arg, uint32_t origin_block_bytes,
                                            uint32_t cow_block_bytes) {
  absl::StatusOr<uint32_t> chunk_sectors = ParseChunkSize(arg);
  if (!chunk_sectors.ok() || *chunk_sectors == 0) return chunk_sectors;
  const char* error = nullptr;
  if (ValidateChunkSize(*chunk_sectors, origin_block_bytes, cow_block_bytes, &error) != 0) {
    return absl::InvalidArgumentError(error);
  }
  return chunk_sectors;
}

}  // namespace snapsim
