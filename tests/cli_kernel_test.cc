// SPDX-License-Identifier: GPL-2.0-only
//
// `snapsim kernel` refuses bad input with one line and exit 2 before it boots anything, never
// writes into a directory the user had, and says how to set up when there is no kernel. (The
// boots themselves are the `kernel` label: tests/kernel_test.sh.)
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/support/cli_runner.h"
#include "tests/support/fake_campaign.h"
#include "tests/support/test_paths.h"

namespace snapsim {
namespace {

using testing::CliResult;
using testing::MakeTempDir;
using testing::RunSnapsim;

std::string Case(const std::string& id) {
  return absl::StrCat("'", testing::kSourceDir, "/scenarios/findings/", id, ".case.json'");
}

// No kernel cache: every command that would boot says how to get one.
class CliKernelTest : public ::testing::Test {
 protected:
  void SetUp() override {
    empty_cache_ = MakeTempDir("cli_kernel_no_cache");
    setenv("SNAPSIM_KERNEL_DIR", empty_cache_.c_str(), 1);
  }
  void TearDown() override { unsetenv("SNAPSIM_KERNEL_DIR"); }
  std::string empty_cache_;
};

void ExpectUsageError(const CliResult& r, const std::string& text) {
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  EXPECT_TRUE(testing::IsOneLine(r.err)) << r.err;
  EXPECT_TRUE(absl::StrContains(r.err, text)) << r.err;
}

TEST_F(CliKernelTest, BadSubcommandsAndFlags) {
  ExpectUsageError(RunSnapsim("kernel"), "setup, check, replay or script");
  ExpectUsageError(RunSnapsim("kernel frobnicate"), "unknown subcommand 'frobnicate'");
  ExpectUsageError(RunSnapsim("kernel setup --vmlinuz /nonexistent"),
                   "--vmlinuz and --modules go together");
  ExpectUsageError(RunSnapsim("kernel replay " + Case("invalidation-lost-in-cow-cache") +
                              " --crash-state maybe"),
                   "--crash-state must be auto, log or snapsim");
  ExpectUsageError(RunSnapsim("kernel check"), "check takes one export directory");
}

TEST_F(CliKernelTest, CasesTheKernelCannotReplayAreRefused) {
  ExpectUsageError(RunSnapsim("kernel replay " + Case("merge-commits-before-origin-durable")),
                   "merges are not replayed on the kernel yet");
  ExpectUsageError(RunSnapsim("kernel replay " + Case("copy-error-hangs-bios")),
                   "injects I/O or allocation errors");
  ExpectUsageError(RunSnapsim("kernel replay /nonexistent.case.json"), "not found");
}

TEST_F(CliKernelTest, MissingKernelSaysHowToSetUp) {
  const std::string out = MakeTempDir("cli_kernel_missing") + "/out";
  ExpectUsageError(RunSnapsim(absl::StrCat("kernel replay ", Case("invalidation-lost-in-cow-cache"),
                                           " --out '", out, "'")),
                   "run `snapsim kernel setup`");
  EXPECT_FALSE(std::filesystem::exists(out + "/origin.img"));
}

TEST_F(CliKernelTest, NothingTheUserHadIsOverwritten) {
  const std::string out = MakeTempDir("cli_kernel_used");
  { std::ofstream(out + "/notes.txt") << "precious"; }
  ExpectUsageError(RunSnapsim(absl::StrCat("kernel replay ", Case("invalidation-lost-in-cow-cache"),
                                           " --out '", out, "'")),
                   "is not empty; not writing into it");
  EXPECT_EQ(testing::ReadFileOrEmpty(out + "/notes.txt"), "precious");
  // check: the export directory must hold the images.
  ExpectUsageError(RunSnapsim(absl::StrCat("kernel check '", out, "'")), "origin.img not found");
}

}  // namespace
}  // namespace snapsim
