// SPDX-License-Identifier: GPL-2.0-only
//
// Inspect: decode a COW device of the persistent store from outside, into a typed report, the
// way thin_check / thin_dump look at thin-pool metadata. It has its own decoder over
// core/format.h and never touches a store's private state, so the checker can compare what a
// store believes with what is on disk.
//
// What the report holds, and the rules it follows (those of 3.7.1's read_header/read_metadata):
//  - The header fields as stored. Magic 0 is a COW never used: the report says `is_new`, finds
//    no damage, and shows the status a freshly created snapshot would show.
//  - Bad magic, bad version or an invalid chunk size stop decoding (activation would fail).
//    valid == 0 loads no table and the status is "Invalid", as the kernel does; with
//    InspectOptions::decode_invalid_table the table is still decoded as it is on disk (for
//    people recovering data from an overflowed snapshot), marked not loaded, its damage only
//    warnings.
//  - The exception table in on-disk order: areas 0, 1, ... until the first area that is not
//    full, each read to its terminator (the first slot whose new_chunk is 0). next_free is
//    max(2, new_chunk + 1 over every entry) and current_area the last area read, exactly as
//    read_metadata leaves them; the status line is then "<allocated>/<total> <metadata>".
//  - Damage is collected, never thrown: every finding names its kind, where it is, a severity
//    and a message. An error means the kernel would refuse the COW or could return wrong data;
//    a warning is suspicious but harmless to the kernel.
//  - I/O: reads only, whole chunks, through SyncIo. The device is never written.
#ifndef SNAPSIM_CORE_INSPECT_H_
#define SNAPSIM_CORE_INSPECT_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/btree_map.h"
#include "absl/status/statusor.h"
#include "core/block_device.h"
#include "core/format.h"

namespace snapsim {

// Stable names (DamageKindName) are part of the JSON output: only ever add kinds.
enum class DamageKind : uint8_t {
  kHeaderUnreadable,        // "header_unreadable": chunk 0 cannot be read
  kBadMagic,                // "bad_magic": neither 0 nor SnAp
  kBadVersion,              // "bad_version": not disk version 1
  kInvalidChunkSize,        // "invalid_chunk_size": 0, not a power of 2, too high, not a
                            //   multiple of the logical block size
  kAreaUnreadable,          // "area_unreadable": a metadata area is past the end or fails to read
  kNewChunkIsMetadata,      // "new_chunk_is_metadata": an entry points at the header or an area
  kNewChunkPastCowEnd,      // "new_chunk_past_cow_end": an entry points past the COW's end
  kOriginChunkMappedTwice,  // "origin_chunk_mapped_twice": two entries share old_chunk
  kCowChunkUsedTwice,       // "cow_chunk_used_twice": two entries share new_chunk
  kOldChunkPastOriginEnd,   // "old_chunk_past_origin_end": only when the origin is given
  kUnreferencedChunk,       // "unreferenced_chunk": data chunks below next_free that no entry
                            //   uses: space leaked (a warning; the kernel never reuses them)
};
inline constexpr int kNumDamageKinds = 11;
const char* DamageKindName(DamageKind kind);

enum class Severity : uint8_t { kError, kWarning };
const char* SeverityName(Severity severity);

// Where a finding is: a COW chunk, and for a table entry its area and slot.
struct DamageLocation {
  std::optional<chunk_t> chunk;
  std::optional<chunk_t> area;
  std::optional<uint32_t> slot;
};

struct Damage {
  DamageKind kind;
  DamageLocation where;
  Severity severity;
  std::string message;
};

struct InspectOptions {
  // When set, entries are also checked against the origin's size (old_chunk past its end).
  const BlockDevice* origin = nullptr;
  // Chunk size a new (magic 0) COW would get from the table; 0 means the kernel's default,
  // max(32, the COW's logical block size in sectors).
  uint32_t new_chunk_sectors = 0;
  // Decode the table of an invalidated snapshot (valid == 0) too, though the kernel does not
  // load it. Off for the checker, which compares with what the kernel loads.
  bool decode_invalid_table = false;
};

struct InspectReport {
  // The 16 header bytes as stored (zeros if chunk 0 could not be read).
  DiskHeader header{};
  bool is_new = false;  // magic 0: never used, nothing to decode
  // True when read_metadata would succeed (returning 0, or 1 for an invalidated snapshot).
  bool loadable = false;
  uint32_t chunk_sectors = 0;  // the chunk size in use (the table's for a new COW)
  uint32_t exceptions_per_area = 0;
  sector_t cow_sectors = 0;
  std::vector<DiskException> exceptions;  // on-disk order, as read_metadata delivers them
  // False when `exceptions` (and next_free, current_area) are the table of an invalidated
  // snapshot, decoded as on disk but not loaded by the kernel (decode_invalid_table).
  bool table_loaded = true;
  chunk_t next_free = 0;
  chunk_t current_area = 0;
  uint32_t current_committed = 0;  // the terminator's slot in current_area
  // Slots of current_area past the terminator that are not zero (AreaView::StaleSlots): what a
  // torn area write left behind, and what 3.7.1 would take into the table once commits reach it.
  std::vector<uint32_t> stale_slots;
  // "<allocated>/<total> <metadata>", "Invalid", or empty when the COW cannot be loaded.
  std::string status;
  std::vector<Damage> damage;

  bool has_errors() const;
};

// Decodes and checks `cow`. Never fails: problems become damage records.
InspectReport InspectCow(BlockDevice& cow, const InspectOptions& options = {});

// The number of chunks a snapshot of `origin` has with this chunk size (the last may be partial).
chunk_t SnapshotChunkCount(const BlockDevice& origin, uint32_t chunk_sectors);

// The snapshot's view of the table: old_chunk -> new_chunk. When damage maps an origin chunk
// twice, the later entry wins, so a damaged table still gives one answer.
using SnapshotTable = absl::btree_map<chunk_t, chunk_t>;
SnapshotTable SnapshotTableOf(const InspectReport& report);

// What reading the snapshot device returns for chunk `chunk`: the mapped COW chunk, else the
// origin chunk. `buffer` receives the chunk (fewer bytes for a partial last chunk).
// Returns 0 or -errno. REQUIRES: chunk < SnapshotChunkCount(origin, chunk_sectors).
int ReadSnapshotChunk(BlockDevice& origin, BlockDevice& cow, uint32_t chunk_sectors,
                      const SnapshotTable& table, chunk_t chunk, std::vector<uint8_t>& buffer);

// SHA-256 (hex) of every chunk of the snapshot image, in chunk order. FailedPrecondition when
// the COW is not loadable or the snapshot is invalid (the kernel returns EIO for every read),
// DataLoss when a read fails.
absl::StatusOr<std::vector<std::string>> SnapshotChunkSha256(BlockDevice& origin, BlockDevice& cow,
                                                             const InspectReport& report);

}  // namespace snapsim

#endif  // SNAPSIM_CORE_INSPECT_H_
