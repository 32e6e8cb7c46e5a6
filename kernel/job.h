// SPDX-License-Identifier: GPL-2.0-only
//
// Job scripts for the guest (busybox sh), and the content checks of what the guest read back.
//
// Every script starts with the same helpers: `say` prints a "SNAPSIM ..." line the host parses;
// `activate ORIGIN COW PHASE` creates the origin target `o` and the snapshot `s` on two devices
// and then suspends and resumes the origin, as lvcreate does (the origin target takes its split
// size, the chunk size, only when it is resumed: a write spanning two small chunks would
// otherwise copy only the first); `reload PHASE` deactivates the snapshot and activates it
// again from disk; `status PHASE` prints `dmsetup status s`. The host reads
//   SNAPSIM activated PHASE ok|rejected
//   SNAPSIM status PHASE <the target's status line>
#ifndef SNAPSIM_KERNEL_JOB_H_
#define SNAPSIM_KERNEL_JOB_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"

namespace snapsim::kernel {

// The shell helpers above, for an origin of `origin_sectors` and chunks of `chunk_sectors`.
std::string JobPrelude(uint64_t origin_sectors, uint32_t chunk_sectors);

// What the guest said about PHASE: activation ("ok", "rejected", or "" when not reported) and
// the status line without its "0 <len> snapshot " prefix ("Invalid", "16/1024 8", ...).
struct PhaseReport {
  std::string activation;
  std::string status;
};
PhaseReport ReadPhase(const std::string& transcript, const std::string& phase);

// A file of `bytes` bytes: zeros, or every sector stamped "initial" (stamp.h). Never overwrites.
absl::Status CreateZeroImage(const std::string& path, uint64_t bytes);
absl::Status CreateStampedImage(const std::string& path, uint64_t sectors);
absl::Status CopyImage(const std::string& from, const std::string& to);

// A sector as the host understands it: the stamp (tag and sector) it carries, or none.
struct SectorStamp {
  std::string tag;
  uint64_t sector = 0;
};
std::optional<SectorStamp> ReadStamp(const uint8_t* sector_bytes);

// What a device read back (a dump of `sectors` sectors) may hold, sector by sector: the data a
// write through the same device (`own`: "o" origin, "s" snapshot; tags "<own><step>") put at that
// very sector, or the "initial" stamp of that sector (the origin when the snapshot was made).
// Anything else is wrong: another device's write, a write's data at another sector,
// a torn mixture, metadata or zeros; with `initial_known` false, content without a stamp is not
// judged (it is data the simulator wrote). Returns one line per chunk with wrong data (at most
// `max_lines`, then a count).
struct DumpVerdict {
  uint64_t wrong_sectors = 0;
  uint64_t wrong_chunks = 0;
  std::vector<std::string> lines;
};
DumpVerdict CheckDump(const std::string& dump_path, uint64_t sectors, uint32_t chunk_sectors,
                      const std::string& own, bool initial_known, size_t max_lines = 5);

}  // namespace snapsim::kernel

#endif  // SNAPSIM_KERNEL_JOB_H_
