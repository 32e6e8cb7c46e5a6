// SPDX-License-Identifier: GPL-2.0-only
//
// World with several snapshots of one origin (issue 12): a COW device per snapshot, an Origin over
// them, made and removed on the live origin, every device hit by a power cut, and lvm2's
// re-creation of every snapshot that exists after it.
#include "sim/run/world.h"

#include <filesystem>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "sim/workload/scenario_toml.h"
#include "tests/support/bio_builder.h"
#include "tests/support/fake_campaign.h"

namespace snapsim {
namespace {

constexpr char kThreeSnapshots[] = R"(name = "w"
description = "three snapshots of one origin"

[geometry]
chunk_sectors = 16
origin_size = "512KiB"
cow_size = "256KiB"

[[snapshots]]
chunk_sectors = 4
cow_size = "128KiB"

[[snapshots]]
chunk_sectors = 8
cow_size = "128KiB"
create_at_step = 10
)";

Scenario ThreeSnapshots() {
  absl::StatusOr<Scenario> s = ParseScenario(kThreeSnapshots, "w.toml");
  EXPECT_TRUE(s.ok()) << s.status();
  return *s;
}

class WorldTest : public ::testing::Test {
 protected:
  WorldTest()
      : scenario_(ThreeSnapshots()),
        world_(scenario_, QuietProfile(), Prng(1).Split("devices"), Prng(1).Split("fiu"),
               /*trace_out=*/nullptr, /*scratch=*/true) {
    world_.BuildDevices(std::nullopt, std::nullopt, {});
  }

  // Writes `count` sectors at `sector` of the origin and runs the world until the write ends.
  int WriteOrigin(sector_t sector, uint32_t count) {
    std::vector<uint8_t> data(size_t{count} << kSectorShift, 0x5a);
    bool done = false;
    int error = -1;
    world_.SubmitOrigin(testing::MakeBio(BioOp::kWrite, sector, count, data.data(), [&](int e) {
      error = e;
      done = true;
    }));
    EXPECT_TRUE(world_.scheduler().RunUntil([&] { return done; }));
    return error;
  }

  // Runs the world until no target has anything in flight.
  void Settle() {
    EXPECT_TRUE(world_.scheduler().RunUntil([&] {
      for (size_t i = 0; i < world_.snapshot_count(); ++i) {
        const SnapshotTarget* target = world_.target(i);
        if (target != nullptr && target->in_flight() != 0) return false;
      }
      return world_.origin() == nullptr || world_.origin()->in_flight() == 0;
    }));
  }

