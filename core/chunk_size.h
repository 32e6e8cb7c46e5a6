// SPDX-License-Identifier: GPL-2.0-only
//
// The chunk size rules of dm-exception-store.c (3.7): dm_exception_store_set_chunk_size and the
// table's chunk size argument. A chunk size, in 512-byte sectors, is valid when it is
//  - a power of two (so 0 is not valid here),
//  - a multiple of the logical block size, in sectors, of both the origin and the COW device,
//  - at most kMaxChunkSectors (2^21: the kernel's bound is INT_MAX >> 9, and 2^21 is the largest
//    power of two below it).
// The checks run in that order and the first failure names the error, with the kernel's text.
// The table may also say 0, meaning "let the store choose" (the persistent store then picks
// max(32, COW logical block sectors) in read_header); 0 is accepted only by the table parser.
#ifndef SNAPSIM_CORE_CHUNK_SIZE_H_
#define SNAPSIM_CORE_CHUNK_SIZE_H_

#include <cstdint>
#include <string_view>

#include "absl/status/statusor.h"

namespace snapsim {

inline constexpr const char kChunkNotPowerOf2[] = "Chunk size is not a power of 2";
inline constexpr const char kChunkNotBlockMultiple[] =
    "Chunk size is not a multiple of device blocksize";
inline constexpr const char kChunkTooHigh[] = "Chunk size is too high";
inline constexpr const char kChunkInvalid[] = "Invalid chunk size";

// dm_exception_store_set_chunk_size's checks. Block sizes are in bytes (512, 4096, ...).
// Returns 0, or -EINVAL with *error set to one of the texts above.
int ValidateChunkSize(uint32_t chunk_sectors, uint32_t origin_block_bytes, uint32_t cow_block_bytes,
                      const char** error);

// Parses the table's chunk size argument as kstrtoul does (decimal, an optional leading '+',
// an optional trailing newline); anything else, or a value above INT_MAX, is "Invalid chunk
// size". Does not validate: 0 is returned as 0.
absl::StatusOr<uint32_t> ParseChunkSize(std::string_view arg);

// The table argument: parse, then validate unless it is 0. Errors are InvalidArgument with the
// kernel's text.
absl::StatusOr<uint32_t> ChunkSizeFromTable(std::string_view arg, uint32_t origin_block_bytes,
                                            uint32_t cow_block_bytes);

}  // namespace snapsim

#endif  // SNAPSIM_CORE_CHUNK_SIZE_H_
