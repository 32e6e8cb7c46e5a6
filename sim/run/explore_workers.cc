// SPDX-License-Identifier: GPL-2.0-only
#include "sim/run/explore_workers.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <exception>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/str_cat.h"
#include "util/assert.h"

namespace snapsim {
namespace {

struct Worker {
  pid_t pid = -1;
  int fd = -1;         // read end of its pipe; -1 after EOF
  std::string buffer;  // bytes after the last complete line
};

// Writes all of `text` or exits: the parent sees a short stream as a dead worker.
void WriteAllOrExit(int fd, std::string_view text) {
  while (!text.empty()) {
    ssize_t n = ::write(fd, text.data(), text.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) _exit(3);
    text.remove_prefix(static_cast<size_t>(n));
  }
}

[[noreturn]] void RunWorker(int fd, const Scenario& scenario, const ExploreOptions& options,
                            uint32_t first_point, uint32_t stride) {
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // a worker never outlives the command
  ExploreOptions quiet = options;
  quiet.log_out = nullptr;  // the parent logs, in point order
  try {
    const std::vector<Step> steps = ExploreSteps(scenario, options.seed);
    for (uint64_t point = first_point; point <= options.bound; point += stride) {
      const PointResult result = ExplorePoint(scenario, steps, quiet, static_cast<uint32_t>(point));
      WriteAllOrExit(fd, nlohmann::json(result).dump() + "\n");
      if (!result.reached) break;
    }
  } catch (const std::exception& e) {
    WriteAllOrExit(fd, absl::StrCat("error: ", e.what(), "\n"));
    _exit(1);
  }
  _exit(0);
}

void StopAll(std::vector<Worker>& workers) {
  for (Worker& w : workers) {
    if (w.pid > 0) ::kill(w.pid, SIGKILL);
  }
  for (Worker& w : workers) {
    if (w.fd >= 0) ::close(w.fd);
    w.fd = -1;
    if (w.pid > 0) ::waitpid(w.pid, nullptr, 0);
    w.pid = -1;
  }
}

absl::Status WorkerError(size_t index, const std::string& what) {
  return absl::InternalError(absl::StrCat("explore worker ", index, ": ", what));
}

}  // namespace

absl::StatusOr<ExploreResult> ExploreInWorkers(const Scenario& scenario,
                                               const ExploreOptions& options, uint32_t workers) {
  SNAPSIM_ASSERT(workers >= 1 && workers <= kMaxExploreWorkers);
  SNAPSIM_ASSERT(options.only_point == 0 && options.bound >= 1);
  const uint32_t stride = std::min(workers, options.bound);
  std::vector<Worker> pool(stride);
  for (uint32_t w = 0; w < stride; ++w) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) {
      StopAll(pool);
      return absl::InternalError(absl::StrCat("pipe: ", std::strerror(errno)));
    }
    std::fflush(nullptr);  // buffered output must not be written twice
    const pid_t pid = ::fork();
    if (pid < 0) {
      const int err = errno;
      ::close(fds[0]);
      ::close(fds[1]);
      StopAll(pool);
      return absl::InternalError(absl::StrCat("fork: ", std::strerror(err)));
    }
    if (pid == 0) {
      ::close(fds[0]);
      RunWorker(fds[1], scenario, options, 1 + w, stride);
    }
    ::close(fds[1]);
    pool[w] = Worker{pid, fds[0], ""};
  }

  ExploreResult total;
  std::map<uint32_t, PointResult> arrived;  // ahead of the next point to add
  uint32_t next_point = 1;
  bool ended = false;
  // Each round reads at least one byte or sees one EOF, and the workers write a bounded amount.
  while (!ended && next_point <= options.bound) {
    std::vector<pollfd> fds;
    std::vector<size_t> index;
    for (size_t w = 0; w < pool.size(); ++w) {
      if (pool[w].fd < 0) continue;
      fds.push_back(pollfd{pool[w].fd, POLLIN, 0});
      index.push_back(w);
    }
    if (fds.empty()) break;
    if (::poll(fds.data(), fds.size(), -1) < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      StopAll(pool);
      return absl::InternalError(absl::StrCat("poll: ", std::strerror(err)));
    }
    for (size_t k = 0; k < fds.size(); ++k) {
      if (fds[k].revents == 0) continue;
      Worker& worker = pool[index[k]];
      char chunk[1 << 16];
      const ssize_t n = ::read(worker.fd, chunk, sizeof(chunk));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        ::close(worker.fd);
        worker.fd = -1;
        continue;
      }
      worker.buffer.append(chunk, static_cast<size_t>(n));
      for (size_t eol; (eol = worker.buffer.find('\n')) != std::string::npos;) {
        const std::string line = worker.buffer.substr(0, eol);
        worker.buffer.erase(0, eol + 1);
        if (line.rfind("error: ", 0) == 0) {
          StopAll(pool);
          return WorkerError(index[k], line.substr(7));
        }
        PointResult point;
        try {
          nlohmann::json::parse(line).get_to(point);
        } catch (const std::exception& e) {
          StopAll(pool);
          return WorkerError(index[k], absl::StrCat("unreadable result: ", e.what()));
        }
        arrived.emplace(point.point, std::move(point));
      }
    }
    for (auto it = arrived.find(next_point); !ended && it != arrived.end();
         it = arrived.find(next_point)) {
      ended = !AddPoint(it->second, options, total);
      arrived.erase(it);
      ++next_point;
    }
  }
  if (!ended && next_point <= options.bound) {
    const size_t owner = (next_point - 1) % stride;
    StopAll(pool);
    return WorkerError(owner, absl::StrCat("ended without a result for crash point ", next_point));
  }
  StopAll(pool);
  return total;
}

}  // namespace snapsim
