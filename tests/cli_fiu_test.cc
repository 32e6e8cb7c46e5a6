// SPDX-License-Identifier: GPL-2.0-only
//
// The snapsim binary under fiu-run (libfiu's POSIX preload): when the disk fills up or fails
// while snapsim writes its output, it says so in one line, exits non-zero, and leaves the
// user's file as it was, with no temporary file behind.
#include <sys/wait.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "absl/strings/str_format.h"
#include "gtest/gtest.h"
#include "tests/support/test_paths.h"

namespace snapsim {
namespace {

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// The AddressSanitizer runtime the binary links, or "" when it has none.
std::string AsanRuntimeOf(const std::string& binary) {
  const std::string command = "ldd " + binary + " | awk '/libasan/ {print $3}'";
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return "";
  std::string out;
  char buffer[512];
  while (fgets(buffer, sizeof buffer, pipe) != nullptr) out += buffer;
  pclose(pipe);
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  return out;
}

class FiuRunTest : public ::testing::TestWithParam<int> {};

TEST_P(FiuRunTest, FailedTraceWriteLeavesNothingBehindAndSaysWhy) {
  ASSERT_EQ(std::system("command -v fiu-run > /dev/null"), 0)
      << "fiu-run is missing: run scripts/install-deps.sh (package fiu-utils)";
  const int error = GetParam();
  const std::string dir = ::testing::TempDir() + absl::StrFormat("/fiu-%d", error);
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const std::string trace = dir + "/trace.jsonl";  // new: --trace never replaces a file
  // The first write(2) of the process fails: that is the trace file's, since nothing else is
  // written before the run ends. Under AddressSanitizer its runtime must come first in
  // LD_PRELOAD, ahead of fiu's libraries (fiu-run sets LD_PRELOAD, so a shell puts it back in
  // front), and LeakSanitizer must not count fiu_run_preload's own allocation. The runtime's
  // path is looked up here, before fiu-run: a child of fiu-run (ldd) would have its own first
  // write(2) fail, and an empty path then crashed the run now and then.
  const std::string asan_runtime = AsanRuntimeOf(testing::kSnapsimBinary);
  const std::string command = absl::StrFormat(
      "cd %s && fiu-run -x -c 'enable name=posix/io/rw/write,failnum=1,failinfo=%d,onetime' "
      "sh -c 'LD_PRELOAD=\"%s $LD_PRELOAD\" "
      "ASAN_OPTIONS=verify_asan_link_order=0:detect_leaks=0 "
      "exec %s run --scenario default --seed 1 --trace %s' > stdout.txt 2> stderr.txt",
      dir, error, asan_runtime, testing::kSnapsimBinary, trace);
  const int rc = std::system(command.c_str());
  ASSERT_TRUE(WIFEXITED(rc));
  EXPECT_EQ(WEXITSTATUS(rc), 2);
  const std::string err = ReadAll(dir + "/stderr.txt");
  EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1) << err;
  EXPECT_NE(err.find("snapsim run: cannot write trace"), std::string::npos) << err;
  EXPECT_NE(err.find(strerror(error)), std::string::npos) << err;
  EXPECT_FALSE(std::filesystem::exists(trace)) << "a failed write left a partial trace";
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    EXPECT_EQ(entry.path().string().find(".tmp"), std::string::npos)
        << "left behind: " << entry.path();
  }
}

INSTANTIATE_TEST_SUITE_P(Errors, FiuRunTest, ::testing::Values(ENOSPC, EIO),
                         [](const ::testing::TestParamInfo<int>& info) {
                           return info.param == ENOSPC ? std::string("ENOSPC") : std::string("EIO");
                         });

}  // namespace
}  // namespace snapsim
