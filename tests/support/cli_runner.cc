// SPDX-License-Identifier: GPL-2.0-only
#include "tests/support/cli_runner.h"

#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <iterator>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/support/test_paths.h"

namespace snapsim::testing {

std::string ReadFileOrEmpty(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

bool IsOneLine(const std::string& text) {
  return !text.empty() && text.back() == '\n' && text.find('\n') == text.size() - 1;
}

CliResult RunSnapsim(const std::string& args) {
  static std::atomic<int> calls{0};
  const std::string stem =
      absl::StrCat(::testing::TempDir(), "cli_runner_", getpid(), "_", calls++);
  const std::string out = stem + ".out", err = stem + ".err";
  const std::string command =
      absl::StrCat("'", kSnapsimBinary, "' ", args, " >'", out, "' 2>'", err, "'");
  const int status = std::system(command.c_str());
  CliResult result;
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  result.out = ReadFileOrEmpty(out);
  result.err = ReadFileOrEmpty(err);
  ::unlink(out.c_str());
  ::unlink(err.c_str());
  return result;
}

}  // namespace snapsim::testing
