// SPDX-License-Identifier: GPL-2.0-only
#include "kernel/process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <thread>

#include "absl/strings/str_split.h"

namespace snapsim::kernel {

ProcessResult RunProcess(const std::vector<std::string>& argv, const ProcessOptions& options) {
  ProcessResult result;
  if (argv.empty()) return result;
  const auto start = std::chrono::steady_clock::now();
  int pipe_fds[2] = {-1, -1};
  const bool capture = options.stdout_path.empty();
  if (capture && pipe2(pipe_fds, O_CLOEXEC) != 0) {
    result.output = std::string("pipe: ") + std::strerror(errno);
    return result;
  }
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid < 0) {
    result.output = std::string("fork: ") + std::strerror(errno);
    return result;
  }
  if (pid == 0) {
    // A qemu (or apt) whose snapsim was killed must not run on alone, holding a core for minutes.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(126);  // the parent died before prctl took effect
    int out = -1;
    if (capture) {
      out = pipe_fds[1];
    } else {
      out = open(options.stdout_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    }
    if (out < 0) _exit(126);
    dup2(out, STDOUT_FILENO);
    if (options.stderr_to_stdout) dup2(out, STDERR_FILENO);
    const int null_in = open("/dev/null", O_RDONLY);
    if (null_in >= 0) dup2(null_in, STDIN_FILENO);
    if (!options.cwd.empty() && chdir(options.cwd.c_str()) != 0) _exit(126);
    std::vector<char*> args;
    for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execvp(args[0], args.data());
    _exit(127);
  }
  result.started = true;
  if (capture) close(pipe_fds[1]);
  if (capture) fcntl(pipe_fds[0], F_SETFL, O_NONBLOCK);
  int status = 0;
  double finished_at = -1;
  bool killed_late = false;
  for (;;) {
    if (capture) {
      char buffer[4096];
      ssize_t n;
      while ((n = read(pipe_fds[0], buffer, sizeof buffer)) > 0) {
        result.output.append(buffer, static_cast<size_t>(n));
      }
    }
    const pid_t done = waitpid(pid, &status, WNOHANG);
    if (done == pid) break;
    const double elapsed =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (options.timeout_seconds > 0 && elapsed > options.timeout_seconds && !result.timed_out) {
      kill(pid, SIGKILL);  // only the child we started, by its pid
      result.timed_out = true;
    }
    if (finished_at < 0 && options.finished && options.finished()) finished_at = elapsed;
    if (finished_at >= 0 && elapsed > finished_at + options.grace_seconds && !killed_late) {
      kill(pid, SIGKILL);
      killed_late = true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (capture) {
    char buffer[4096];
    ssize_t n;
    while ((n = read(pipe_fds[0], buffer, sizeof buffer)) > 0) {
      result.output.append(buffer, static_cast<size_t>(n));
    }
    close(pipe_fds[0]);
  }
  if (WIFEXITED(status)) {
    result.exit_code = WEXITSTATUS(status);
    if (result.exit_code == 127) result.started = false;
  } else if (WIFSIGNALED(status)) {
    result.exit_code = 128 + WTERMSIG(status);
  }
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return result;
}

ProcessOptions InDirectory(const std::string& cwd, int timeout_seconds) {
  ProcessOptions options;
  options.cwd = cwd;
  options.timeout_seconds = timeout_seconds;
  return options;
}

ProcessOptions ToFile(const std::string& stdout_path, int timeout_seconds) {
  ProcessOptions options;
  options.stdout_path = stdout_path;
  options.timeout_seconds = timeout_seconds;
  return options;
}

std::string FindProgram(const std::string& program) {
  if (program.find('/') != std::string::npos) {
    return access(program.c_str(), X_OK) == 0 ? program : "";
  }
  const char* path = std::getenv("PATH");
  std::string dirs = path == nullptr ? "" : path;
  dirs += ":/usr/sbin:/sbin:/usr/bin:/bin";
  for (absl::string_view dir : absl::StrSplit(dirs, ':', absl::SkipEmpty())) {
    const std::string candidate = std::string(dir) + "/" + program;
    struct stat st;
    if (stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
        access(candidate.c_str(), X_OK) == 0) {
      return candidate;
    }
  }
  return "";
}

}  // namespace snapsim::kernel
