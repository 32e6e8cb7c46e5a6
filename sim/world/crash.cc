// SPDX-License-Identifier: GPL-2.0-only
#include "sim/world/crash.h"

#include <array>
#include <cstring>

#include "util/assert.h"

namespace snapsim {

const char* TearShapeName(TearShape shape) {
  switch (shape) {
    case TearShape::kPrefix:
      return "prefix";
    case TearShape::kSuffix:
      return "suffix";
    case TearShape::kMiddle:
      return "middle";
  }
  return "?";
}

void LandPartialSector(const WriteFate& fate, const uint8_t* new_content, uint8_t* content) {
  SNAPSIM_ASSERT(fate.partial_bytes != 0 &&
                 fate.partial_offset + fate.partial_bytes <= kSectorSize);
  std::memcpy(content + fate.partial_offset, new_content + fate.partial_offset, fate.partial_bytes);
}

bool FateFits(const WriteFate& fate, const CachedWrite& write) {
  if (fate.fate == Fate::kTear && fate.landed.size() != write.sector_count) return false;
  if (fate.fate != Fate::kTear && !fate.landed.empty()) return false;
  if (fate.partial_bytes != 0) {
    if (fate.fate == Fate::kDrop) return false;
    if (fate.partial_sector >= write.sector_count || fate.partial_bytes >= kSectorSize ||
        fate.partial_offset >= kSectorSize ||
        fate.partial_offset + fate.partial_bytes > kSectorSize) {
      return false;
    }
  } else if (fate.partial_offset != 0) {
    return false;
  }
  return true;
}

std::vector<WriteFate> DrawFates(const std::vector<CachedWrite>& writes,
                                 const FaultProfile& profile, Prng& crash_prng) {
  const std::array<uint32_t, 3> weights = {profile.crash_keep_weight, profile.crash_drop_weight,
                                           profile.crash_tear_weight};
  std::vector<WriteFate> fates;
  fates.reserve(writes.size());
  for (const CachedWrite& write : writes) {
    WriteFate fate;
    switch (crash_prng.WeightedIndex(weights)) {
      case 0:
        fate = WriteFate::Keep();
        break;
      case 1:
        fate = WriteFate::Drop();
        break;
      default: {
        std::vector<bool> landed(write.sector_count);
        for (uint32_t i = 0; i < write.sector_count; ++i) landed[i] = crash_prng.Chance({1, 2});
        fate = WriteFate::Tear(std::move(landed));
        break;
      }
    }
    if (fate.fate != Fate::kDrop && crash_prng.Chance(profile.subsector_tear)) {
      // In 8-byte units, 64 to a sector; a tear lands at least one unit and leaves at least one.
      constexpr uint64_t kUnits = kSectorSize / 8;
      fate.partial_sector = static_cast<uint32_t>(crash_prng.UintLessThan(write.sector_count));
      uint64_t first = 0;
      uint64_t units = 0;
      switch (static_cast<TearShape>(crash_prng.UintLessThan(3))) {
        case TearShape::kPrefix:
          units = crash_prng.UintInclusive(1, kUnits - 1);
          break;
        case TearShape::kSuffix:
          units = crash_prng.UintInclusive(1, kUnits - 1);
          first = kUnits - units;
          break;
        case TearShape::kMiddle: {
          first = crash_prng.UintInclusive(1, kUnits - 2);
          const uint64_t last = crash_prng.UintInclusive(first, kUnits - 2);
          units = last - first + 1;
          break;
        }
      }
      fate.partial_offset = static_cast<uint32_t>(8 * first);
      fate.partial_bytes = static_cast<uint32_t>(8 * units);
    }
    SNAPSIM_ASSERT(FateFits(fate, write));
    fates.push_back(std::move(fate));
  }
  return fates;
}

CrashEnumerator::CrashEnumerator(const std::vector<CachedWrite>& writes, bool include_tears) {
  for (const CachedWrite& write : writes) {
    const bool tear =
        include_tears && write.sector_count > 1 && write.sector_count <= kMaxTornSectors;
    const uint64_t radix = tear ? uint64_t{1} << write.sector_count : 2;
    sector_counts_.push_back(write.sector_count);
    radix_.push_back(radix);
    if (count_ > kMaxCrashStates / radix) {
      count_ = 0;
      return;
    }
    count_ *= radix;
  }
}

std::vector<WriteFate> CrashEnumerator::At(uint64_t index) const {
  SNAPSIM_ASSERT(index < count_);
  std::vector<WriteFate> fates;
  fates.reserve(radix_.size());
  for (size_t i = 0; i < radix_.size(); ++i) {
    const uint64_t digit = index % radix_[i];
    index /= radix_[i];
    if (radix_[i] == 2) {
      fates.push_back(digit ? WriteFate::Keep() : WriteFate::Drop());
    } else if (digit == 0) {
      fates.push_back(WriteFate::Drop());
    } else if (digit == radix_[i] - 1) {
      fates.push_back(WriteFate::Keep());
    } else {
      std::vector<bool> landed(sector_counts_[i]);
      for (uint32_t s = 0; s < sector_counts_[i]; ++s) landed[s] = (digit >> s) & 1;
      fates.push_back(WriteFate::Tear(std::move(landed)));
    }
  }
  return fates;
}

}  // namespace snapsim
