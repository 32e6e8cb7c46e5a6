// SPDX-License-Identifier: GPL-2.0-only
//
// snapsim run, explore and minimize from the command line: verdicts, replay commands, and one
// clear line for every kind of bad input.
#include <sys/stat.h>

#include <filesystem>
#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "sim/world/trace.h"
#include "tests/support/cli_runner.h"
#include "tests/support/fake_campaign.h"
#include "tests/support/test_paths.h"
#include "util/atomic_file.h"

namespace snapsim {
namespace {

using testing::IsOneLine;
using testing::RunSnapsim;

TEST(CliRunTest, PrintsVerdictsTraceHashAndTheReplayCommand) {
  testing::CliResult r = RunSnapsim("run --scenario default --seed 9");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("snapshot_image"), std::string::npos);
  EXPECT_NE(r.out.find("trace hash "), std::string::npos);
  EXPECT_NE(r.out.find("replay: snapsim run --scenario default --seed 9"), std::string::npos);
}

TEST(CliRunTest, KnownFindingExitsOneAndTheCorrectionHolds) {
  testing::CliResult faithful = RunSnapsim("run --scenario area-boundary-reload --seed 3");
  EXPECT_EQ(faithful.exit_code, 1);
  EXPECT_NE(faithful.out.find("FINDING table_well_formed"), std::string::npos);
  testing::CliResult corrected =
      RunSnapsim("run --scenario area-boundary-reload --seed 3 --option skip_metadata_after_load");
  EXPECT_EQ(corrected.exit_code, 0) << corrected.out;
}

// With several snapshots a finding names the snapshot it was found on; with one, nothing changes.
TEST(CliRunTest, AFindingOfARunWithSeveralSnapshotsNamesItsSnapshot) {
  testing::CliResult r = RunSnapsim("run --scenario snapshot-overflow --seed 18");
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.out.find("\nFINDING valid_flag_sticky on snapshot 1 (critical, within contract)"),
            std::string::npos)
      << r.out;
  testing::CliResult one = RunSnapsim("run --scenario area-boundary-reload --seed 3");
  EXPECT_NE(one.out.find("\nFINDING table_well_formed (critical"), std::string::npos) << one.out;
}

TEST(CliRunTest, RepeatedOptionFlagsAllApplyAndAppearInTheReplayCommand) {
  testing::CliResult r = RunSnapsim(
      "run --scenario area-boundary-reload --seed 3 --option durable_invalidation "
      "--option skip_metadata_after_load");
  EXPECT_EQ(r.exit_code, 0) << "the second --option was dropped: " << r.out;
  EXPECT_NE(r.out.find("--option durable_invalidation,skip_metadata_after_load --seed 3"),
            std::string::npos)
      << r.out;
}

TEST(CliRunTest, OptionAppliesOverAReplayCaseAndJoinsItsReplayCommand) {
  const std::string c = std::string(testing::kSourceDir) +
                        "/scenarios/findings/next-free-lands-on-metadata-area.case.json";
  EXPECT_EQ(RunSnapsim("run --replay-case " + c).exit_code, 1);
  testing::CliResult corrected =
      RunSnapsim("run --replay-case " + c + " --option skip_metadata_after_load");
  EXPECT_EQ(corrected.exit_code, 0) << corrected.out;
  EXPECT_NE(corrected.out.find("replay: snapsim run --replay-case " + c +
                               " --option skip_metadata_after_load"),
            std::string::npos)
      << corrected.out;
}

// A case that records its trace hash replays with it; a case that does not is told so on stderr.
TEST(CliRunTest, ReplayCaseIsCheckedAgainstItsRecordedTraceHash) {
  const std::string c = std::string(testing::kSourceDir) +
                        "/scenarios/findings/next-free-lands-on-metadata-area.case.json";
  testing::CliResult plain = RunSnapsim("run --json --replay-case " + c);
  ASSERT_EQ(plain.exit_code, 1) << plain.err;
  const uint64_t hash = nlohmann::json::parse(plain.out).at("trace_hash").get<uint64_t>();
  const std::string dir = testing::MakeTempDir("cli_run_hash");
  for (const uint64_t recorded : {hash, hash ^ 1}) {
    nlohmann::json j = nlohmann::json::parse(testing::ReadFileOrEmpty(c));
    j["trace_hash"] = FormatTraceHash(recorded);
    const std::string path = dir + "/case.json";
    ASSERT_TRUE(WriteFileAtomically(path, j.dump(2)).ok());
    testing::CliResult r = RunSnapsim("run --replay-case " + path);
    EXPECT_EQ(r.exit_code, 1);  // the finding, and for the wrong hash the mismatch too
    if (recorded == hash) {
      EXPECT_EQ(r.err, "") << "the recorded hash is the replayed one";
      // The planted nondeterminism drops a step: the case no longer replays as recorded.
      testing::CliResult planted = RunSnapsim("run --plant-nondeterminism --replay-case " + path);
      EXPECT_NE(planted.err.find("replays with trace hash"), std::string::npos) << planted.err;
    } else {
      EXPECT_TRUE(IsOneLine(r.err)) << r.err;
      EXPECT_NE(
          r.err.find(absl::StrCat("not the ", FormatTraceHash(recorded), " it was written with")),
          std::string::npos)
          << r.err;
    }
  }
}

TEST(CliRunTest, BadInputGetsOneLineAndExitTwo) {
  for (const char* args :
       {"run --seed -4", "run --seed banana", "run", "run --scenario no-such-scenario --seed 1",
        "run --seed 1 --option bogus", "run --seed 1 extra", "run --replay-case /nonexistent.json",
        "explore --scenario explore-small --bound 0", "minimize --scenario default"}) {
    testing::CliResult r = RunSnapsim(args);
    EXPECT_EQ(r.exit_code, 2) << args;
    EXPECT_TRUE(IsOneLine(r.err)) << args << ": " << r.err;
  }
}

// --trace never replaces what is at its path: an earlier trace, or a device node (a character
// device once became a 1.8 MB regular file).
TEST(CliRunTest, TraceRefusesAnExistingPathAndLeavesItAlone) {
  const std::string dir = ::testing::TempDir() + "/cli_run_trace";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const std::string trace = dir + "/t.jsonl";
  ASSERT_EQ(RunSnapsim("run --scenario default --seed 2 --trace " + trace).exit_code, 0);
  const auto size = std::filesystem::file_size(trace);
  testing::CliResult again = RunSnapsim("run --scenario default --seed 3 --trace " + trace);
  EXPECT_EQ(again.exit_code, 2);
  EXPECT_EQ(again.err, "snapsim run: --trace " + trace + ": exists; not overwritten\n");
  EXPECT_EQ(std::filesystem::file_size(trace), size);
  const std::string fifo = dir + "/fifo";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  testing::CliResult device = RunSnapsim("run --scenario default --seed 3 --trace " + fifo);
  EXPECT_EQ(device.exit_code, 2);
  EXPECT_TRUE(std::filesystem::is_fifo(fifo));
  testing::CliResult directory = RunSnapsim("run --replay-case " + dir);
  EXPECT_EQ(directory.exit_code, 2);
  EXPECT_EQ(directory.err, "snapsim run: " + dir + ": is a directory, not a file\n");
}

TEST(CliRunTest, ExploreStatesItsBound) {
  testing::CliResult r =
      RunSnapsim("explore --scenario explore-small --bound 6 --option corrected");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("up to bound 6 hold"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace snapsim
