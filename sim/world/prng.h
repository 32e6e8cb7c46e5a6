// SPDX-License-Identifier: GPL-2.0-only
//
// Prng: the one source of randomness of a simulation run.
//
// Algorithms: xoshiro256** 1.0 (David Blackman and Sebastiano Vigna, "Scrambled linear
// pseudorandom number generators", ACM TOMS 2021; reference C at https://prng.di.unimi.it/),
// seeded by expanding the 64-bit seed through splitmix64 (Guy Steele, Doug Lea, Christine Flood,
// "Fast splittable pseudorandom number generators", OOPSLA 2014; the form in Vigna's
// splitmix64.c), as the xoshiro authors recommend.
//
// Contract:
//  - Everything is a function of the seed: same seed, same stream, on every platform. Helpers use
//    integers only (no floating point, no std distributions, whose output differs between
//    standard libraries).
//  - A Prng is a value passed by reference, never global. Split(name) derives a child stream from
//    the parent's seed and the name only, not from how much of the parent was consumed, so each
//    concern (workload, devices, faults, crash) owns a stream and drawing more from one does not
//    reshuffle another.
//  - Chance() with a zero numerator draws nothing, so a disabled fault family leaves the stream
//    exactly as if the knob did not exist.
#ifndef SNAPSIM_SIM_WORLD_PRNG_H_
#define SNAPSIM_SIM_WORLD_PRNG_H_

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <utility>

#include "absl/types/span.h"

namespace snapsim {

// numerator / denominator, a probability without floating point.
// Invariant: denominator > 0 and numerator <= denominator.
struct Ratio {
  uint32_t numerator = 0;
  uint32_t denominator = 1;

  bool valid() const { return denominator > 0 && numerator <= denominator; }
  bool never() const { return numerator == 0; }
  friend bool operator==(const Ratio&, const Ratio&) = default;
};

inline constexpr Ratio kNever{0, 1};
inline constexpr Ratio kAlways{1, 1};

// One step of splitmix64: advances `state` and returns the next output.
uint64_t SplitMix64(uint64_t& state);
// The splitmix64 output function alone (a strong 64-bit mixer).
uint64_t Mix64(uint64_t value);
// FNV-1a 64-bit hash of bytes.
uint64_t Fnv1a64(std::string_view bytes);

class Prng {
 public:
  explicit Prng(uint64_t seed);

  uint64_t seed() const { return seed_; }

  // The next raw 64-bit output of xoshiro256**.
  uint64_t Next();

  // Uniform in [0, n). REQUIRES: n > 0. Lemire's multiply-shift with rejection: no modulo bias.
  uint64_t UintLessThan(uint64_t n);
  // Uniform in [lo, hi]. REQUIRES: lo <= hi.
  uint64_t UintInclusive(uint64_t lo, uint64_t hi);
  int64_t IntInclusive(int64_t lo, int64_t hi);
  // True with probability ratio.numerator / ratio.denominator. REQUIRES: ratio.valid().
  bool Chance(Ratio ratio);
  // Index i with probability weights[i] / sum(weights). REQUIRES: sum > 0, fits in 64 bits.
  size_t WeightedIndex(absl::Span<const uint32_t> weights);

  // Fisher-Yates shuffle.
  template <typename T>
  void Shuffle(absl::Span<T> items) {
    for (size_t i = items.size(); i > 1; --i) {
      size_t j = static_cast<size_t>(UintLessThan(i));
      using std::swap;
      swap(items[i - 1], items[j]);
    }
  }

  // A child stream named `stream_name`: a function of (this seed, FNV-1a(name)) only.
  Prng Split(std::string_view stream_name) const;

 private:
  uint64_t seed_;
  uint64_t state_[4];
};

}  // namespace snapsim

#endif  // SNAPSIM_SIM_WORLD_PRNG_H_
