// SPDX-License-Identifier: GPL-2.0-only
//
// The on-disk format of the dm-snapshot persistent exception store, disk version 1, as written
// by Linux 3.7.1 (and still by 6.1). The prose is docs/format.md; this header is the one place
// that names byte offsets. Everything on disk is little-endian.
//
// COW device layout, in chunks of C sectors (C = chunk_size, a power of two):
//   chunk 0                 header (DiskHeader, rest of the chunk zero)
//   chunk 1                 metadata area 0 (E DiskException slots)
//   chunks 2 .. E+1         data chunks described by area 0
//   chunk E+2               metadata area 1, and so on: area a lives at 1 + (E+1)*a.
// where E = exceptions per area = C*512/16. The first slot whose new_chunk is 0 ends the table
// (chunk 0 is the header, so no exception can point there).
#ifndef SNAPSIM_CORE_FORMAT_H_
#define SNAPSIM_CORE_FORMAT_H_

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace snapsim {

using sector_t = uint64_t;  // 512-byte sector number or count
using chunk_t = uint64_t;   // chunk number or count

inline constexpr uint32_t kSectorShift = 9;
inline constexpr uint32_t kSectorSize = 1u << kSectorShift;

// "SnAp" read as a little-endian u32: bytes 53 6E 41 70.
inline constexpr uint32_t kSnapMagic = 0x70416e53;
inline constexpr uint32_t kSnapshotDiskVersion = 1;
inline constexpr chunk_t kNumSnapshotHeaderChunks = 1;
// Chunk size used when the table gives 0 (16 KiB), unless the COW's logical block is larger.
inline constexpr uint32_t kDefaultChunkSectors = 32;
// Largest chunk size the kernel accepts: 2^21 sectors (1 GiB).
inline constexpr uint32_t kMaxChunkSectors = 1u << 21;

// Chunk 0, bytes 0..15. The header chunk is always written whole, zero after these 16 bytes.
struct DiskHeader {
  uint32_t magic;       // kSnapMagic, or 0 on a COW device never used
  uint32_t valid;       // 1 valid, 0 invalidated; any non-zero value counts as valid
  uint32_t version;     // kSnapshotDiskVersion
  uint32_t chunk_size;  // in sectors
} __attribute__((packed));

// One slot of a metadata area.
struct DiskException {
  uint64_t old_chunk;  // chunk of the origin
  uint64_t new_chunk;  // chunk of the COW device holding the origin's old data; 0 ends the table
} __attribute__((packed));

static_assert(sizeof(DiskHeader) == 16, "header fields are 4 x u32");
static_assert(offsetof(DiskHeader, magic) == 0 && offsetof(DiskHeader, valid) == 4 &&
                  offsetof(DiskHeader, version) == 8 && offsetof(DiskHeader, chunk_size) == 12,
              "header field offsets are fixed by disk version 1");
static_assert(sizeof(DiskException) == 16, "exception slot is 2 x u64");
static_assert(offsetof(DiskException, new_chunk) == 8, "new_chunk follows old_chunk");
static_assert(kSectorSize % sizeof(DiskException) == 0, "a sector holds whole slots");
static_assert(sizeof(DiskHeader) <= kSectorSize, "the header fits in the first sector");
static_assert((kDefaultChunkSectors & (kDefaultChunkSectors - 1)) == 0, "default is a power of 2");
static_assert(kDefaultChunkSectors <= kMaxChunkSectors);
static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
              "encode/decode below copy little-endian integers directly");

// Exceptions per metadata area: E = C*512/16 = 32*C.
constexpr uint32_t ExceptionsPerArea(uint32_t chunk_sectors) {
  return static_cast<uint32_t>((uint64_t{chunk_sectors} << kSectorShift) / sizeof(DiskException));
}
static_assert(ExceptionsPerArea(16) == 512 && ExceptionsPerArea(8) == 256);

// Chunk that holds metadata area `area`.
constexpr chunk_t AreaLocation(uint32_t exceptions_per_area, chunk_t area) {
  return kNumSnapshotHeaderChunks + (chunk_t{exceptions_per_area} + 1) * area;
}
static_assert(AreaLocation(ExceptionsPerArea(16), 1) == 514, "C=16: areas at 1, 514, 1027");
static_assert(AreaLocation(ExceptionsPerArea(32), 2) == 2051, "C=32: areas at 1, 1026, 2051");

// True when `chunk` holds a metadata area (not the header, not data).
constexpr bool IsAreaChunk(uint32_t exceptions_per_area, chunk_t chunk) {
  return chunk >= kNumSnapshotHeaderChunks &&
         (chunk - kNumSnapshotHeaderChunks) % (chunk_t{exceptions_per_area} + 1) == 0;
}

// The area that chunk `chunk` holds: the inverse of AreaLocation.
// REQUIRES: IsAreaChunk(exceptions_per_area, chunk).
constexpr chunk_t AreaOfChunk(uint32_t exceptions_per_area, chunk_t chunk) {
  return (chunk - kNumSnapshotHeaderChunks) / (chunk_t{exceptions_per_area} + 1);
}
static_assert(AreaOfChunk(ExceptionsPerArea(16), 1027) == 2 && AreaOfChunk(32, 1) == 0);
static_assert(!IsAreaChunk(32, 0) && IsAreaChunk(32, 34) && !IsAreaChunk(32, 35));

