// SPDX-License-Identifier: GPL-2.0-only
//
// Inspect over devices written by a real Linux 6.1 kernel: no damage, the table the workload
// implies, the kernel's status line, and the snapshot image the kernel read back.
#include "tests/support/golden.h"

#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "core/inspect.h"
#include "core/sha256.h"
#include "core/snapshot_target.h"
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

TEST(GoldenData, HasTheNineKernelCases) {
  EXPECT_EQ(testing::GoldenCaseNames(),
            (std::vector<std::string>{"a-cs16", "a-default", "b-multiarea", "c-writable",
                                      "d-invalid", "e-merge-partial", "g-three-snapshots-reload",
                                      "g-two-snapshots", "g-two-snapshots-one-invalid"}));
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

// Reading the snapshot through our SnapshotTarget (3.7.1 semantics) over the kernel's images.
struct TargetRead {
  std::string name;
  std::string origin_image;
  std::string cow_image;
  std::string read_key;         // the manifest's reads[...] for this state
  std::string expected_status;  // empty: the manifest's final status
};

// gtest prints parameters in ctest names: a readable one, not the struct's bytes.
void PrintTo(const TargetRead& read, std::ostream* os) {
  *os << read.name << "/" << read.cow_image;
}

std::string TargetReadName(const ::testing::TestParamInfo<TargetRead>& info) {
  std::string name = info.param.name + "_" + info.param.cow_image;
  for (char& c : name) {
    if (c == '-') c = '_';
  }
  return name;
}

// The table arguments of the last plain "snapshot" target the case created, e.g.
// {"/dev/oracle/origin", "/dev/oracle/cow", "P", "0"}.
std::vector<std::string> LastSnapshotTableArgs(const GoldenCase& golden) {
  std::vector<std::string> args;
  for (const nlohmann::json& event : golden.manifest["events"]) {
    const std::vector<std::string> words =
        absl::StrSplit(event["command"].get<std::string>(), ' ', absl::SkipEmpty());
    for (size_t i = 0; i + 4 < words.size(); ++i) {
      if (words[i] == "snapshot") args.assign(words.begin() + i + 1, words.begin() + i + 5);
    }
  }
  return args;
}

// Submits one bio to the snapshot (or origin) side of `target` and returns its error. Memory
// devices complete inside Submit, so the bio has ended when the call returns (asserted).
int SubmitToTarget(SnapshotTarget& target, bool to_snapshot, BioOp op, sector_t sector,
                   uint32_t sector_count, uint8_t* data) {
  bool done = false;
  int error = 1;
  Bio bio;
  bio.op = op;
  bio.sector = sector;
  bio.sector_count = sector_count;
  bio.data = data;
  bio.end_io = [&](int e) {
    error = e;
    done = true;
  };
  if (to_snapshot) {
    target.SubmitSnapshot(std::move(bio));
  } else {
    target.SubmitOrigin(std::move(bio));
  }
  EXPECT_TRUE(done) << "memory devices complete inside Submit";
  return error;
}

class TargetGoldenTest : public ::testing::TestWithParam<TargetRead> {};

TEST_P(TargetGoldenTest, SnapshotReadsAndStatusMatchTheKernel) {
  const TargetRead& param = GetParam();
  const GoldenCase golden = Load(param.name);
  auto origin = Image(golden, param.origin_image);
  auto cow = Image(golden, param.cow_image);
  const std::string origin_before = Sha256Hex(origin->bytes());
  const std::string cow_before = Sha256Hex(cow->bytes());
  const std::vector<std::string> args = LastSnapshotTableArgs(golden);
  ASSERT_EQ(args.size(), 4u);
  auto target =
      SnapshotTarget::Create(TargetKind::kSnapshot, origin.get(), cow.get(), args, {}, {}, nullptr);
  ASSERT_TRUE(target.ok()) << target.status();
  SnapshotTarget& snap = **target;

  const auto expected_status = param.expected_status.empty()
                                   ? testing::FinalSnapshotStatus(golden)
                                   : std::optional<std::string>(param.expected_status);
  ASSERT_TRUE(expected_status.has_value());
  EXPECT_EQ(snap.Status(), *expected_status);

  const std::vector<std::string> kernel = golden.ChunkSha256(param.read_key);
  const uint32_t c = snap.chunk_size();
  ASSERT_EQ(c, golden.chunk_sectors);
  std::vector<uint8_t> buffer(uint64_t{c} << kSectorShift);
  const chunk_t chunks = origin->size_sectors() / c;
  for (chunk_t chunk = 0; chunk < chunks; ++chunk) {
    const int error =
        SubmitToTarget(snap, /*to_snapshot=*/true, BioOp::kRead, chunk * c, c, buffer.data());
    if (kernel.empty()) {
      // The kernel's dd of this snapshot failed: every read of an invalid snapshot is EIO.
      ASSERT_EQ(error, -EIO) << "chunk " << chunk;
      continue;
    }
    ASSERT_EQ(error, 0) << "chunk " << chunk;
    ASSERT_LT(chunk, kernel.size());
    EXPECT_EQ(Sha256Hex(buffer), kernel[chunk]) << "chunk " << chunk;
  }
  EXPECT_EQ(snap.in_flight(), 0u);
  // Activating an existing COW and reading the snapshot writes nothing.
  EXPECT_EQ(Sha256Hex(origin->bytes()), origin_before);
  EXPECT_EQ(Sha256Hex(cow->bytes()), cow_before);
}

INSTANTIATE_TEST_SUITE_P(
    Kernel61, TargetGoldenTest,
    ::testing::Values(TargetRead{"a-cs16", "origin", "cow", "snap", ""},
                      TargetRead{"a-default", "origin", "cow", "snap", ""},
                      TargetRead{"b-multiarea", "origin", "cow", "snap", ""},
                      TargetRead{"c-writable", "origin", "cow", "snap", ""},
                      TargetRead{"d-invalid", "origin", "cow", "snap", ""},
                      TargetRead{"e-merge-partial", "origin", "cow", "snap-after-partial-merge",
                                 ""},
                      TargetRead{"e-merge-partial", "image-origin-before-merge",
                                 "image-cow-before-merge", "snap-before-merge", "2448/8192 24"}),
    TargetReadName);

TEST(GoldenGenerator, InitialOriginMatchesTheManifestsHash) {
  const GoldenCase golden = Load("a-cs16");
  const auto image = testing::InitialOriginImage(golden.manifest["origin_bytes"].get<uint64_t>());
  EXPECT_EQ(Sha256Hex(image), golden.manifest["origin_initial"]["sha256"].get<std::string>());
}

// Replays a case's workload through our SnapshotTarget on a blank COW and the generated origin,
// and compares the devices byte for byte with the kernel's. 6.1 and 3.7.1 agree on everything
// these workloads do (no reload right after an area fills, where 6.1's skip_metadata differs).
class ReplayGoldenTest : public ::testing::TestWithParam<std::string> {};

TEST_P(ReplayGoldenTest, ReplayingTheWorkloadReproducesTheKernelsImages) {
  const GoldenCase golden = Load(GetParam());
  MemoryDevice origin = MemoryDevice::FromBytes(
      testing::InitialOriginImage(golden.manifest["origin_bytes"].get<uint64_t>()), kSectorSize,
      "origin");
  MemoryDevice cow(golden.manifest["cow_bytes"].get<uint64_t>() >> kSectorShift, kSectorSize,
                   "cow");
  auto target = SnapshotTarget::Create(TargetKind::kSnapshot, &origin, &cow,
                                       LastSnapshotTableArgs(golden), {}, {}, nullptr);
  ASSERT_TRUE(target.ok()) << target.status();
  for (const nlohmann::json& write : golden.manifest["workload"]) {
    const uint32_t sectors = write["sectors"].get<uint32_t>();
    std::vector<uint8_t> data = testing::PatternBytes(write["pattern_tag"].get<std::string>(),
                                                      uint64_t{sectors} << kSectorShift);
    const int error = SubmitToTarget(**target, write["device"] == "snap", BioOp::kWrite,
                                     write["start_sector"].get<uint64_t>(), sectors, data.data());
    // The kernel's dd exit status says whether the write succeeded.
    EXPECT_EQ(error == 0, write["dd_exit_status"].get<int>() == 0) << write.dump();
  }
  // A merge case is compared at the point its merge started: the workload ran before it.
  const nlohmann::json& files = golden.manifest["files"];
  const bool merged = files.contains("image-cow-before-merge.img");
  EXPECT_EQ(Sha256Hex(origin.bytes()),
            files[merged ? "image-origin-before-merge.img" : "origin.img"]["sha256"]);
  EXPECT_EQ(Sha256Hex(cow.bytes()),
            files[merged ? "image-cow-before-merge.img" : "cow.img"]["sha256"]);
}

INSTANTIATE_TEST_SUITE_P(Kernel61, ReplayGoldenTest,
                         ::testing::Values("a-cs16", "a-default", "b-multiarea", "c-writable",
                                           "d-invalid", "e-merge-partial"),
                         CaseName);

// A COW that suspends a merge once the on-disk table is down to `stop_at` entries: the point at
// which the kernel's e-merge-partial case removed its merge device.
class MergeStoppingCow final : public BlockDevice {
 public:
  MergeStoppingCow(MemoryDevice& inner, size_t stop_at) : inner_(inner), stop_at_(stop_at) {}
  void set_target(SnapshotTarget* target) { target_ = target; }

  sector_t size_sectors() const override { return inner_.size_sectors(); }
  uint32_t logical_block_size() const override { return inner_.logical_block_size(); }
  std::string name() const override { return inner_.name(); }
  void Submit(Bio bio) override {
    const bool area_write = bio.is_write() && bio.fua;
    inner_.Submit(std::move(bio));
    // commit_merge's area write has landed: look at the table as a reload would.
    if (area_write && target_ != nullptr && InspectCow(inner_).exceptions.size() <= stop_at_) {
      target_->Suspend();
    }
  }
  void WaitFor(const bool& done) override { inner_.WaitFor(done); }

 private:
  MemoryDevice& inner_;
  size_t stop_at_;
  SnapshotTarget* target_ = nullptr;
};

TEST(GoldenMerge, MergingThePreMergeImagesUntilTheKernelStoppedGivesTheKernelsImages) {
  const GoldenCase golden = Load("e-merge-partial");
  auto origin = Image(golden, "image-origin-before-merge");
  auto cow = Image(golden, "image-cow-before-merge");
  auto kernel_cow = Image(golden, "cow");
  const size_t left = InspectCow(*kernel_cow).exceptions.size();
  MergeStoppingCow stopping_cow(*cow, left);
  auto target = SnapshotTarget::Create(TargetKind::kSnapshotMerge, origin.get(), &stopping_cow,
                                       LastSnapshotTableArgs(golden), {}, {}, nullptr);
  ASSERT_TRUE(target.ok()) << target.status();
  stopping_cow.set_target(target->get());
  (*target)->Resume();
  EXPECT_FALSE((*target)->merging());
  EXPECT_FALSE((*target)->merge_failed());
  EXPECT_EQ(InspectCow(*cow).exceptions.size(), left);
  EXPECT_EQ(Sha256Hex(cow->bytes()), golden.manifest["files"]["cow.img"]["sha256"]);
  EXPECT_EQ(Sha256Hex(origin->bytes()), golden.manifest["files"]["origin.img"]["sha256"]);
}

}  // namespace
}  // namespace snapsim
