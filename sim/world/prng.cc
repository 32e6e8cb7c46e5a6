// SPDX-License-Identifier: GPL-2.0-only
#include "sim/world/prng.h"

#include "util/assert.h"

namespace snapsim {
namespace {

constexpr uint64_t kGoldenGamma = 0x9e3779b97f4a7c15ULL;

inline uint64_t RotateLeft(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

}  // namespace

uint64_t Mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

uint64_t SplitMix64(uint64_t& state) {
  state += kGoldenGamma;
  return Mix64(state);
}

uint64_t Fnv1a64(std::string_view bytes) {
  uint64_t hash = 0xcbf29ce484222325ULL;
  for (char c : bytes) {
    hash ^= static_cast<uint8_t>(c);
    hash *= 0x100000001b3ULL;
  }
  return hash;
}

Prng::Prng(uint64_t seed) : seed_(seed) {
  uint64_t sm = seed;
  for (uint64_t& word : state_) word = SplitMix64(sm);
  // splitmix64 never yields four zero words from one seed; xoshiro needs a non-zero state.
  SNAPSIM_ASSERT((state_[0] | state_[1] | state_[2] | state_[3]) != 0);
}

uint64_t Prng::Next() {
  const uint64_t result = RotateLeft(state_[1] * 5, 7) * 9;
  const uint64_t t = state_[1] << 17;
  state_[2] ^= state_[0];
  state_[3] ^= state_[1];
  state_[1] ^= state_[2];
  state_[0] ^= state_[3];
  state_[2] ^= t;
  state_[3] = RotateLeft(state_[3], 45);
  return result;
}

uint64_t Prng::UintLessThan(uint64_t n) {
  SNAPSIM_ASSERT(n > 0);
  // Lemire, "Fast random integer generation in an interval" (2019).
  unsigned __int128 m = static_cast<unsigned __int128>(Next()) * n;
  uint64_t low = static_cast<uint64_t>(m);
  if (low < n) {
    const uint64_t threshold = (0 - n) % n;
    while (low < threshold) {
      m = static_cast<unsigned __int128>(Next()) * n;
      low = static_cast<uint64_t>(m);
    }
  }
  return static_cast<uint64_t>(m >> 64);
}

uint64_t Prng::UintInclusive(uint64_t lo, uint64_t hi) {
  SNAPSIM_ASSERT(lo <= hi);
  if (lo == 0 && hi == UINT64_MAX) return Next();
  return lo + UintLessThan(hi - lo + 1);
}

int64_t Prng::IntInclusive(int64_t lo, int64_t hi) {
  SNAPSIM_ASSERT(lo <= hi);
  const uint64_t span = static_cast<uint64_t>(hi) - static_cast<uint64_t>(lo);
  const uint64_t offset = span == UINT64_MAX ? Next() : UintLessThan(span + 1);
  return static_cast<int64_t>(static_cast<uint64_t>(lo) + offset);
}

bool Prng::Chance(Ratio ratio) {
  SNAPSIM_ASSERT(ratio.valid());
  if (ratio.numerator == 0) return false;  // draws nothing: see the header
  return UintLessThan(ratio.denominator) < ratio.numerator;
}

size_t Prng::WeightedIndex(absl::Span<const uint32_t> weights) {
  uint64_t total = 0;
  for (uint32_t w : weights) total += w;
  SNAPSIM_ASSERT(total > 0);
  uint64_t pick = UintLessThan(total);
  for (size_t i = 0; i < weights.size(); ++i) {
    if (pick < weights[i]) return i;
    pick -= weights[i];
  }
  SNAPSIM_ASSERT(false && "unreachable: pick < total");
  return weights.size() - 1;
}

Prng Prng::Split(std::string_view stream_name) const {
  return Prng(Mix64(seed_ ^ Mix64(Fnv1a64(stream_name) + kGoldenGamma)));
}

}  // namespace snapsim
