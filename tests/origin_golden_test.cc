// SPDX-License-Identifier: GPL-2.0-only
//
// The g-* golden cases: one origin with several snapshots, run by a real Linux 6.1 kernel. Each
// case's timeline (dmsetup commands, writes, status lines, reads) is replayed step by step through
// an Origin and one SnapshotTarget per snapshot on memory devices, and must give the kernel's
// results: every status line, the write results (EIO through an invalid snapshot), the per-chunk
// read hashes of the origin and of every snapshot, the kernel's messages, and byte-identical
// origin and COW images.
//
// 6.1 and 3.7.1 agree on everything these cases show (docs/target.md, "Golden cases with several
// snapshots"): the list order, one exception per snapshot at its own chunk size for the first
// origin write to a chunk, the split at the smallest chunk size set on the origin's resume, and
// an ENOSPC invalidation that leaves the other snapshots alone. The tests expect 3.7.1's
// behaviour, which is what they see.
#include <algorithm>
#include <cerrno>
#include <map>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "core/kernel_log.h"
#include "core/memory_device.h"
#include "core/origin.h"
#include "core/sha256.h"
#include "core/snapshot_target.h"
#include "gtest/gtest.h"
#include "tests/support/bio_builder.h"
#include "tests/support/golden.h"

namespace snapsim {
namespace {

constexpr uint32_t kPageSectors = 8;  // the guest's page cache works in 4 KiB pages
constexpr size_t kMaxTimelineSteps = 1000;

struct MultiCase {
  std::string name;
  // The guest wrote with dd through the page cache (whole pages, the partial ones read first);
  // else each write is one O_DIRECT write of exactly its sectors.
  bool page_cache = true;
};

void PrintTo(const MultiCase& c, std::ostream* os) { *os << c.name; }

// One snapshot device: its COW and, while it exists, its target.
struct Snapshot {
  std::unique_ptr<MemoryDevice> cow;
  std::unique_ptr<SnapshotTarget> target;
};

class MultiSnapshotReplay {
 public:
  explicit MultiSnapshotReplay(const testing::GoldenCase& golden, bool page_cache)
      : golden_(golden), page_cache_(page_cache) {
    const nlohmann::json& m = golden.manifest;
    std::vector<uint8_t> initial = testing::InitialOriginImage(m["origin_bytes"].get<uint64_t>());
    EXPECT_EQ(Sha256Hex(initial), m["origin_initial"]["sha256"].get<std::string>());
    origin_device_ = std::make_unique<MemoryDevice>(MemoryDevice::FromBytes(std::move(initial)));
    for (const auto& [name, snapshot] : m["snapshots"].items()) {
      snapshots_[name].cow =
          std::make_unique<MemoryDevice>(snapshot["cow_bytes"].get<uint64_t>() >> kSectorShift);
    }
  }

  // Runs every step of the timeline, checking each status line and write result on the way.
  void Run() {
    const nlohmann::json& timeline = golden_.manifest["timeline"];
    ASSERT_LE(timeline.size(), kMaxTimelineSteps);
    for (const nlohmann::json& step : timeline) {
      const std::string kind = step["kind"].get<std::string>();
      SCOPED_TRACE(step.dump());
      if (kind == "dmsetup") {
        Dmsetup(step["label"].get<std::string>(), step["command"].get<std::string>());
      } else if (kind == "write") {
        Write(step);
      } else if (kind == "status") {
        ExpectStatus(step);
      } else if (kind == "read") {
        ExpectReads(step["device"].get<std::string>());
      } else {
        ADD_FAILURE() << "unknown step kind " << kind;
      }
      if (::testing::Test::HasFatalFailure()) return;
    }
  }

  const MemoryDevice& origin_device() const { return *origin_device_; }
  const MemoryDevice& cow(const std::string& snapshot) { return *snapshots_[snapshot].cow; }
  const CollectingLog& log() const { return log_; }
  Origin* origin() const { return origin_.get(); }
  SnapshotTarget* target(const std::string& snapshot) { return snapshots_[snapshot].target.get(); }