  Scenario scenario_;
  World world_;
};

TEST_F(WorldTest, ActivationRegistersTheSnapshotsThatExistWithTheOrigin) {
  ASSERT_TRUE(world_.several_snapshots());
  ASSERT_EQ(world_.snapshot_count(), 3u);
  ASSERT_TRUE(world_.Activate(TargetKind::kSnapshot).ok());
  ASSERT_NE(world_.origin(), nullptr);
  EXPECT_NE(world_.target(0), nullptr);
  EXPECT_NE(world_.target(1), nullptr);
  EXPECT_EQ(world_.target(2), nullptr) << "made at step 10, not with the first";
  EXPECT_FALSE(world_.snapshot_exists(2));
  // Largest chunk first; the split is the smallest chunk size, set by the origin's resume.
  EXPECT_EQ(world_.origin()->snapshots(),
            (std::vector<SnapshotTarget*>{world_.target(0), world_.target(1)}));
  EXPECT_EQ(world_.origin()->split_sectors(), 4u);
  EXPECT_EQ(world_.cow_device(1).name(), "cow-1");
  EXPECT_EQ(world_.cow_device(2).size_sectors(), 256u);
}

TEST_F(WorldTest, AnOriginWriteIsCopiedIntoEverySnapshotAtItsOwnChunkSize) {
  ASSERT_TRUE(world_.Activate(TargetKind::kSnapshot).ok());
  const std::string before0 = world_.target(0)->Status();
  const std::string before1 = world_.target(1)->Status();
  EXPECT_EQ(WriteOrigin(0, 4), 0);
  Settle();
  // "<allocated>/<total> <metadata>": header and area 0 to start with, then one chunk copied
  // into each: 16 sectors for snapshot 0, 4 for snapshot 1.
  EXPECT_EQ(before0, "32/512 32");
  EXPECT_EQ(world_.target(0)->Status(), "48/512 32");
  EXPECT_EQ(before1, "8/256 8");
  EXPECT_EQ(world_.target(1)->Status(), "12/256 8");
}

TEST_F(WorldTest, SnapshotsAreMadeAndRemovedOnTheLiveOrigin) {
  ASSERT_TRUE(world_.Activate(TargetKind::kSnapshot).ok());
  ASSERT_TRUE(world_.MakeSnapshot(2).ok());
  ASSERT_NE(world_.target(2), nullptr);
  EXPECT_TRUE(world_.snapshot_exists(2));
  EXPECT_EQ(world_.origin()->snapshots().size(), 3u);
  world_.RemoveSnapshot(1);
  EXPECT_EQ(world_.target(1), nullptr);
  EXPECT_FALSE(world_.snapshot_exists(1));
  EXPECT_EQ(world_.origin()->snapshots(),
            (std::vector<SnapshotTarget*>{world_.target(0), world_.target(2)}));
  EXPECT_EQ(world_.origin()->split_sectors(), 8u) << "the origin resumed without snapshot 1";
  // A write now copies into snapshots 0 and 2 only.
  EXPECT_EQ(WriteOrigin(64, 4), 0);
  Settle();
  EXPECT_EQ(world_.target(0)->Status(), "48/512 32");
  EXPECT_EQ(world_.target(2)->Status(), "24/256 16");
}

TEST_F(WorldTest, APowerCutHitsEveryDeviceAndRecoveryRecreatesTheSnapshotsThatExist) {
  ASSERT_TRUE(world_.Activate(TargetKind::kSnapshot).ok());
  ASSERT_TRUE(world_.MakeSnapshot(2).ok());
  world_.RemoveSnapshot(1);
  EXPECT_EQ(WriteOrigin(0, 4), 0);
  Settle();
  const std::string status0 = world_.target(0)->Status();
  const std::string status2 = world_.target(2)->Status();
  // An origin write in flight when the power fails: its copies are not committed.
  std::vector<uint8_t> data(4 << kSectorShift, 0x77);
  world_.SubmitOrigin(testing::MakeBio(BioOp::kWrite, 128, 4, data.data(), [](int) {}));
  Prng crash(7);
  world_.PowerCut(crash);
  for (size_t i = 0; i < world_.snapshot_count(); ++i) {
    EXPECT_TRUE(world_.cow_device(i).NonDurableWrites().empty()) << "cow " << i;
  }
  world_.AbandonTarget();
  EXPECT_EQ(world_.origin(), nullptr);
  world_.PowerOn();
  ASSERT_TRUE(world_.Activate(TargetKind::kSnapshot).ok());
  EXPECT_EQ(world_.target(0)->Status(), status0) << "committed exceptions come back";
  EXPECT_EQ(world_.target(2)->Status(), status2);
  EXPECT_EQ(world_.target(1), nullptr) << "a removed snapshot stays removed";
  EXPECT_EQ(world_.origin()->snapshots(),
            (std::vector<SnapshotTarget*>{world_.target(0), world_.target(2)}));
  EXPECT_EQ(world_.origin()->split_sectors(), 8u);
}

TEST_F(WorldTest, ExportWritesOneImagePerCow) {
  ASSERT_TRUE(world_.Activate(TargetKind::kSnapshot).ok());
  // A fresh directory: exports never write over an existing image.
  const std::filesystem::path dir = testing::MakeTempDir("world_export");
  ASSERT_TRUE(world_.ExportDurableImages(dir.string()).ok());
  for (const char* name : {"origin.img", "cow.img", "cow-1.img", "cow-2.img"}) {
    EXPECT_TRUE(std::filesystem::exists(dir / name)) << name;
  }
  EXPECT_EQ(std::filesystem::file_size(dir / "cow-1.img"), 128u * 1024);
}

}  // namespace
}  // namespace snapsim
