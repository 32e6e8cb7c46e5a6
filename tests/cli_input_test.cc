// SPDX-License-Identifier: GPL-2.0-only
//
// Bad input to every command, whatever part of snapsim meets it first: flag values Abseil cannot
// parse, standard output that cannot be written, and paths the filesystem refuses. Each gets one
// line on stderr and exit 2, and nothing the user had is changed.
#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/support/cli_runner.h"
#include "tests/support/test_paths.h"

namespace snapsim {
namespace {

namespace fs = std::filesystem;
using testing::CliResult;
using testing::IsOneLine;
using testing::ReadFileOrEmpty;
using testing::RunSnapsim;

std::string FreshDir(const std::string& name) {
  const std::string dir = ::testing::TempDir() + "/cli_input_" + name;
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

TEST(CliInputTest, FlagValuesOfTheWrongTypeGetOneLineNamingTheFlagAndExitTwo) {
  struct Case {
    const char* args;
    const char* err;
  };
  const Case cases[] = {
      {"run --seed 1 --json=maybe",
       "snapsim run: bad value 'maybe' for --json: expected true or false\n"},
      {"campaign --jobs -3",
       "snapsim campaign: bad value '-3' for --jobs: expected an integer "
       "from 0 to 4294967295\n"},
      {"campaign --minimize-runs=-1",
       "snapsim campaign: bad value '-1' for --minimize-runs: "
       "expected an integer from 0 to 4294967295\n"},
      {"explore --scenario explore-small --bound -1",
       "snapsim explore: bad value '-1' for --bound: expected an integer from 0 to 4294967295\n"},
      {"explore --scenario explore-small --bound abc",
       "snapsim explore: bad value 'abc' for --bound: expected an integer from 0 to "
       "4294967295\n"},
      {"explore --scenario explore-small --bound 99999999999999999999",
       "snapsim explore: bad value '99999999999999999999' for --bound: expected an integer from "
       "0 to 4294967295\n"},
      {"run --seed 1 --nojson=1", "snapsim run: --nojson takes no value\n"},
  };
  for (const Case& c : cases) {
    const CliResult r = RunSnapsim(c.args);
    EXPECT_EQ(r.exit_code, 2) << c.args;
    EXPECT_EQ(r.err, c.err) << c.args;
    EXPECT_EQ(r.out, "") << c.args;
  }
}

// RunSnapsim redirects stdout itself: this runs `snapsim <args> >/dev/full`.
CliResult RunToDevFull(const std::string& args) {
  const std::string err = ::testing::TempDir() + "/cli_input_dev_full.err";
  const std::string command =
      absl::StrCat("'", testing::kSnapsimBinary, "' ", args, " >/dev/full 2>'", err, "'");
  const int status = std::system(command.c_str());
  CliResult result;
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  result.err = ReadFileOrEmpty(err);
  fs::remove(err);
  return result;
}

TEST(CliInputTest, AFailedWriteToStandardOutputIsAnError) {
  ASSERT_TRUE(fs::is_character_file("/dev/full"));
  struct Case {
    const char* args;
    const char* prefix;
  };
  for (const Case& c : {Case{"run --scenario default --seed 2 --json", "snapsim run"},
                        Case{"run --scenario default --seed 2", "snapsim run"},
                        Case{"scenarios", "snapsim scenarios"}, Case{"--help", "snapsim"}}) {
    const CliResult r = RunToDevFull(c.args);
    EXPECT_EQ(r.exit_code, 2) << c.args;
    EXPECT_EQ(r.err, absl::StrCat(c.prefix,
                                  ": cannot write to standard output: No space left "
                                  "on device\n"))
        << c.args;
  }
  const CliResult ok = RunSnapsim("scenarios");
  EXPECT_EQ(ok.exit_code, 0);
  EXPECT_EQ(ok.err, "");
}

TEST(CliInputTest, ExportDirThatIsARegularFileIsOneLineAndLeftAlone) {
  const std::string dir = FreshDir("export_file");
  const std::string file = dir + "/a-file";
  { std::ofstream(file) << "keep me\n"; }
  const CliResult r =
      RunSnapsim(absl::StrCat("run --scenario default --seed 2 --export-dir '", file, "'"));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err,
            absl::StrCat("snapsim run: --export-dir ", file, ": exists and is not a directory\n"));
  EXPECT_EQ(ReadFileOrEmpty(file), "keep me\n");
}

// The export happens at the first crash, mid-run: its failure is the run's failure.
TEST(CliInputTest, ExportThatFailsDuringTheRunIsOneLineAndExitTwo) {
  const std::string dir = FreshDir("export_under_file");
  const std::string file = dir + "/a-file";
  { std::ofstream(file) << "keep me\n"; }
  const CliResult r = RunSnapsim(
      absl::StrCat("run --scenario default --seed 2 --json --export-dir '", file, "/sub'"));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err, absl::StrCat("snapsim run: --export-dir: export failed: ", file,
                                "/sub: Not a directory\n"));
  EXPECT_EQ(ReadFileOrEmpty(file), "keep me\n");
}

TEST(CliInputTest, ResultsFileThatIsADirectoryIsOneLineAndLeftAlone) {
  const std::string out = FreshDir("results_dir");
  const std::string campaign = absl::StrCat(
      "campaign --scenario steady-origin-writes --seeds 1..2 --no-minimize --out '", out, "'");
  ASSERT_NE(RunSnapsim(campaign).exit_code, 2);
  fs::remove(out + "/results.jsonl");
  fs::create_directories(out + "/results.jsonl/inside");
  const CliResult r = RunSnapsim(campaign);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err, absl::StrCat("snapsim campaign: ", out,
                                "/results.jsonl: is a directory, not a file\n"));
  EXPECT_TRUE(fs::is_directory(out + "/results.jsonl/inside"));
}

}  // namespace
}  // namespace snapsim
