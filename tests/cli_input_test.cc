// SPDX-License-Identifier: GPL-2.0-only
//
// Bad input to every command, whatever part of snapsim meets it first: flag values Abseil cannot
// parse, standard output that cannot be written, and paths the filesystem refuses. Each gets one
// line on stderr and exit 2, and nothing the user had is changed.
#include <sys/wait.h>
#include <unistd.h>

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

// The images' paths are checked before the run (the full filesystem test below fails mid-run).
TEST(CliInputTest, ExportDirUnderARegularFileIsOneLineAndExitTwo) {
  const std::string dir = FreshDir("export_under_file");
  const std::string file = dir + "/a-file";
  { std::ofstream(file) << "keep me\n"; }
  const CliResult r = RunSnapsim(
      absl::StrCat("run --scenario default --seed 2 --json --export-dir '", file, "/sub'"));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err, absl::StrCat("snapsim run: --export-dir: stat ", file,
                                "/sub/origin.img: Not a directory\n"));
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

TEST(CliInputTest, RunExportDirRefusesExistingImagesBeforeTheRun) {
  const std::string dir = FreshDir("export_existing");
  { std::ofstream(dir + "/cow.img") << "precious"; }
  const CliResult r =
      RunSnapsim(absl::StrCat("run --scenario default --seed 2 --export-dir '", dir, "'"));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err, absl::StrCat("snapsim run: --export-dir: ", dir,
                                "/cow.img: exists; not overwritten\n"));
  EXPECT_EQ(r.out, "");  // refused before the run
  EXPECT_EQ(ReadFileOrEmpty(dir + "/cow.img"), "precious");
  EXPECT_FALSE(fs::exists(dir + "/origin.img"));
}

TEST(CliInputTest, RepeatedOrConflictingFlagsGetOneLineAndExitTwo) {
  struct Case {
    std::string args;
    std::string err;
  };
  const std::string replay_case =
      absl::StrCat(testing::kSourceDir, "/scenarios/findings/copy-error-hangs-bios.case.json");
  const Case cases[] = {
      {"run --seed 1 --seed 2",
       "snapsim run: --seed given 2 times ('1', then '2'): give it once\n"},
      {"run --seed=1 --scenario default --scenario many-areas",
       "snapsim run: --scenario given 2 times ('default', then 'many-areas'): give it once\n"},
      {"explore --scenario explore-small --bound 3 --bound 4",
       "snapsim explore: --bound given 2 times ('3', then '4'): give it once\n"},
      {absl::StrCat("run --replay-case '", replay_case, "' --seed 4"),
       "snapsim run: --replay-case runs the case's own scenario and seed: --seed cannot be given "
       "with it\n"},
      {absl::StrCat("run --scenario default --replay-case '", replay_case, "'"),
       "snapsim run: --replay-case runs the case's own scenario and seed: --scenario cannot be "
       "given with it\n"},
  };
  for (const Case& c : cases) {
    const CliResult r = RunSnapsim(c.args);
    EXPECT_EQ(r.exit_code, 2) << c.args;
    EXPECT_EQ(r.err, c.err) << c.args;
    EXPECT_EQ(r.out, "") << c.args;
  }
  // A list flag given twice still means both.
  const CliResult both = RunSnapsim("run --seed 1 --option corrected --option corrected --json");
  EXPECT_NE(both.exit_code, 2) << both.err;
}

// A filesystem that fills up during the export: the export fails with one line, leaves no
// truncated image (nor temporary file), and the same export tried again fails the same way
// instead of refusing to overwrite its own leftovers.
TEST(CliInputTest, ExportOnAFullFilesystemLeavesNothingAndCanBeRetried) {
  const std::string dir = FreshDir("export_full");
  const std::string mount = absl::StrCat("mount -t tmpfs -o size=64k snapsim-test '", dir, "'");
  if (::geteuid() != 0 || std::system((mount + " 2>/dev/null").c_str()) != 0) {
    GTEST_SKIP() << "cannot mount a 64 KiB tmpfs here (needs root and mount rights): the full "
                    "filesystem case is not tested";
  }
  const std::string command =
      absl::StrCat("export --scenario steady-origin-writes --seed 3 --out '", dir, "'");
  const CliResult first = RunSnapsim(command);
  const CliResult again = RunSnapsim(command);
  const auto entries = std::distance(fs::directory_iterator(dir), fs::directory_iterator());
  EXPECT_EQ(std::system(absl::StrCat("umount '", dir, "'").c_str()), 0);
  EXPECT_EQ(first.exit_code, 2);
  EXPECT_TRUE(IsOneLine(first.err)) << first.err;
  EXPECT_TRUE(absl::StrContains(first.err, "No space left on device")) << first.err;
  EXPECT_EQ(again.exit_code, 2);
  EXPECT_TRUE(absl::StrContains(again.err, "No space left on device")) << again.err;
  EXPECT_EQ(entries, 0) << "the full filesystem holds a leftover file";
}

}  // namespace
}  // namespace snapsim