 private:
  // lvcreate and lvm2's activation, as dmsetup commands.
  void Dmsetup(const std::string& label, const std::string& command) {
    const std::vector<std::string> words = absl::StrSplit(command, ' ');
    ASSERT_GE(words.size(), 2u);
    const std::string& verb = words[1];
    const std::string& device = words[2];
    if (verb == "ls" || verb == "table") return;  // lists only
    if (device == "origin") {
      if (verb == "create" && absl::StrContains(command, "--notable")) {
        return;  // a device without a table: nothing maps until the load
      }
      if (verb == "create" || verb == "load") {
        ASSERT_EQ(origin_, nullptr) << label;
        origin_ = std::make_unique<Origin>(origin_device_.get());
        // A loaded table stays inactive until the resume that follows; create resumes at once.
        if (verb == "load") origin_->Suspend();
        return;
      }
      ASSERT_NE(origin_, nullptr) << label;
      if (verb == "suspend") {
        origin_->Suspend();
      } else if (verb == "resume") {
        origin_->Resume();
      } else if (verb == "remove") {
        ASSERT_TRUE(origin_->snapshots().empty()) << "the origin is removed after its snapshots";
        origin_.reset();
      } else {
        FAIL() << "unknown origin command " << command;
      }
      return;
    }
    ASSERT_TRUE(snapshots_.contains(device)) << command;
    ASSERT_NE(origin_, nullptr) << "the origin device exists before its snapshots";
    Snapshot& snapshot = snapshots_[device];
    if (verb == "create") {
      // "--table 0 <len> snapshot <origin> <cow> P <chunk>": the last four words are the ctr's.
      ASSERT_GE(words.size(), 4u);
      const std::vector<std::string> args(words.end() - 4, words.end());
      auto target = SnapshotTarget::Create(TargetKind::kSnapshot, origin_device_.get(),
                                           snapshot.cow.get(), args, {}, {}, &log_);
      ASSERT_TRUE(target.ok()) << target.status();
      snapshot.target = *std::move(target);
      origin_->AddSnapshot(snapshot.target.get());
    } else if (verb == "remove") {
      ASSERT_NE(snapshot.target, nullptr);
      ASSERT_EQ(snapshot.target->in_flight(), 0u);
      origin_->RemoveSnapshot(snapshot.target.get());
      snapshot.target.reset();
    } else {
      FAIL() << "unknown snapshot command " << command;
    }
  }

  // One bio to "origin" or "snap-x", run to its end (memory devices end inside Submit).
  int SubmitTo(const std::string& device, BioOp op, sector_t sector, uint32_t sectors,
               uint8_t* data) {
    int result = 1;
    Bio bio = testing::MakeBio(op, sector, sectors, data, [&result](int error) { result = error; });
    if (device == "origin") {
      origin_->Submit(std::move(bio));
    } else {
      snapshots_[device].target->SubmitSnapshot(std::move(bio));
    }
    EXPECT_NE(result, 1) << "a bio did not end";
    return result;
  }

  void Write(const nlohmann::json& step) {
    const std::string device = step["device"].get<std::string>();
    const sector_t start = step["start_sector"].get<sector_t>();
    const uint32_t sectors = step["sectors"].get<uint32_t>();
    const std::vector<uint8_t> pattern =
        testing::PatternBytes(step["pattern_tag"].get<std::string>(), uint64_t{sectors} << 9);
    // What reached the device: the pages around the range, the partial ones read first.
    sector_t first = start;
    sector_t end = start + sectors;
    if (page_cache_) {
      first = start / kPageSectors * kPageSectors;
      end = (end + kPageSectors - 1) / kPageSectors * kPageSectors;
    }
    const uint32_t count = static_cast<uint32_t>(end - first);
    std::vector<uint8_t> data(uint64_t{count} << kSectorShift);
    int result = 0;
    if (first != start || end != start + sectors) {
      result = SubmitTo(device, BioOp::kRead, first, count, data.data());
    }
    std::copy(pattern.begin(), pattern.end(), data.begin() + ((start - first) << kSectorShift));
    if (result == 0) result = SubmitTo(device, BioOp::kWrite, first, count, data.data());
    const bool kernel_failed = step["dd_exit_status"].get<int>() != 0;
    EXPECT_EQ(result != 0, kernel_failed) << "result " << result;
    if (kernel_failed) {
      EXPECT_EQ(result, -EIO);
    }
  }

  void ExpectStatus(const nlohmann::json& step) {
    size_t snapshot_lines = 0;
    for (const auto& [device, line] : step["by_device"].items()) {
      if (device == "origin") continue;  // origin_status prints nothing
      ++snapshot_lines;
      SnapshotTarget* target = snapshots_[device].target.get();
      ASSERT_NE(target, nullptr) << device << " has a status line but no target";
      EXPECT_EQ(absl::StrCat("0 16384 snapshot ", target->Status()), line.get<std::string>())
          << device << " at " << step["label"];
    }
    size_t active = 0;
    for (const auto& [name, snapshot] : snapshots_) active += snapshot.target != nullptr ? 1 : 0;
    EXPECT_EQ(snapshot_lines, active) << "a snapshot the kernel did not have, or the reverse";
  }

