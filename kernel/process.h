// SPDX-License-Identifier: GPL-2.0-only
//
// Running the outside programs `snapsim kernel` needs (apt-get, dpkg, busybox, ldd, qemu) with
// fork/exec: no shell between us and the arguments, a time limit, and the child ended by its pid
// when the limit passes.
#ifndef SNAPSIM_KERNEL_PROCESS_H_
#define SNAPSIM_KERNEL_PROCESS_H_

#include <functional>
#include <string>
#include <vector>

namespace snapsim::kernel {

struct ProcessOptions {
  std::string cwd;          // "" = ours
  std::string stdout_path;  // "" = capture into ProcessResult::output
  bool stderr_to_stdout = true;
  int timeout_seconds = 0;  // 0 = none
  // Polled while the child runs: once it returns true the child has grace_seconds to exit before
  // it is ended (a VM whose job is done but which does not power off).
  std::function<bool()> finished;
  int grace_seconds = 10;
};

struct ProcessResult {
  bool started = false;    // false: fork or exec failed (output says why)
  bool timed_out = false;  // killed after timeout_seconds
  int exit_code = -1;      // the exit status; 128 + signal when killed by one
  std::string output;      // stdout (and stderr) when not sent to a file
  double seconds = 0;      // wall time
};

ProcessResult RunProcess(const std::vector<std::string>& argv, const ProcessOptions& options = {});

// Shorthands for the common options.
ProcessOptions InDirectory(const std::string& cwd, int timeout_seconds = 0);
ProcessOptions ToFile(const std::string& stdout_path, int timeout_seconds = 0);

// The full path of `program` on $PATH (and /usr/sbin, /sbin), or "" when it is not there.
std::string FindProgram(const std::string& program);

}  // namespace snapsim::kernel

#endif  // SNAPSIM_KERNEL_PROCESS_H_
