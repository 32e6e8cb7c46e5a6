// SPDX-License-Identifier: GPL-2.0-only
//
// The crash model: at a power cut, each non-durable write of a device (completed into the
// volatile cache but not yet flushed, or still in flight) meets one fate: it landed whole
// (kKeep), never landed (kDrop), or landed on a subset of its sectors (kTear; sectors are atomic
// within the contract). Beyond the contract, one sector of a landed or torn write may land only
// part of its bytes (a sub-sector tear): a prefix, a suffix or a run in the middle, in 8-byte
// units.
//
// Writes are listed in the order they would reach the medium (completion order, then in-flight
// writes in submission order); fates are applied in that order, so a later kept write wins over
// an earlier one on the sectors they share.
//
// Two forms: DrawFates() picks fates from the crash stream with the profile's weights (random
// exploration); CrashEnumerator lists every fate combination of a small set of writes (the
// exhaustive explorer).
#ifndef SNAPSIM_SIM_WORLD_CRASH_H_
#define SNAPSIM_SIM_WORLD_CRASH_H_

#include <cstdint>
#include <vector>

#include "core/format.h"
#include "sim/world/fault_profile.h"
#include "sim/world/prng.h"

namespace snapsim {

// A write that a crash may lose.
struct CachedWrite {
  uint64_t write_id = 0;  // the device's I/O id (1-based, in submission order)
  sector_t sector = 0;    // where it lands (after a misdirection, if any)
  uint32_t sector_count = 0;
  uint64_t epoch = 0;      // FLUSHes submitted on the device before it completed: the first
                           // FLUSH submitted after it (number `epoch`, 0-based) makes it durable
  bool in_flight = false;  // submitted, not completed, at the crash
};

enum class Fate : uint8_t { kKeep, kDrop, kTear };

// Which part of a sector a sub-sector tear lands.
enum class TearShape : uint8_t { kPrefix, kSuffix, kMiddle };
const char* TearShapeName(TearShape shape);

struct WriteFate {
  Fate fate = Fate::kDrop;
  std::vector<bool> landed;  // kTear only: one flag per sector of the write
  // Beyond contract: the sector (index within the write) that lands only its bytes
  // [partial_offset, partial_offset + partial_bytes); partial_bytes == 0 means none.
  // 0 < partial_bytes < 512 and the run lies within the sector.
  uint32_t partial_sector = 0;
  uint32_t partial_bytes = 0;
  uint32_t partial_offset = 0;

  static WriteFate Keep() { return WriteFate{Fate::kKeep, {}, 0, 0}; }
  static WriteFate Drop() { return WriteFate{Fate::kDrop, {}, 0, 0}; }
  static WriteFate Tear(std::vector<bool> landed) {
    return WriteFate{Fate::kTear, std::move(landed), 0, 0};
  }
  bool beyond_contract() const { return partial_bytes != 0; }
  // REQUIRES: beyond_contract().
  TearShape partial_shape() const {
    if (partial_offset == 0) return TearShape::kPrefix;
    return partial_offset + partial_bytes == kSectorSize ? TearShape::kSuffix : TearShape::kMiddle;
  }
};

// Beyond contract: `content` (one sector as it was before the write) takes the bytes of
// `new_content` that `fate`'s sub-sector tear lands. REQUIRES: fate.beyond_contract().
void LandPartialSector(const WriteFate& fate, const uint8_t* new_content, uint8_t* content);

// Whether `fate` is well formed for `write`.
bool FateFits(const WriteFate& fate, const CachedWrite& write);

// One fate per write, drawn with the profile's crash weights and sub-sector tear ratio (when the
// ratio fires: the sector, the shape, then the run's bounds, 8-byte aligned).
std::vector<WriteFate> DrawFates(const std::vector<CachedWrite>& writes,
                                 const FaultProfile& profile, Prng& crash_prng);

// Every combination of fates of a few writes, by index: with tears off each write is kept or
// dropped (2^n states); with tears on each write lands any subset of its sectors.
class CrashEnumerator {
 public:
  static constexpr uint64_t kMaxCrashStates = uint64_t{1} << 20;
  static constexpr uint32_t kMaxTornSectors = 8;  // wider writes only keep or drop

  CrashEnumerator(const std::vector<CachedWrite>& writes, bool include_tears);

  // Number of crash states, or 0 if it would exceed kMaxCrashStates.
  uint64_t count() const { return count_; }
  // REQUIRES: index < count().
  std::vector<WriteFate> At(uint64_t index) const;

 private:
  std::vector<uint32_t> sector_counts_;
  std::vector<uint64_t> radix_;
  uint64_t count_ = 1;
};

}  // namespace snapsim

#endif  // SNAPSIM_SIM_WORLD_CRASH_H_
