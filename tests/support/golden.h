// SPDX-License-Identifier: GPL-2.0-only
//
// Golden cases: devices written by a real Linux 6.1 kernel (tests/data/golden/<case>/), with a
// trimmed manifest (manifest.json) that records the workload, the status lines and the sha256 of
// every chunk the kernel read back. The images are stored zstd-compressed and decompressed at
// build time by tests/golden_data.cmake into kGoldenImageDir/<case>/<image>.img.
//
// Contract: loading never touches /work/shared; a missing image or manifest is a test failure
// (absl::Status), not a skip, so a broken build of the golden data cannot pass silently.
#ifndef SNAPSIM_TESTS_SUPPORT_GOLDEN_H_
#define SNAPSIM_TESTS_SUPPORT_GOLDEN_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/format.h"
#include "core/memory_device.h"
#include "nlohmann/json.hpp"

namespace snapsim::testing {

inline constexpr const char* kGoldenImageDir = SNAPSIM_GOLDEN_IMAGE_DIR;

struct GoldenCase {
  std::string name;
  nlohmann::json manifest;
  // One-snapshot cases only; 0 for the g-* cases, whose manifests have them per snapshot.
  uint32_t chunk_sectors = 0;
  uint32_t exceptions_per_area = 0;

  // Path of a decompressed image ("origin", "cow", "image-cow-before-merge", ...).
  std::string ImagePath(const std::string& image) const;
  // The image as a MemoryDevice named after it.
  absl::StatusOr<std::unique_ptr<MemoryDevice>> LoadImage(const std::string& image) const;
  // Per-chunk sha256 the kernel returned for reads[key] ("origin", "snap", ...); empty when the
  // read failed (an invalid snapshot) or the key is absent.
  std::vector<std::string> ChunkSha256(const std::string& key) const;
  bool HasRead(const std::string& key) const;
};

// Every case directory under tests/data/golden, sorted.
std::vector<std::string> GoldenCaseNames();
absl::StatusOr<GoldenCase> LoadGoldenCase(const std::string& name);

// The snapshot's last status line the kernel printed, without "0 <len> snapshot ": taken from
// final_dmsetup_status ("snap: ...") when the snapshot was still active, else from the last
// `status` entry of a plain snapshot target. nullopt when there is none.
std::optional<std::string> FinalSnapshotStatus(const GoldenCase& golden);

// The exception table the workload implies, in allocation order: each write (to the origin or
// the snapshot) to a chunk with no exception yet allocates the next free COW chunk, skipping
// metadata areas, chunks of one write in ascending order. Stops at `cow_chunks` (no room).
std::vector<DiskException> ExpectedTableFromWorkload(const GoldenCase& golden, chunk_t cow_chunks);

// The origin every case starts from: sector s holds "ORIGIN-SECTOR-%08d\n" (s) repeated and cut
// to 512 bytes (the manifests' origin_initial.generator). REQUIRES: bytes is whole sectors.
std::vector<uint8_t> InitialOriginImage(uint64_t bytes);
// A workload write's data: "<tag>\n" repeated and cut to `bytes`.
std::vector<uint8_t> PatternBytes(const std::string& tag, uint64_t bytes);

// All bytes of a file. NotFound when it cannot be read.
absl::StatusOr<std::vector<uint8_t>> ReadFileBytes(const std::string& path);

}  // namespace snapsim::testing

#endif  // SNAPSIM_TESTS_SUPPORT_GOLDEN_H_
