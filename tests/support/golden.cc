// SPDX-License-Identifier: GPL-2.0-only
#include "tests/support/golden.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "tests/support/test_paths.h"

namespace snapsim::testing {
namespace {

std::string GoldenDataDir() { return std::string(kTestDataDir) + "/golden"; }

// Strips "0 <length> snapshot " from a target status line; nullopt for other targets.
std::optional<std::string> SnapshotPart(const std::string& line) {
  const size_t at = line.find(" snapshot ");
  if (at == std::string::npos) return std::nullopt;
  return line.substr(at + std::string(" snapshot ").size());
}

}  // namespace

absl::StatusOr<std::vector<uint8_t>> ReadFileBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), {});
}

std::string GoldenCase::ImagePath(const std::string& image) const {
  return absl::StrCat(kGoldenImageDir, "/", name, "/", image, ".img");
}

absl::StatusOr<std::unique_ptr<MemoryDevice>> GoldenCase::LoadImage(
    const std::string& image) const {
  auto bytes = ReadFileBytes(ImagePath(image));
  if (!bytes.ok()) return bytes.status();
  if (bytes->size() % kSectorSize != 0) {
    return absl::DataLossError(absl::StrCat(ImagePath(image), " is not whole sectors"));
  }
  return std::make_unique<MemoryDevice>(
      MemoryDevice::FromBytes(*std::move(bytes), kSectorSize, image));
}

bool GoldenCase::HasRead(const std::string& key) const { return manifest["reads"].contains(key); }

std::vector<std::string> GoldenCase::ChunkSha256(const std::string& key) const {
  if (!HasRead(key)) return {};
  return manifest["reads"][key]["chunk_sha256"].get<std::vector<std::string>>();
}

std::vector<std::string> GoldenCaseNames() {
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(GoldenDataDir())) {
    if (entry.is_directory()) names.push_back(entry.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

absl::StatusOr<GoldenCase> LoadGoldenCase(const std::string& name) {
  const std::string path = absl::StrCat(GoldenDataDir(), "/", name, "/manifest.json");
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  GoldenCase golden;
  golden.name = name;
  golden.manifest = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (golden.manifest.is_discarded()) {
    return absl::DataLossError(absl::StrCat(path, " is not JSON"));
  }
  // The g-* cases (several snapshots) keep chunk sizes per snapshot, in `snapshots`.
  if (golden.manifest.contains("chunk_sectors")) {
    golden.chunk_sectors = golden.manifest["chunk_sectors"].get<uint32_t>();
    golden.exceptions_per_area = golden.manifest["exceptions_per_area"].get<uint32_t>();
  }
  return golden;
}

std::optional<std::string> FinalSnapshotStatus(const GoldenCase& golden) {
  const std::string final_status = golden.manifest["final_dmsetup_status"].get<std::string>();
  const size_t snap = final_status.find("snap: ");
  if (snap != std::string::npos) {
    const size_t end = final_status.find('\n', snap);
    return SnapshotPart(final_status.substr(snap, end == std::string::npos ? end : end - snap));
  }
  const nlohmann::json& lines = golden.manifest["status"];
  for (auto it = lines.rbegin(); it != lines.rend(); ++it) {
    if (auto part = SnapshotPart((*it)["status"].get<std::string>())) return part;
  }
  return std::nullopt;
}

std::vector<uint8_t> InitialOriginImage(uint64_t bytes) {
  std::vector<uint8_t> image(bytes);
  for (uint64_t sector = 0; sector < bytes / kSectorSize; ++sector) {
    const std::string line = absl::StrFormat("ORIGIN-SECTOR-%08d\n", sector);
    for (uint32_t i = 0; i < kSectorSize; ++i) {
      image[sector * kSectorSize + i] = static_cast<uint8_t>(line[i % line.size()]);
    }
  }
  return image;
}

std::vector<uint8_t> PatternBytes(const std::string& tag, uint64_t bytes) {
  const std::string unit = tag + "\n";
  std::vector<uint8_t> data(bytes);
  for (uint64_t i = 0; i < bytes; ++i) data[i] = static_cast<uint8_t>(unit[i % unit.size()]);
  return data;
}

std::vector<DiskException> ExpectedTableFromWorkload(const GoldenCase& golden, chunk_t cow_chunks) {
  const uint32_t c = golden.chunk_sectors;
  std::vector<DiskException> table;
  std::set<chunk_t> mapped;
  chunk_t next_free = kNumSnapshotHeaderChunks + 1;
  for (const nlohmann::json& write : golden.manifest["workload"]) {
    const uint64_t start = write["start_sector"].get<uint64_t>();
    const uint64_t sectors = write["sectors"].get<uint64_t>();
    for (chunk_t chunk = start / c; chunk <= (start + sectors - 1) / c; ++chunk) {
      if (!mapped.insert(chunk).second) continue;
      if (next_free >= cow_chunks) return table;  // no room: the snapshot is invalidated
      table.push_back(DiskException{chunk, next_free});
      ++next_free;
      if (IsMetadataChunk(golden.exceptions_per_area, next_free)) ++next_free;
    }
  }
  return table;
}

}  // namespace snapsim::testing
