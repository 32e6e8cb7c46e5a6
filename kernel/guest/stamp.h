// SPDX-License-Identifier: GPL-2.0-only
//
// The content snapsim writes on a real kernel: every 512-byte sector of a write says who wrote it
// (a tag naming the device and the step) and where, so the host can tell from any sector of an
// image which write, if any, put it there. Shared by the guest tool (kernel/guest/) and the host
// side (kernel/); header-only and free of every other project header, because the guest tool is
// built on its own (static, without the project's sanitizer flags).
#ifndef SNAPSIM_KERNEL_GUEST_STAMP_H_
#define SNAPSIM_KERNEL_GUEST_STAMP_H_

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>

namespace snapsim::kernel {

inline constexpr size_t kStampSectorBytes = 512;

// Fills `out` (512 bytes) with the stamp of `tag` at `sector`: a text line, then bytes that
// depend on the tag and the sector, so that two stamps never share a sector's content.
inline void FillStamp(const std::string& tag, uint64_t sector, uint8_t* out) {
  char line[160];
  const int n = std::snprintf(line, sizeof line, "snapsim-kernel %s sector=%llu\n", tag.c_str(),
                              static_cast<unsigned long long>(sector));
  const size_t len = n < 0 ? 0 : std::min(static_cast<size_t>(n), sizeof line - 1);
  std::memcpy(out, line, len);
  uint64_t x = 1469598103934665603ull ^ sector;
  for (char c : tag) x = (x ^ static_cast<uint8_t>(c)) * 1099511628211ull;
  for (size_t i = len; i < kStampSectorBytes; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    out[i] = static_cast<uint8_t>(x);
  }
}

}  // namespace snapsim::kernel

#endif  // SNAPSIM_KERNEL_GUEST_STAMP_H_
