// SPDX-License-Identifier: GPL-2.0-only
//
// Running the built `snapsim` binary from a test: its exit code, stdout and stderr.
#ifndef SNAPSIM_TESTS_SUPPORT_CLI_RUNNER_H_
#define SNAPSIM_TESTS_SUPPORT_CLI_RUNNER_H_

#include <string>

namespace snapsim::testing {

struct CliResult {
  int exit_code = -1;  // -1: killed by a signal
  std::string out;
  std::string err;
};

// Runs `snapsim <args>` through the shell (quote arguments that need it) and waits for it.
CliResult RunSnapsim(const std::string& args);

// The file's bytes, or "" when it cannot be read.
std::string ReadFileOrEmpty(const std::string& path);

// True for text that is exactly one line ending in '\n'.
bool IsOneLine(const std::string& text);

}  // namespace snapsim::testing

#endif  // SNAPSIM_TESTS_SUPPORT_CLI_RUNNER_H_