  // The kernel's reads after the workload: per-chunk sha256, or an I/O error for all of them.
  void ExpectReads(const std::string& device) {
    const nlohmann::json& reads = golden_.manifest["reads"][device];
    const uint32_t chunk = reads["chunk_sectors"].get<uint32_t>();
    const sector_t size = origin_device_->size_sectors();
    const bool kernel_failed = reads["dd_exit_status"].get<int>() != 0;
    std::vector<std::string> hashes;
    std::vector<uint8_t> data(uint64_t{chunk} << kSectorShift);
    for (sector_t sector = 0; sector < size; sector += chunk) {
      const int result = SubmitTo(device, BioOp::kRead, sector, chunk, data.data());
      if (kernel_failed) {
        ASSERT_EQ(result, -EIO) << device << " sector " << sector;
        continue;
      }
      ASSERT_EQ(result, 0) << device << " sector " << sector;
      hashes.push_back(Sha256Hex(data));
    }
    EXPECT_EQ(hashes, golden_.ChunkSha256(device)) << device;
  }

  const testing::GoldenCase& golden_;
  const bool page_cache_;
  CollectingLog log_;
  std::unique_ptr<MemoryDevice> origin_device_;
  std::unique_ptr<Origin> origin_;
  std::map<std::string, Snapshot> snapshots_;  // by device name, "snap-a", ...
};

class OriginGoldenTest : public ::testing::TestWithParam<MultiCase> {
 protected:
  void SetUp() override {
    auto golden = testing::LoadGoldenCase(GetParam().name);
    ASSERT_TRUE(golden.ok()) << golden.status();
    golden_ = *std::move(golden);
  }
  testing::GoldenCase golden_;
};

TEST_P(OriginGoldenTest, TimelineGivesTheKernelsStatusLinesWriteResultsAndReads) {
  MultiSnapshotReplay replay(golden_, GetParam().page_cache);
  replay.Run();
}

TEST_P(OriginGoldenTest, ReplayWritesTheKernelsOriginAndCowImages) {
  MultiSnapshotReplay replay(golden_, GetParam().page_cache);
  replay.Run();
  const nlohmann::json& files = golden_.manifest["files"];
  EXPECT_EQ(Sha256Hex(replay.origin_device().bytes()),
            files["origin.img"]["sha256"].get<std::string>());
  for (const auto& [name, snapshot] : golden_.manifest["snapshots"].items()) {
    const std::string file = snapshot["cow_file"].get<std::string>();
    EXPECT_EQ(Sha256Hex(replay.cow(name).bytes()), files[file]["sha256"].get<std::string>())
        << name;
  }
}

TEST_P(OriginGoldenTest, ReplayLogsTheKernelsSnapshotMessages) {
  MultiSnapshotReplay replay(golden_, GetParam().page_cache);
  replay.Run();
  std::vector<std::string> kernel_lines, our_lines;
  for (const auto& line : golden_.manifest["dmesg_device_mapper"]) {
    const std::string text = line.get<std::string>();
    const size_t at = text.find(kSnapshotsLogPrefix);
    if (at != std::string::npos) kernel_lines.push_back(text.substr(at));
  }
  for (const CollectingLog::Entry& e : replay.log().entries()) {
    if (e.message.rfind(kSnapshotsLogPrefix, 0) == 0) our_lines.push_back(e.message);
  }
  EXPECT_EQ(our_lines, kernel_lines);
}

INSTANTIATE_TEST_SUITE_P(Kernel61, OriginGoldenTest,
                         ::testing::Values(MultiCase{"g-two-snapshots", true},
                                           MultiCase{"g-two-snapshots-one-invalid", true},
                                           MultiCase{"g-three-snapshots-reload", false}),
                         [](const ::testing::TestParamInfo<MultiCase>& info) {
                           std::string name = info.param.name;
                           std::replace(name.begin(), name.end(), '-', '_');
                           return name;
                         });

// g-two-snapshots: the list is largest chunk first (snap-b, 16, before snap-a, 8), and the origin
// splits at the smallest chunk size only from the resume after snap-b was made.
TEST(OriginGoldenOrder, SnapshotsAreListedLargestChunkFirstAndTheOriginSplitsAtTheSmallest) {
  auto golden = testing::LoadGoldenCase("g-two-snapshots");
  ASSERT_TRUE(golden.ok()) << golden.status();
  MultiSnapshotReplay replay(*golden, /*page_cache=*/true);
  replay.Run();
  ASSERT_NE(replay.origin(), nullptr);
  ASSERT_EQ(replay.origin()->snapshots().size(), 2u);
  EXPECT_EQ(replay.origin()->snapshots()[0], replay.target("snap-b"));
  EXPECT_EQ(replay.origin()->snapshots()[1], replay.target("snap-a"));
  EXPECT_EQ(replay.origin()->split_sectors(), 8u);
}

}  // namespace
}  // namespace snapsim
