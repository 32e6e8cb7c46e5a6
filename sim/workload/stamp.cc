// SPDX-License-Identifier: GPL-2.0-only
#include "sim/workload/stamp.h"

#include <cstring>

#include "sim/world/prng.h"

namespace snapsim {
namespace {

constexpr uint8_t kMagic[4] = {'S', 'S', 'I', 'M'};
constexpr uint32_t kChecksumOffset = 24;
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

// A 64-bit word hash in four independent FNV-style lanes (word i feeds lane i % 4, for speed),
// folded with Mix64; the checksum word counts as zero.
class ChecksumLanes {
 public:
  void Add(uint32_t word_index, uint64_t word) {
    uint64_t& lane = lanes_[word_index % 4];
    lane = (lane ^ word) * 0x100000001b3ULL;
    lane ^= lane >> 29;
  }
  uint64_t Finish() const {
    return Mix64(lanes_[0] ^ Mix64(lanes_[1] ^ Mix64(lanes_[2] ^ Mix64(lanes_[3]))));
  }

 private:
  uint64_t lanes_[4] = {0xcbf29ce484222325ULL, 0x84222325cbf29ce4ULL, 0x9e3779b97f4a7c15ULL,
                        0x100000001b3ULL};
};

uint64_t SectorChecksum(const uint8_t* sector) {
  ChecksumLanes lanes;
  for (uint32_t w = 0; w < kWords; ++w) {
    lanes.Add(w, w == kChecksumOffset / 8 ? 0 : GetLe64(sector + w * 8));
  }
  return lanes.Finish();
}

}  // namespace

void FillStampedSector(const Stamp& stamp, uint8_t* out) {
  // Words are built in registers and hashed as they are made (this runs for every never-written
  // origin sector read), then stored little-endian.
  uint64_t words[kWords];
  words[0] = uint64_t{GetLe32(kMagic)} | uint64_t{stamp.device} << 32;
  words[1] = stamp.sector;
  words[2] = stamp.write_id;
  words[3] = 0;
  const uint64_t seed = FillerSeed(stamp.device, stamp.sector, stamp.write_id);
  for (uint32_t w = kFillerOffset / 8; w < kWords; ++w) words[w] = FillerWord(seed, w);
  ChecksumLanes lanes;
  for (uint32_t w = 0; w < kWords; ++w) lanes.Add(w, words[w]);
  words[kChecksumOffset / 8] = lanes.Finish();
  for (uint32_t w = 0; w < kWords; ++w) PutLe64(out + w * 8, words[w]);
}

std::optional<Stamp> DecodeStamp(const uint8_t* sector) {
  if (std::memcmp(sector, kMagic, 4) != 0) return std::nullopt;
  if (GetLe64(sector + kChecksumOffset) != SectorChecksum(sector)) return std::nullopt;
  Stamp stamp{GetLe32(sector + 4), GetLe64(sector + 8), GetLe64(sector + 16)};
  // The filler must be the one the header derives (catches a forged or mixed sector whose
  // checksum happens to match).
  const uint64_t seed = FillerSeed(stamp.device, stamp.sector, stamp.write_id);
  for (uint32_t off = kFillerOffset; off < kSectorSize; off += 8) {
    if (GetLe64(sector + off) != FillerWord(seed, off / 8)) return std::nullopt;
  }
  return stamp;
}

Stamp InitialOriginStamp(sector_t sector) { return Stamp{kStampDeviceOrigin, sector, 0}; }

SectorGenerator InitialOriginContent() {
  return [](sector_t sector, uint8_t* out) { FillStampedSector(InitialOriginStamp(sector), out); };
}

}  // namespace snapsim
