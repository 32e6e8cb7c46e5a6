// SPDX-License-Identifier: GPL-2.0-only
#include "sim/workload/stamp.h"

#include <cstring>
#include <memory>
#include <vector>

#include "sim/world/prng.h"

namespace snapsim {
namespace {

constexpr uint8_t kMagic[4] = {'S', 'S', 'I', 'M'};
constexpr uint32_t kCheckOffset = 24;
constexpr uint32_t kFillerOffset = 32;
constexpr uint32_t kWords = kSectorSize / 8;

void PutLe64(uint8_t* p, uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}
uint64_t GetLe64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= uint64_t{p[i]} << (8 * i);
  return v;
}
uint32_t GetLe32(const uint8_t* p) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= uint32_t{p[i]} << (8 * i);
  return v;
}

uint64_t FillerSeed(uint32_t device, sector_t sector, uint64_t write_id) {
  return Mix64(Mix64(write_id) ^ Mix64(sector + 0x51ed270b27e5b1a3ULL) ^ device);
}

// Filler word i of a stamp: a cheap bijective mix of (seed, i).
uint64_t FillerWord(uint64_t seed, uint32_t i) {
  uint64_t x = seed + (i + 1) * 0x9e3779b97f4a7c15ULL;
  x ^= x >> 32;
  x *= 0xd6e8feb86659fd93ULL;
  return x ^ (x >> 32);
}

// The check word: derived from the header alone, like the filler. With every filler word and the
// check word derived from (device, sector, write id), a sector decodes only if all 64 of its words
// agree with its header, so a flipped byte anywhere or a mix of two stamps is caught without a
// second pass over the bytes.
uint64_t CheckWord(uint64_t seed) { return Mix64(seed ^ 0x243f6a8885a308d3ULL); }

}  // namespace

void FillStampedSector(const Stamp& stamp, uint8_t* out) {
  const uint64_t seed = FillerSeed(stamp.device, stamp.sector, stamp.write_id);
  PutLe64(out, uint64_t{GetLe32(kMagic)} | uint64_t{stamp.device} << 32);
  PutLe64(out + 8, stamp.sector);
  PutLe64(out + 16, stamp.write_id);
  PutLe64(out + kCheckOffset, CheckWord(seed));
  for (uint32_t w = kFillerOffset / 8; w < kWords; ++w) PutLe64(out + w * 8, FillerWord(seed, w));
}

namespace {

// The header of a sector that may be a stamp, and its filler seed; nullopt if the magic or the
// check word says it is not one.
struct StampHeader {
  Stamp stamp;
  uint64_t seed;
};
std::optional<StampHeader> DecodeStampHeader(const uint8_t* sector) {
  if (std::memcmp(sector, kMagic, 4) != 0) return std::nullopt;
  Stamp stamp{GetLe32(sector + 4), GetLe64(sector + 8), GetLe64(sector + 16)};
  const uint64_t seed = FillerSeed(stamp.device, stamp.sector, stamp.write_id);
  if (GetLe64(sector + kCheckOffset) != CheckWord(seed)) return std::nullopt;
  return StampHeader{stamp, seed};
}

}  // namespace

std::optional<Stamp> DecodeStamp(const uint8_t* sector) {
  std::optional<StampHeader> header = DecodeStampHeader(sector);
  if (!header) return std::nullopt;
  // Compare every filler word without an early exit: the loop has no branch to mispredict.
  uint64_t differs = 0;
  for (uint32_t w = kFillerOffset / 8; w < kWords; ++w) {
    differs |= GetLe64(sector + w * 8) ^ FillerWord(header->seed, w);
  }
  if (differs != 0) return std::nullopt;
  return header->stamp;
}

struct StampDecoder::Memo {
  static constexpr size_t kSlots = 256;  // 128 KiB: more than the stamps one check reads
  struct Slot {
    bool filled = false;
    uint64_t seed = 0;
    uint8_t filler[kSectorSize - kFillerOffset];
  };
  std::vector<Slot> slots = std::vector<Slot>(kSlots);
};

StampDecoder::Memo& StampDecoder::memo() const {
  if (memo_ == nullptr) memo_ = std::make_shared<Memo>();
  return *memo_;
}

StampDecoder StampDecoder::Share() const {
  memo();
  return *this;
}

std::optional<Stamp> StampDecoder::Decode(const uint8_t* sector) const {
  std::optional<StampHeader> header = DecodeStampHeader(sector);
  if (!header) return std::nullopt;
  Memo::Slot& slot = memo().slots[header->seed % Memo::kSlots];
  if (!slot.filled || slot.seed != header->seed) {
    for (uint32_t w = kFillerOffset / 8; w < kWords; ++w) {
      PutLe64(slot.filler + (w * 8 - kFillerOffset), FillerWord(header->seed, w));
    }
    slot.seed = header->seed;
    slot.filled = true;
  }
  if (std::memcmp(sector + kFillerOffset, slot.filler, sizeof(slot.filler)) != 0) {
    return std::nullopt;
  }
  return header->stamp;
}

Stamp InitialOriginStamp(sector_t sector) { return Stamp{kStampDeviceOrigin, sector, 0}; }

namespace {

// Never-written origin sectors are generated again at every read (each check read of each crash
// state reads them). A direct-mapped memo of generated sectors, shared by every copy of one
// generator (so by every crash image of a run), turns most of that into a copy. It only caches
// what FillStampedSector gives, so it changes no byte and decides nothing.
class InitialContentMemo {
 public:
  void Fill(sector_t sector, uint8_t* out) {
    // Only generators that are read pay for the slots, and not for zeroing their bytes.
    if (slots_ == nullptr) slots_ = std::unique_ptr<Slot[]>(new Slot[kSlots]);
    Slot& slot = slots_[sector % kSlots];
    if (!slot.filled || slot.sector != sector) {
      FillStampedSector(InitialOriginStamp(sector), slot.bytes);
      slot.sector = sector;
      slot.filled = true;
    }
    std::memcpy(out, slot.bytes, kSectorSize);
  }

 private:
  static constexpr size_t kSlots = 1024;  // 512 KiB
  struct Slot {
    bool filled = false;
    sector_t sector = 0;
    uint8_t bytes[kSectorSize];  // valid once filled
  };
  std::unique_ptr<Slot[]> slots_;
};

}  // namespace

SectorGenerator InitialOriginContent() {
  auto memo = std::make_shared<InitialContentMemo>();
  return [memo](sector_t sector, uint8_t* out) { memo->Fill(sector, out); };
}

}  // namespace snapsim
