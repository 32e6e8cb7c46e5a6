// SPDX-License-Identifier: GPL-2.0-only
#include "core/inspect.h"

#include <algorithm>
#include <cerrno>
#include <utility>

#include "absl/container/btree_map.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/area_view.h"
#include "core/chunk_size.h"
#include "core/exception_store.h"
#include "core/sha256.h"
#include "util/assert.h"
#include "util/errno_name.h"

namespace snapsim {
namespace {

// A COW of 2^64 bytes cannot hold more areas than this; the device-end check stops far sooner.
constexpr chunk_t kMaxAreas = chunk_t{1} << 48;

DamageLocation HeaderLocation() { return DamageLocation{0, std::nullopt, std::nullopt}; }
DamageLocation AreaLocationOf(chunk_t chunk, chunk_t area) {
  return DamageLocation{chunk, area, std::nullopt};
}

class Decoder {
 public:
  Decoder(BlockDevice& cow, const InspectOptions& options, InspectReport& report)
      : cow_(cow), options_(options), report_(report) {}

  void Run();

 private:
  void Add(DamageKind kind, DamageLocation where, Severity severity, std::string message) {
    report_.damage.push_back(Damage{kind, where, severity, std::move(message)});
  }
  bool ReadHeader();
  bool ReadTable();
  void CheckEntry(chunk_t area, uint32_t slot, const DiskException& e);
  void CheckUnreferenced();
  // The table of an invalidated snapshot, as on disk: the kernel loads none, so its damage is
  // only a warning and what it cannot read changes nothing.
  void DecodeUnloadedTable();
  std::string UsageStatus() const;

