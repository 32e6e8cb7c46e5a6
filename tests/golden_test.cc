// SPDX-License-Identifier: GPL-2.0-only
//
// Inspect over devices written by a real Linux 6.1 kernel: no damage, the table the workload
// implies, the kernel's status line, and the snapshot image the kernel read back.
#include "tests/support/golden.h"

#include <string>
#include <vector>

#include "core/inspect.h"
#include "core/sha256.h"
#include "gtest/gtest.h"

namespace snapsim {
namespace {

using testing::GoldenCase;

GoldenCase Load(const std::string& name) {
  auto golden = testing::LoadGoldenCase(name);
  EXPECT_TRUE(golden.ok()) << golden.status();
  return golden.ok() ? *golden : GoldenCase{};
}

std::unique_ptr<MemoryDevice> Image(const GoldenCase& golden, const std::string& image) {
  auto device = golden.LoadImage(image);
  EXPECT_TRUE(device.ok()) << device.status();
  return device.ok() ? *std::move(device) : std::make_unique<MemoryDevice>(1);
}

std::vector<std::string> ChunkHashes(const MemoryDevice& device, uint32_t chunk_sectors) {
  std::vector<std::string> hashes;
  const uint64_t chunk_bytes = uint64_t{chunk_sectors} << kSectorShift;
  for (uint64_t at = 0; at < device.bytes().size(); at += chunk_bytes) {
    hashes.push_back(Sha256Hex(absl::MakeConstSpan(device.bytes()).subspan(at, chunk_bytes)));
  }
  return hashes;
}

std::string CaseName(const ::testing::TestParamInfo<std::string>& info) {
  std::string name = info.param;
  for (char& c : name) {
    if (c == '-') c = '_';
  }
  return name;
}

class GoldenCaseTest : public ::testing::TestWithParam<std::string> {};

TEST(GoldenData, HasTheSixKernelCases) {
  EXPECT_EQ(testing::GoldenCaseNames(),
            (std::vector<std::string>{"a-cs16", "a-default", "b-multiarea", "c-writable",
                                      "d-invalid", "e-merge-partial"}));
}

TEST_P(GoldenCaseTest, ImagesMatchTheManifestHashes) {
  const GoldenCase golden = Load(GetParam());
  for (const std::string image : {"origin", "cow"}) {
    auto device = Image(golden, image);
    const std::string file = image + ".img";
    EXPECT_EQ(Sha256Hex(device->bytes()),
              golden.manifest["files"][file]["sha256"].get<std::string>())
        << file;
  }
}

TEST_P(GoldenCaseTest, OriginChunkHashesMatchTheKernelsReads) {
  const GoldenCase golden = Load(GetParam());
  auto origin = Image(golden, "origin");
  EXPECT_EQ(ChunkHashes(*origin, golden.chunk_sectors), golden.ChunkSha256("origin"));
}

TEST_P(GoldenCaseTest, InspectFindsNoDamage) {
  const GoldenCase golden = Load(GetParam());
  auto origin = Image(golden, "origin");
  auto cow = Image(golden, "cow");
  const InspectReport report = InspectCow(*cow, {.origin = origin.get()});
  EXPECT_TRUE(report.damage.empty()) << report.damage.front().message;
  EXPECT_TRUE(report.loadable);
  EXPECT_FALSE(report.is_new);
  EXPECT_EQ(report.header.magic, kSnapMagic);
  EXPECT_EQ(report.header.version, kSnapshotDiskVersion);
  EXPECT_EQ(report.header.chunk_size, golden.chunk_sectors);
  EXPECT_EQ(report.exceptions_per_area, golden.exceptions_per_area);
}

TEST_P(GoldenCaseTest, StatusEqualsTheKernelsLastStatus) {
  const GoldenCase golden = Load(GetParam());
  auto cow = Image(golden, "cow");
  const auto expected = testing::FinalSnapshotStatus(golden);
  ASSERT_TRUE(expected.has_value());
  EXPECT_EQ(InspectCow(*cow).status, *expected);
}

INSTANTIATE_TEST_SUITE_P(Kernel61, GoldenCaseTest,
                         ::testing::Values("a-cs16", "a-default", "b-multiarea", "c-writable",
                                           "d-invalid", "e-merge-partial"),
                         CaseName);

// Cases whose final COW holds the whole table the workload built (no merge, no overflow).
class CompleteTableTest : public ::testing::TestWithParam<std::string> {};

TEST_P(CompleteTableTest, TableIsTheOneTheWorkloadImplies) {
  const GoldenCase golden = Load(GetParam());
  auto cow = Image(golden, "cow");
  const InspectReport report = InspectCow(*cow);
  const auto expected =
      testing::ExpectedTableFromWorkload(golden, cow->size_sectors() / golden.chunk_sectors);
  ASSERT_EQ(report.exceptions.size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(report.exceptions[i].old_chunk, expected[i].old_chunk) << "entry " << i;
    EXPECT_EQ(report.exceptions[i].new_chunk, expected[i].new_chunk) << "entry " << i;
  }
}

TEST_P(CompleteTableTest, SnapshotImageMatchesTheKernelsReads) {
  const GoldenCase golden = Load(GetParam());
  auto origin = Image(golden, "origin");
  auto cow = Image(golden, "cow");
  const auto hashes = SnapshotChunkSha256(*origin, *cow, InspectCow(*cow));
  ASSERT_TRUE(hashes.ok()) << hashes.status();
  EXPECT_EQ(*hashes, golden.ChunkSha256("snap"));
}

INSTANTIATE_TEST_SUITE_P(Kernel61, CompleteTableTest,
                         ::testing::Values("a-cs16", "a-default", "b-multiarea", "c-writable"),
                         CaseName);

TEST(GoldenMultiArea, TableSpansThreeAreas) {
  const GoldenCase golden = Load("b-multiarea");
  auto cow = Image(golden, "cow");
  const InspectReport report = InspectCow(*cow);
  EXPECT_EQ(report.exceptions.size(), 600u);
  EXPECT_EQ(report.current_area, 2u);
  EXPECT_EQ(report.current_committed, 600u - 2 * 256);
  EXPECT_EQ(report.next_free, 604u);
}

TEST(GoldenInvalid, InvalidatedSnapshotLoadsNoTableAndReportsInvalid) {
  const GoldenCase golden = Load("d-invalid");
  auto origin = Image(golden, "origin");
  auto cow = Image(golden, "cow");
  const InspectReport report = InspectCow(*cow);
  EXPECT_EQ(report.header.valid, 0u);
  EXPECT_TRUE(report.loadable);
  EXPECT_TRUE(report.exceptions.empty());
  EXPECT_EQ(report.status, "Invalid");
  // The kernel's reads of the invalid snapshot failed with EIO; so does ours.
  EXPECT_TRUE(golden.ChunkSha256("snap").empty());
  EXPECT_FALSE(SnapshotChunkSha256(*origin, *cow, report).ok());
}

TEST(GoldenMerge, PreMergeImagesHoldTheWholeTableAndTheSnapshot) {
  const GoldenCase golden = Load("e-merge-partial");
  auto origin = Image(golden, "image-origin-before-merge");
  auto cow = Image(golden, "image-cow-before-merge");
  const InspectReport report = InspectCow(*cow, {.origin = origin.get()});
  EXPECT_TRUE(report.damage.empty());
  const auto expected =
      testing::ExpectedTableFromWorkload(golden, cow->size_sectors() / golden.chunk_sectors);
  ASSERT_EQ(report.exceptions.size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(report.exceptions[i].old_chunk, expected[i].old_chunk) << "entry " << i;
    EXPECT_EQ(report.exceptions[i].new_chunk, expected[i].new_chunk) << "entry " << i;
  }
  EXPECT_EQ(report.status, "2448/8192 24");  // the kernel's "after-workload" line
  const auto hashes = SnapshotChunkSha256(*origin, *cow, report);
  ASSERT_TRUE(hashes.ok()) << hashes.status();
  EXPECT_EQ(*hashes, golden.ChunkSha256("snap-before-merge"));
}

TEST(GoldenMerge, PartlyMergedTableIsAPrefixOfThePreMergeTable) {
  const GoldenCase golden = Load("e-merge-partial");
  auto cow = Image(golden, "cow");
  auto before = Image(golden, "image-cow-before-merge");
  const InspectReport merged = InspectCow(*cow);
  const InspectReport whole = InspectCow(*before);
  // Merging consumes the table from its end, so what is left is where it started.
  ASSERT_LT(merged.exceptions.size(), whole.exceptions.size());
  EXPECT_GT(merged.exceptions.size(), 0u);
  for (size_t i = 0; i < merged.exceptions.size(); ++i) {
    EXPECT_EQ(merged.exceptions[i].old_chunk, whole.exceptions[i].old_chunk) << "entry " << i;
    EXPECT_EQ(merged.exceptions[i].new_chunk, whole.exceptions[i].new_chunk) << "entry " << i;
  }
}

TEST(GoldenMerge, PartlyMergedSnapshotStillReadsThePreMergeImage) {
  const GoldenCase golden = Load("e-merge-partial");
  auto origin = Image(golden, "origin");
  auto cow = Image(golden, "cow");
  const auto hashes = SnapshotChunkSha256(*origin, *cow, InspectCow(*cow));
  ASSERT_TRUE(hashes.ok()) << hashes.status();
  EXPECT_EQ(*hashes, golden.ChunkSha256("snap-after-partial-merge"));
  EXPECT_EQ(*hashes, golden.ChunkSha256("snap-before-merge"));
}

}  // namespace
}  // namespace snapsim
