// SPDX-License-Identifier: GPL-2.0-only
//
// Stamp: a self-describing 512-byte sector, so a sector read back says who wrote it.
//
// Layout (little-endian):
//   [0, 4)    magic "SSIM"
//   [4, 8)    device: 0 origin, 1 snapshot, 2.. special writers
//   [8, 16)   sector the writer meant it for
//   [16, 24)  write id (0: the origin's initial content)
//   [24, 32)  check word derived from (device, sector, write id)
//   [32, 512) filler derived from (device, sector, write id)
//
// Contract: DecodeStamp returns the stamp only if the magic, the check word and every filler word
// agree with the header, so a torn (mixed), corrupted or non-stamp sector yields nullopt (a
// changed header word changes what every other word must be), and a misdirected one decodes with
// a sector number different from where it was read.
#ifndef SNAPSIM_SIM_WORKLOAD_STAMP_H_
#define SNAPSIM_SIM_WORKLOAD_STAMP_H_

#include <cstdint>
#include <memory>
#include <optional>

#include "core/format.h"
#include "sim/world/page_store.h"

namespace snapsim {

inline constexpr uint32_t kStampDeviceOrigin = 0;
inline constexpr uint32_t kStampDeviceSnapshot = 1;
inline constexpr uint32_t kStampDeviceSpecial = 2;

struct Stamp {
  uint32_t device = kStampDeviceOrigin;
  sector_t sector = 0;
  uint64_t write_id = 0;
  friend bool operator==(const Stamp&, const Stamp&) = default;
};

// Writes the 512-byte stamped sector for `stamp` into out.
void FillStampedSector(const Stamp& stamp, uint8_t* out);
// The stamp held by a 512-byte sector, or nullopt if it is not an intact stamp.
std::optional<Stamp> DecodeStamp(const uint8_t* sector);

// DecodeStamp with a memo of the filler expected of recently decoded stamps: the same answers,
// a compare of 480 bytes instead of generating 60 words again. The checker decodes the same few
// stamps over and over (every crash state of a point reads the same sectors); Share() hands the
// memo to another decoder, so a scratch check can use its parent's. The memo only caches what
// FillStampedSector gives: it changes no answer and decides nothing.
class StampDecoder {
 public:
  std::optional<Stamp> Decode(const uint8_t* sector) const;
  // A decoder sharing this one's memo (made now if it was not yet: a decoder that never decodes
  // costs nothing, and the explorer builds one per crash state).
  StampDecoder Share() const;

 private:
  struct Memo;
  Memo& memo() const;
  mutable std::shared_ptr<Memo> memo_;
};

// The origin's point-in-time content before any write: sector s holds {origin, s, write id 0}.
Stamp InitialOriginStamp(sector_t sector);
SectorGenerator InitialOriginContent();

}  // namespace snapsim

#endif  // SNAPSIM_SIM_WORKLOAD_STAMP_H_
