// SPDX-License-Identifier: GPL-2.0-only
//
// snapsim explore: each finding prints a command that checks exactly its crash state again, and
// that command, run verbatim, reproduces the finding (a planted store bug gives explore-small
// findings: the faithful store holds on it). Bad --crash-point / --state input is one line.
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/support/cli_runner.h"
#include "tests/support/fake_campaign.h"
#include "tests/support/test_paths.h"
#include "util/atomic_file.h"

namespace snapsim {
namespace {

using testing::CliResult;
using testing::IsOneLine;
using testing::RunSnapsim;

constexpr const char* kPlanted = "explore-small-no-area-flush";

// A scenario directory holding explore-small with the area write's FLUSH/FUA left out.
std::string PlantedScenarioDir() {
  const std::string dir = testing::MakeTempDir("cli_explore_planted");
  std::string toml =
      testing::ReadFileOrEmpty(std::string(testing::kSourceDir) + "/scenarios/explore-small.toml");
  const std::string name_line = "name = \"explore-small\"";
  const size_t at = toml.find(name_line);
  EXPECT_NE(at, std::string::npos);
  toml.replace(at, name_line.size(), absl::StrCat("name = \"", kPlanted, "\""));
  absl::StrAppend(&toml, "\n[store]\nmutation = \"no_area_flush\"\n");
  EXPECT_TRUE(WriteFileAtomically(absl::StrCat(dir, "/", kPlanted, ".toml"), toml).ok());
  return dir;
}

struct PrintedFinding {
  std::string header;  // "FINDING <invariant> at <crash point>, crash state <i>"
  std::string replay;  // the command after "replay: "
};

std::vector<PrintedFinding> Findings(const std::string& out) {
  std::vector<PrintedFinding> found;
  for (absl::string_view line : absl::StrSplit(out, '\n')) {
    if (absl::StartsWith(line, "FINDING ")) found.push_back({std::string(line), ""});
    if (absl::StartsWith(line, "  replay: ") && !found.empty()) {
      found.back().replay = std::string(line.substr(10));
    }
  }
  return found;
}

TEST(CliExploreTest, EachFindingsReplayCommandReproducesExactlyItsCrashState) {
  const std::string dir = PlantedScenarioDir();
  const CliResult explored =
      RunSnapsim(absl::StrCat("explore --scenario ", kPlanted, " --scenario-dir '", dir,
                              "' --bound 24 --option corrected"));
  ASSERT_EQ(explored.exit_code, 1) << explored.out << explored.err;
  const std::vector<PrintedFinding> findings = Findings(explored.out);
  ASSERT_FALSE(findings.empty()) << explored.out;
  for (const PrintedFinding& f : findings) {
    // Run verbatim, only "snapsim" resolved to the built binary.
    ASSERT_TRUE(absl::StartsWith(f.replay, "snapsim explore ")) << f.replay;
    EXPECT_TRUE(absl::StrContains(f.replay, " --crash-point ")) << f.replay;
    EXPECT_TRUE(absl::StrContains(f.replay, " --state ")) << f.replay;
    const CliResult again = RunSnapsim(f.replay.substr(8));
    EXPECT_EQ(again.exit_code, 1) << f.replay << "\n" << again.out << again.err;
    const std::vector<PrintedFinding> replayed = Findings(again.out);
    ASSERT_EQ(replayed.size(), 1u) << f.replay << "\n" << again.out;
    EXPECT_EQ(replayed[0].header, f.header) << "the same invariant at the same crash state";
    EXPECT_EQ(replayed[0].replay, f.replay);
    EXPECT_TRUE(absl::StrContains(again.out, "1 states checked")) << again.out;
  }
}

TEST(CliExploreTest, BadCrashPointOrStateGetsOneLineAndExitTwo) {
  for (const char* args : {"explore --scenario explore-small --state 3",
                           "explore --scenario explore-small --crash-point 2 --state x",
                           "explore --scenario explore-small --crash-point 200000",
                           "explore --scenario explore-small --crash-point 9999",
                           "explore --scenario explore-small --crash-point 3 --state 99999999",
                           "explore --scenario explore-small --jobs 100000",
                           "explore --scenario explore-small --check-reads sideways"}) {
    const CliResult r = RunSnapsim(args);
    EXPECT_EQ(r.exit_code, 2) << args << "\n" << r.out;
    EXPECT_TRUE(IsOneLine(r.err)) << args << ": " << r.err;
  }
}

TEST(CliExploreTest, AScenarioWithSeveralSnapshotsIsExploredOverEveryCow) {
  const CliResult r =
      RunSnapsim("explore --scenario explore-snapshots --option corrected --bound 12 --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const nlohmann::json j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j.at("crash_points"), 12);
  EXPECT_EQ(j.at("points_over_bound"), 0);
  EXPECT_GT(j.at("states_checked").get<uint64_t>(), 12u) << "more than one state a point";
  EXPECT_TRUE(j.at("findings").empty());
}

TEST(CliExploreTest, JsonGivesTheWorkersTheWallTimeAndTheRate) {
  const CliResult r = RunSnapsim("explore --scenario explore-small --bound 6 --jobs 2 --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const nlohmann::json j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j.at("jobs"), 2);
  EXPECT_EQ(j.at("check_reads"), "direct");
  EXPECT_EQ(j.at("crash_points"), 6);
  EXPECT_GT(j.at("states_checked").get<uint64_t>(), 0u);
  EXPECT_GT(j.at("wall_seconds").get<double>(), 0.0);
  EXPECT_GT(j.at("states_per_second").get<double>(), 0.0);
}

TEST(CliExploreTest, NoIncrementalRecoversEveryStateAndFindsTheSame) {
  const std::string dir = PlantedScenarioDir();
  nlohmann::json results[2];
  for (bool incremental : {true, false}) {
    const CliResult r = RunSnapsim(absl::StrCat("explore --scenario-dir ", dir, " --scenario ",
                                                kPlanted, " --bound 16 --jobs 1 --json",
                                                incremental ? "" : " --no-incremental"));
    ASSERT_EQ(r.exit_code, 1) << r.err;  // the planted bug's findings
    results[incremental] = nlohmann::json::parse(r.out);
    EXPECT_EQ(results[incremental].at("incremental"), incremental);
  }
  const uint64_t checked = results[0].at("states_checked");
  EXPECT_EQ(results[0].at("states_recovered"), checked);
  EXPECT_LT(results[1].at("states_recovered").get<uint64_t>(), checked);
  for (const char* key : {"states_checked", "states_pruned", "verdicts", "findings"}) {
    EXPECT_EQ(results[0].at(key), results[1].at(key)) << key;
  }
  // The text says how many states were recovered from scratch.
  const CliResult text =
      RunSnapsim("explore --scenario explore-small --option corrected --bound 12 --jobs 1");
  ASSERT_EQ(text.exit_code, 0) << text.err;
  EXPECT_TRUE(absl::StrContains(text.out, "recovered from scratch: ")) << text.out;
  EXPECT_TRUE(absl::StrContains(text.out, "reused the recovery")) << text.out;
}

}  // namespace
}  // namespace snapsim
