// SPDX-License-Identifier: GPL-2.0-only
//
// Sha256: the FIPS 180-4 SHA-256 digest, self-contained so that golden data, inspect and reports
// can name chunk contents without a crypto library.
//
// Contract: Update() any number of times, then Final() once; Final() returns the 32-byte digest
// and leaves the object unusable until Reset(). Sha256Hex() is the one-shot form printed by
// `snapsim inspect --chunk-sha256` and stored in the golden manifests (lower-case hex).
#ifndef SNAPSIM_CORE_SHA256_H_
#define SNAPSIM_CORE_SHA256_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/types/span.h"

namespace snapsim {

class Sha256 {
 public:
  using Digest = std::array<uint8_t, 32>;

  Sha256() { Reset(); }
  void Reset();
  void Update(absl::Span<const uint8_t> data);
  Digest Final();

 private:
  void Compress(const uint8_t* block);

  std::array<uint32_t, 8> state_;
  std::array<uint8_t, 64> buffer_;
  size_t buffered_ = 0;  // bytes waiting in buffer_, always < 64
  uint64_t total_bytes_ = 0;
};

// Lower-case hex of a digest.
std::string DigestHex(const Sha256::Digest& digest);
// SHA-256 of `data` as lower-case hex.
std::string Sha256Hex(absl::Span<const uint8_t> data);

}  // namespace snapsim

#endif  // SNAPSIM_CORE_SHA256_H_