  BlockDevice& cow_;
  const InspectOptions& options_;
  InspectReport& report_;
  absl::btree_map<chunk_t, DamageLocation> seen_old_;
  absl::btree_map<chunk_t, DamageLocation> seen_new_;
};

bool Decoder::ReadHeader() {
  // One logical block: a 4 KiB-sector device takes no smaller I/O.
  const uint32_t block_sectors = std::max<uint32_t>(1, cow_.logical_block_size() >> kSectorShift);
  std::vector<uint8_t> sector(size_t{block_sectors} << kSectorShift);
  const int r = cow_.size_sectors() < block_sectors
                    ? -EIO
                    : SyncIo(cow_, BioOp::kRead, 0, block_sectors, sector.data());
  if (r != 0) {
    Add(DamageKind::kHeaderUnreadable, HeaderLocation(), Severity::kError,
        absl::StrCat("cannot read the header: ", ErrorText(r)));
    return false;
  }
  report_.header = DecodeHeader(sector.data());
  const DiskHeader& h = report_.header;
  const uint32_t block_bytes = cow_.logical_block_size();
  if (h.magic == 0) {
    report_.is_new = true;
    report_.loadable = true;
    report_.chunk_sectors = options_.new_chunk_sectors != 0
                                ? options_.new_chunk_sectors
                                : std::max(kDefaultChunkSectors, block_bytes >> kSectorShift);
    report_.exceptions_per_area = ExceptionsPerArea(report_.chunk_sectors);
    return false;
  }
  if (h.magic != kSnapMagic) {
    Add(DamageKind::kBadMagic, HeaderLocation(), Severity::kError,
        absl::StrFormat("bad magic 0x%08x (expected 0x%08x \"SnAp\")", h.magic, kSnapMagic));
    return false;
  }
  // read_header's check, against the origin's block size too when the origin is given.
  const uint32_t origin_block_bytes =
      options_.origin != nullptr ? options_.origin->logical_block_size() : block_bytes;
  const char* chunk_error = nullptr;
  if (ValidateChunkSize(h.chunk_size, origin_block_bytes, block_bytes, &chunk_error) != 0) {
    Add(DamageKind::kInvalidChunkSize, HeaderLocation(), Severity::kError,
        absl::StrFormat("invalid on-disk chunk size %u: %s (logical block size: COW %u%s bytes)",
                        h.chunk_size, chunk_error, block_bytes,
                        options_.origin != nullptr
                            ? absl::StrFormat(", origin %u", origin_block_bytes)
                            : std::string()));
    return false;
  }
  report_.chunk_sectors = h.chunk_size;
  report_.exceptions_per_area = ExceptionsPerArea(h.chunk_size);
  if (h.version != kSnapshotDiskVersion) {
    Add(DamageKind::kBadVersion, HeaderLocation(), Severity::kError,
        absl::StrCat("unable to handle snapshot disk version ", h.version));
    return false;
  }
  report_.loadable = true;
  return h.valid != 0;
}

void Decoder::CheckEntry(chunk_t area, uint32_t slot, const DiskException& e) {
  const DamageLocation where{e.new_chunk, area, slot};
  const uint32_t c = report_.chunk_sectors;
  if (IsMetadataChunk(report_.exceptions_per_area, e.new_chunk)) {
    Add(DamageKind::kNewChunkIsMetadata, where, Severity::kError,
        absl::StrCat("area ", area, " slot ", slot, ": new_chunk ", e.new_chunk,
                     " is a metadata chunk"));
  }
  if (e.new_chunk >= report_.cow_sectors / c) {
    Add(DamageKind::kNewChunkPastCowEnd, where, Severity::kError,
        absl::StrCat("area ", area, " slot ", slot, ": new_chunk ", e.new_chunk,
                     " is past the COW's end (", report_.cow_sectors / c, " whole chunks)"));
  }
  if (options_.origin != nullptr) {
    const chunk_t origin_chunks = SnapshotChunkCount(*options_.origin, c);
    if (e.old_chunk >= origin_chunks) {
      Add(DamageKind::kOldChunkPastOriginEnd, where, Severity::kWarning,
          absl::StrCat("area ", area, " slot ", slot, ": old_chunk ", e.old_chunk,
                       " is past the origin's end (", origin_chunks, " chunks)"));
    }
  }
  if (auto [it, inserted] = seen_old_.try_emplace(e.old_chunk, where); !inserted) {
    Add(DamageKind::kOriginChunkMappedTwice, where, Severity::kError,
        absl::StrCat("area ", area, " slot ", slot, ": origin chunk ", e.old_chunk,
                     " is already mapped by area ", *it->second.area, " slot ", *it->second.slot));
  }
  if (auto [it, inserted] = seen_new_.try_emplace(e.new_chunk, where); !inserted) {
    Add(DamageKind::kCowChunkUsedTwice, where, Severity::kError,
        absl::StrCat("area ", area, " slot ", slot, ": COW chunk ", e.new_chunk,
                     " is already used by area ", *it->second.area, " slot ", *it->second.slot));
  }
}

bool Decoder::ReadTable() {
  const uint32_t c = report_.chunk_sectors;
  const uint32_t e_per_area = report_.exceptions_per_area;
  // Allocated once an area is known to lie inside the device: a forged chunk size on a small
  // image must not cost its size in memory.
  std::vector<uint8_t> area_buffer;
  report_.next_free = kNumSnapshotHeaderChunks + 1;
  for (chunk_t area = 0;; ++area) {
    SNAPSIM_ASSERT(area < kMaxAreas);
    report_.current_area = area;
    const chunk_t location = AreaLocation(e_per_area, area);
    if (location >= report_.cow_sectors / c) {
      Add(DamageKind::kAreaUnreadable, AreaLocationOf(location, area), Severity::kError,
          absl::StrCat("metadata area ", area, " (chunk ", location,
                       ") is past the COW's end: the previous area is full"));
      return false;
    }
    if (area_buffer.empty()) area_buffer.resize(uint64_t{c} << kSectorShift);
    const int r = SyncIo(cow_, BioOp::kRead, location * c, c, area_buffer.data());
    if (r != 0) {
      Add(DamageKind::kAreaUnreadable, AreaLocationOf(location, area), Severity::kError,
          absl::StrCat("cannot read metadata area ", area, " (chunk ", location,
                       "): ", ErrorText(r)));
      return false;
    }
    const AreaView view(area_buffer.data(), e_per_area);
    for (uint32_t slot = 0; slot < view.entry_count(); ++slot) {
      const DiskException e = view.entry(slot);
      report_.next_free = std::max(report_.next_free, e.new_chunk + 1);
      CheckEntry(area, slot, e);
      report_.exceptions.push_back(e);
    }
    if (!view.full()) {
      report_.current_committed = view.terminator_slot();
      report_.stale_slots = view.StaleSlots();
      CheckUnreferenced();
      return true;
    }
  }
}

// Data chunks below next_free that no entry uses. The kernel hands out chunks only upwards from
// next_free, so such a chunk is never used again: after a crash it is space leaked (3.7.1 commits
// exceptions in completion order, so a durable area can name a chunk above others still copying).
void Decoder::CheckUnreferenced() {
  const uint32_t e_per_area = report_.exceptions_per_area;
  chunk_t unreferenced = 0;
  std::optional<chunk_t> first;
  chunk_t next_expected = kNumSnapshotHeaderChunks + 1;  // the first data chunk of area 0
  // seen_new_ is ordered: the gaps between consecutive used chunks are what nobody uses.
  for (const auto& [chunk, where] : seen_new_) {
    if (chunk >= report_.next_free) break;
    if (chunk > next_expected) {
      const chunk_t gap = DataChunksBetween(e_per_area, next_expected, chunk);
      if (gap > 0 && !first) first = FirstDataChunkFrom(e_per_area, next_expected);
      unreferenced += gap;
    }
    next_expected = std::max(next_expected, chunk + 1);
  }
  if (unreferenced == 0) return;
  Add(DamageKind::kUnreferencedChunk, DamageLocation{*first, std::nullopt, std::nullopt},
      Severity::kWarning,
      absl::StrCat(unreferenced, " data chunk", unreferenced == 1 ? "" : "s", " below next_free ",
                   report_.next_free, " (first: chunk ", *first, ") ",
                   unreferenced == 1 ? "holds" : "hold", " no exception: space leaked"));
}

void Decoder::DecodeUnloadedTable() {
  report_.table_loaded = false;
  const size_t first_damage = report_.damage.size();
  ReadTable();
  for (size_t i = first_damage; i < report_.damage.size(); ++i) {
    Damage& d = report_.damage[i];
    d.severity = Severity::kWarning;
    d.message = absl::StrCat("on disk, not loaded by the kernel: ", d.message);
  }
}

std::string Decoder::UsageStatus() const {
  const uint32_t c = report_.chunk_sectors;
  return UsageStatusLine(report_.cow_sectors, AllocatedSectors(c, report_.next_free),
                         MetadataSectors(c, report_.current_area));
}

void Decoder::Run() {
  report_.cow_sectors = cow_.size_sectors();
  const bool load_table = ReadHeader();
  if (report_.is_new) {
    // What a fresh store reports: header and area 0 allocated.
    report_.next_free = kNumSnapshotHeaderChunks + 1;
    report_.current_area = 0;
    report_.status = UsageStatus();
    return;
  }
  if (!report_.loadable) return;
  if (!load_table) {
    report_.status = "Invalid";
    if (options_.decode_invalid_table) DecodeUnloadedTable();
    return;
  }
  if (!ReadTable()) {
    report_.loadable = false;
    return;
  }
  report_.status = UsageStatus();
}

}  // namespace

const char* DamageKindName(DamageKind kind) {
  switch (kind) {
    case DamageKind::kHeaderUnreadable:
      return "header_unreadable";
    case DamageKind::kBadMagic:
      return "bad_magic";
    case DamageKind::kBadVersion:
      return "bad_version";
    case DamageKind::kInvalidChunkSize:
      return "invalid_chunk_size";
    case DamageKind::kAreaUnreadable:
      return "area_unreadable";
    case DamageKind::kNewChunkIsMetadata:
      return "new_chunk_is_metadata";
    case DamageKind::kNewChunkPastCowEnd:
      return "new_chunk_past_cow_end";
    case DamageKind::kOriginChunkMappedTwice:
      return "origin_chunk_mapped_twice";
    case DamageKind::kCowChunkUsedTwice:
      return "cow_chunk_used_twice";
    case DamageKind::kOldChunkPastOriginEnd:
      return "old_chunk_past_origin_end";
    case DamageKind::kUnreferencedChunk:
      return "unreferenced_chunk";
  }
  return "unknown";
}

const char* SeverityName(Severity severity) {
  return severity == Severity::kError ? "error" : "warning";
}

bool InspectReport::has_errors() const {
  return std::any_of(damage.begin(), damage.end(),
                     [](const Damage& d) { return d.severity == Severity::kError; });
}

InspectReport InspectCow(BlockDevice& cow, const InspectOptions& options) {
  InspectReport report;
  Decoder(cow, options, report).Run();
  return report;
}

chunk_t SnapshotChunkCount(const BlockDevice& origin, uint32_t chunk_sectors) {
  SNAPSIM_ASSERT(chunk_sectors != 0);
  return (origin.size_sectors() + chunk_sectors - 1) / chunk_sectors;
}

SnapshotTable SnapshotTableOf(const InspectReport& report) {
  SnapshotTable table;
  for (const DiskException& e : report.exceptions) table[e.old_chunk] = e.new_chunk;
  return table;
}

int ReadSnapshotChunk(BlockDevice& origin, BlockDevice& cow, uint32_t chunk_sectors,
                      const SnapshotTable& table, chunk_t chunk, std::vector<uint8_t>& buffer) {
  SNAPSIM_ASSERT(chunk < SnapshotChunkCount(origin, chunk_sectors));
  // The snapshot is as long as the origin, so its last chunk may be partial.
  const sector_t first = chunk * chunk_sectors;
  const auto count =
      static_cast<uint32_t>(std::min<sector_t>(chunk_sectors, origin.size_sectors() - first));
  buffer.resize(uint64_t{count} << kSectorShift);
  const auto it = table.find(chunk);
  if (it == table.end()) return SyncIo(origin, BioOp::kRead, first, count, buffer.data());
  return SyncIo(cow, BioOp::kRead, it->second * chunk_sectors, count, buffer.data());
}

absl::StatusOr<std::vector<std::string>> SnapshotChunkSha256(BlockDevice& origin, BlockDevice& cow,
                                                             const InspectReport& report) {
  if (!report.loadable) {
    return absl::FailedPreconditionError("the COW cannot be loaded");
  }
  if (!report.is_new && report.header.valid == 0) {
    return absl::FailedPreconditionError("the snapshot is invalid: every read fails");
  }
  const SnapshotTable table = SnapshotTableOf(report);
  const chunk_t chunks = SnapshotChunkCount(origin, report.chunk_sectors);
  std::vector<std::string> hashes;
  hashes.reserve(chunks);
  std::vector<uint8_t> buffer;
  for (chunk_t chunk = 0; chunk < chunks; ++chunk) {
    const int r = ReadSnapshotChunk(origin, cow, report.chunk_sectors, table, chunk, buffer);
    if (r != 0) {
      return absl::DataLossError(
          absl::StrCat("cannot read snapshot chunk ", chunk, ": ", ErrorText(r)));
    }
    hashes.push_back(Sha256Hex(buffer));
  }
  return hashes;
}

}  // namespace snapsim
