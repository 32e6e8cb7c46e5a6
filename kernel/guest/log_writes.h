// SPDX-License-Identifier: GPL-2.0-only
//
// Reading a dm-log-writes log and building a crash state from it. Shared by the guest tool
// (which rebuilds the crash images inside the VM) and the host (which rebuilds them again for the
// output directory); header-only and free of other project headers for the same reason as
// stamp.h.
//
// The log, as 6.1 writes it (observed with `dmsetup message LOG 0 mark NAME` between steps):
//  - block 0, the super: magic "rhswfsj\0" (u64 0x006a736677736872), version u64 (1),
//    nr_entries u64, sectorsize u32 (the log device's logical block size). Little endian.
//  - entries from block 1 on, in completion order. Each starts a block with four u64: sector and
//    nr_sectors of the bio in units of the log's sectorsize (not 512 bytes: a 4 KiB device logs
//    4 KiB units), flags, data_len. A mark (flag 8) keeps its name
//    (data_len bytes) in the rest of its block; a write's data (nr_sectors * sectorsize bytes)
//    fills the next blocks. The next entry starts at the next free block.
//  - flags: 1 FLUSH, 2 FUA, 4 DISCARD, 8 MARK, 16 METADATA. A FLUSH|FUA write appears as an
//    empty FLUSH entry followed by the FUA data write.
//
// The order of the log (observed on 6.1): a FLUSH or FUA write is logged when it completes; a
// plain write that completes is held back and logged just before the next FLUSH entry, or, when
// no flush follows, when the log device is removed. A mark is logged at once. So the plain writes
// logged before a FLUSH entry are exactly those that completed before that flush, and the plain
// writes logged after the last mark are those no flush ever covered.
//
// A crash state at a mark (the replay puts "crash" into the log at its crash point, does no more
// I/O on the device, and removes it):
//  - durable (the device contract, SPEC 4): the writes logged before the last FLUSH entry that
//    precedes the mark, and the FUA writes logged before the mark;
//  - completed but not durable: the plain writes logged after the mark (never flushed);
//  - fate drop: only the durable writes survive (every write a volatile cache may lose is lost);
//    fate keep: every completed write survives.
// Entries after the mark with FLUSH or FUA set, if any, come from after the crash and never
// survive.
#ifndef SNAPSIM_KERNEL_GUEST_LOG_WRITES_H_
#define SNAPSIM_KERNEL_GUEST_LOG_WRITES_H_

#include <cstdint>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

namespace snapsim::kernel {

inline constexpr uint64_t kLogMagic = 0x006a736677736872ull;
inline constexpr uint64_t kLogFlush = 1;
inline constexpr uint64_t kLogFua = 2;
inline constexpr uint64_t kLogDiscard = 4;
inline constexpr uint64_t kLogMark = 8;
// Bound on the entries of one log (a replay writes a few thousand).
inline constexpr uint64_t kMaxLogEntries = 10'000'000;

struct LogEntry {
  uint64_t sector = 0;      // 512-byte sectors (converted from the log's units)
  uint64_t nr_sectors = 0;  // 512-byte sectors
  uint64_t flags = 0;
  std::string mark;          // marks only
  uint64_t data_offset = 0;  // byte offset of the data in the log (writes only)

  bool is_write() const { return (flags & (kLogMark | kLogDiscard)) == 0 && nr_sectors > 0; }
};

// Reads `bytes` at byte `offset` of the log device; false on a failed or short read.
using LogReader = std::function<bool(uint64_t offset, void* out, size_t bytes)>;

inline uint64_t LoadLe64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

// Parses every entry. Returns "" or the problem.
inline std::string ParseLog(const LogReader& read, std::vector<LogEntry>* entries) {
  uint8_t super[32];
  if (!read(0, super, sizeof super)) return "cannot read the log's super block";
  if (LoadLe64(super) != kLogMagic) return "not a dm-log-writes log (bad magic)";
  const uint64_t count = LoadLe64(super + 16);
  const uint32_t block = static_cast<uint32_t>(LoadLe64(super + 24) & 0xffffffffu);
  if (block < 512 || block > 65536 || (block & (block - 1)) != 0) {
    return "the log's block size is not a power of two in 512..65536";
  }
  if (count > kMaxLogEntries) return "the log has too many entries";
  entries->clear();
  uint64_t at = block;  // byte offset of the next entry
  std::vector<uint8_t> buffer(block);
  for (uint64_t i = 0; i < count; ++i) {
    if (!read(at, buffer.data(), block)) return "log entry " + std::to_string(i) + " unreadable";
    LogEntry entry;
    const uint64_t per_block = block / 512;
    entry.sector = LoadLe64(buffer.data()) * per_block;
    entry.nr_sectors = LoadLe64(buffer.data() + 8) * per_block;
    entry.flags = LoadLe64(buffer.data() + 16);
    const uint64_t data_len = LoadLe64(buffer.data() + 24);
    at += block;
    if (entry.flags & kLogMark) {
      if (data_len > block - 32) return "log entry " + std::to_string(i) + ": mark too long";
      entry.mark.assign(reinterpret_cast<const char*>(buffer.data() + 32), data_len);
      while (!entry.mark.empty() && entry.mark.back() == '\0') entry.mark.pop_back();
    } else if ((entry.flags & kLogDiscard) == 0 && entry.nr_sectors > 0) {
      if (entry.nr_sectors > (uint64_t{1} << 32)) {
        return "log entry " + std::to_string(i) + ": implausible length";
      }
      entry.data_offset = at;
      at += (entry.nr_sectors * 512 + block - 1) / block * block;
    }
    entries->push_back(std::move(entry));
  }
  return "";
}

enum class LogFate { kDrop, kKeep };

// The index of the first mark called `mark`, or entries.size() when there is none.
inline size_t FindMark(const std::vector<LogEntry>& entries, const std::string& mark) {
  for (size_t i = 0; i < entries.size(); ++i) {
    if ((entries[i].flags & kLogMark) && entries[i].mark == mark) return i;
  }
  return entries.size();
}

// The writes that are on the medium after a crash at entries[cut] (a mark), in log order.
inline std::vector<size_t> SurvivingWrites(const std::vector<LogEntry>& entries, size_t cut,
                                           LogFate fate) {
  size_t last_flush = 0;  // writes logged before this index are durable
  for (size_t i = 0; i < cut && i < entries.size(); ++i) {
    if (entries[i].flags & kLogFlush) last_flush = i;
  }
  std::vector<size_t> out;
  for (size_t i = 0; i < entries.size(); ++i) {
    if (!entries[i].is_write()) continue;
    const bool fua = (entries[i].flags & kLogFua) != 0;
    if (i < cut) {
      if (i < last_flush || fua) out.push_back(i);
    } else if (fate == LogFate::kKeep && (entries[i].flags & (kLogFlush | kLogFua)) == 0) {
      out.push_back(i);
    }
  }
  return out;
}

}  // namespace snapsim::kernel

#endif  // SNAPSIM_KERNEL_GUEST_LOG_WRITES_H_
