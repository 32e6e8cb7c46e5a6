// SPDX-License-Identifier: GPL-2.0-only
//
// `snapsim hashes`: the pinned trace hashes (tests/pinned_trace_hashes.txt) hold for this build;
// a planted nondeterminism and an edited pin file are caught, each difference named; a broken
// pin file is bad input.
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "gtest/gtest.h"
#include "tests/support/cli_runner.h"
#include "tests/support/fake_campaign.h"
#include "tests/support/test_paths.h"
#include "util/atomic_file.h"

namespace snapsim {
namespace {

using testing::CliResult;
using testing::IsOneLine;
using testing::MakeTempDir;
using testing::ReadFileOrEmpty;
using testing::RunSnapsim;

std::string Pinned() { return std::string(testing::kSourceDir) + "/tests/pinned_trace_hashes.txt"; }

std::string Scenarios() { return std::string(testing::kSourceDir) + "/scenarios"; }

CliResult Hashes(const std::string& args, const std::string& scenario_dir = Scenarios()) {
  return RunSnapsim(absl::StrCat("hashes --scenario-dir '", scenario_dir, "' ", args));
}

// A scenario directory holding the default scenario only (8 runs, not the whole pinned set):
// for the tests of hashes itself, which need not run everything again.
std::string DefaultScenarioOnly() {
  const std::string dir = MakeTempDir("cli_hashes_scenarios");
  EXPECT_TRUE(
      WriteFileAtomically(dir + "/default.toml", ReadFileOrEmpty(Scenarios() + "/default.toml"))
          .ok());
  return dir;
}

// The pinned file's lines of the default scenario, with its header.
std::string PinnedDefaultLines() {
  std::string out;
  for (absl::string_view line : absl::StrSplit(ReadFileOrEmpty(Pinned()), '\n')) {
    if (absl::StartsWith(line, "#") || absl::StartsWith(line, "scenario default ")) {
      absl::StrAppend(&out, line, "\n");
    }
  }
  return out;
}

TEST(CliHashesTest, PinnedTraceHashesHold) {
  CliResult r = Hashes(absl::StrCat("--check '", Pinned(), "'"));
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err
                            << "\nIf the behaviour changed on purpose: snapsim hashes --write "
                               "tests/pinned_trace_hashes.txt";
  EXPECT_TRUE(absl::StrContains(r.out, "trace hashes as pinned")) << r.out;
  EXPECT_FALSE(absl::StrContains(r.out, "differs:")) << r.out;
}

TEST(CliHashesTest, PlantedNondeterminismIsCaught) {
  const std::string dir = DefaultScenarioOnly();
  ASSERT_TRUE(WriteFileAtomically(dir + "/pinned.txt", PinnedDefaultLines()).ok());
  CliResult r = Hashes(absl::StrCat("--check '", dir, "/pinned.txt' --plant-nondeterminism"), dir);
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  // Every run drops a step; a few may drop one that changes nothing.
  size_t differ = 0;
  for (size_t at = r.out.find("differs: "); at != std::string::npos;
       at = r.out.find("differs: ", at + 1)) {
    ++differ;
  }
  EXPECT_GE(differ, 6u) << r.out;  // of 8
}

TEST(CliHashesTest, WrittenFileChecksAndEveryEditIsNamed) {
  const std::string dir = DefaultScenarioOnly();
  const std::string file = dir + "/pinned.txt";
  CliResult w = Hashes(absl::StrCat("--write '", file, "'"), dir);
  ASSERT_EQ(w.exit_code, 0) << w.err;
  // What --write writes is what --check accepts (PinnedTraceHashesHold checks the pinned file).
  EXPECT_EQ(ReadFileOrEmpty(file), PinnedDefaultLines()) << "the pinned file is up to date";

  std::string text = ReadFileOrEmpty(file);
  const size_t line = text.find("scenario default 1 ");
  ASSERT_NE(line, std::string::npos);
  const size_t hash_at = line + std::string("scenario default 1 ").size();
  text[hash_at] = text[hash_at] == '0' ? '1' : '0';  // one hash changed
  text = absl::StrReplaceAll(text, {{"scenario default 2 ", "scenario default 9999 "}});
  ASSERT_TRUE(WriteFileAtomically(file, text).ok());
  CliResult r = Hashes(absl::StrCat("--check '", file, "'"), dir);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(absl::StrContains(r.out, "differs: scenario default 1: pinned ")) << r.out;
  EXPECT_TRUE(absl::StrContains(r.out, "not pinned: scenario default 2 ")) << r.out;
  EXPECT_TRUE(absl::StrContains(r.out, "gone: scenario default 9999 ")) << r.out;
}

TEST(CliHashesTest, BadInputIsOneLineExitTwo) {
  const std::string dir = MakeTempDir("cli_hashes_bad");
  ASSERT_TRUE(WriteFileAtomically(dir + "/bad.txt", "# header\nscenario default 1 xyz\n").ok());
  for (const std::string& args :
       {absl::StrCat("--check '", dir, "/bad.txt'"), absl::StrCat("--check '", dir, "/none.txt'"),
        absl::StrCat("--check a --write b"), std::string("extra")}) {
    CliResult r = Hashes(args);
    EXPECT_EQ(r.exit_code, 2) << args;
    EXPECT_TRUE(IsOneLine(r.err)) << args << ": " << r.err;
  }
  EXPECT_TRUE(absl::StrContains(Hashes(absl::StrCat("--check '", dir, "/bad.txt'")).err,
                                "bad.txt:2: expected"));
}

}  // namespace
}  // namespace snapsim