// How many metadata areas lie in chunks [0, chunk).
constexpr chunk_t AreaChunksBelow(uint32_t exceptions_per_area, chunk_t chunk) {
  if (chunk <= kNumSnapshotHeaderChunks) return 0;
  return (chunk - kNumSnapshotHeaderChunks - 1) / (chunk_t{exceptions_per_area} + 1) + 1;
}
// How many data chunks (neither header nor area) lie in [first, end). REQUIRES: first <= end.
constexpr chunk_t DataChunksBetween(uint32_t exceptions_per_area, chunk_t first, chunk_t end) {
  const chunk_t data_first = first < kNumSnapshotHeaderChunks ? kNumSnapshotHeaderChunks : first;
  if (data_first >= end) return 0;
  return (end - data_first) - (AreaChunksBelow(exceptions_per_area, end) -
                               AreaChunksBelow(exceptions_per_area, data_first));
}
// The first data chunk at or above `chunk`.
constexpr chunk_t FirstDataChunkFrom(uint32_t exceptions_per_area, chunk_t chunk) {
  if (chunk < kNumSnapshotHeaderChunks) chunk = kNumSnapshotHeaderChunks;
  return IsAreaChunk(exceptions_per_area, chunk) ? chunk + 1 : chunk;
}
static_assert(AreaChunksBelow(32, 1) == 0 && AreaChunksBelow(32, 2) == 1 &&
              AreaChunksBelow(32, 34) == 1 && AreaChunksBelow(32, 35) == 2);
static_assert(DataChunksBetween(32, 0, 34) == 32 && DataChunksBetween(32, 30, 40) == 9 &&
              DataChunksBetween(32, 34, 35) == 0 && DataChunksBetween(32, 5, 5) == 0);
static_assert(FirstDataChunkFrom(32, 0) == 2 && FirstDataChunkFrom(32, 34) == 35);

// True when `chunk` is the header or a metadata area, i.e. never a data chunk.
constexpr bool IsMetadataChunk(uint32_t exceptions_per_area, chunk_t chunk) {
  return chunk < kNumSnapshotHeaderChunks || IsAreaChunk(exceptions_per_area, chunk);
}

// The chunk of the COW device that a sector lies in.
constexpr chunk_t ChunkOfSector(uint32_t chunk_sectors, sector_t sector) {
  return sector / chunk_sectors;
}

// True when the I/O [sector, sector + count) covers exactly one metadata area, as every area
// read and write of the store does (the header and partial chunks are not area I/O).
constexpr bool IsAreaIo(uint32_t chunk_sectors, sector_t sector, uint64_t count) {
  return sector % chunk_sectors == 0 && count == chunk_sectors &&
         IsAreaChunk(ExceptionsPerArea(chunk_sectors), ChunkOfSector(chunk_sectors, sector));
}

// The area that an area I/O at `sector` reads or writes. REQUIRES: IsAreaIo(...) held for it.
constexpr chunk_t AreaOfIo(uint32_t chunk_sectors, sector_t sector) {
  return AreaOfChunk(ExceptionsPerArea(chunk_sectors), ChunkOfSector(chunk_sectors, sector));
}
static_assert(IsAreaIo(8, 8, 8) && !IsAreaIo(8, 0, 8) && !IsAreaIo(8, 8, 16) &&
              !IsAreaIo(8, 16, 8));
static_assert(AreaOfIo(8, AreaLocation(ExceptionsPerArea(8), 3) * 8) == 3);

// The status line's metadata sectors (persistent_usage): the header chunk plus areas
// 0 .. current_area, which the store has all written or zeroed.
constexpr sector_t MetadataSectors(uint32_t chunk_sectors, chunk_t current_area) {
  return (current_area + 1 + kNumSnapshotHeaderChunks) * chunk_sectors;
}
// The status line's allocated sectors: every chunk below next_free, metadata included.
constexpr sector_t AllocatedSectors(uint32_t chunk_sectors, chunk_t next_free) {
  return next_free * chunk_sectors;
}
static_assert(MetadataSectors(16, 0) == 32, "a fresh store: header and area 0");

inline uint32_t LoadLe32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
inline uint64_t LoadLe64(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
inline void StoreLe32(uint8_t* p, uint32_t v) { std::memcpy(p, &v, sizeof v); }
inline void StoreLe64(uint8_t* p, uint64_t v) { std::memcpy(p, &v, sizeof v); }

// Decoded header. REQUIRES: `bytes` holds at least sizeof(DiskHeader).
inline DiskHeader DecodeHeader(const uint8_t* bytes) {
  return DiskHeader{LoadLe32(bytes + 0), LoadLe32(bytes + 4), LoadLe32(bytes + 8),
                    LoadLe32(bytes + 12)};
}
// Writes the 16 header bytes; the caller zeroes the rest of the chunk.
inline void EncodeHeader(const DiskHeader& h, uint8_t* bytes) {
  StoreLe32(bytes + 0, h.magic);
  StoreLe32(bytes + 4, h.valid);
  StoreLe32(bytes + 8, h.version);
  StoreLe32(bytes + 12, h.chunk_size);
}
// Slot `index` of an area buffer.
inline DiskException DecodeException(const uint8_t* area, uint32_t index) {
  const uint8_t* p = area + size_t{index} * sizeof(DiskException);
  return DiskException{LoadLe64(p), LoadLe64(p + 8)};
}
inline void EncodeException(uint8_t* area, uint32_t index, const DiskException& e) {
  uint8_t* p = area + size_t{index} * sizeof(DiskException);
  StoreLe64(p, e.old_chunk);
  StoreLe64(p + 8, e.new_chunk);
}

}  // namespace snapsim

#endif  // SNAPSIM_CORE_FORMAT_H_
