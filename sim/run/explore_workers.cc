// SPDX-License-Identifier: GPL-2.0-only
#include "sim/run/explore_workers.h"

#include <poll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdint>
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
  int fd = -1;             // our end of its socket: commands out, results in; -1 after EOF
  bool stopped = false;    // told to stop (its command side shut)
  uint32_t busy_with = 0;  // the crash point it explores now, 0 when idle
  std::string buffer;      // bytes after the last complete line
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

// The next crash point the parent sends, or 0 when it shut its side: the worker is done.
uint32_t ReadCommand(int fd) {
  uint32_t point = 0;
  auto* bytes = reinterpret_cast<char*>(&point);
  size_t got = 0;
  while (got < sizeof(point)) {
    ssize_t n = ::read(fd, bytes + got, sizeof(point) - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return 0;
    got += static_cast<size_t>(n);
  }
  return point;
}

[[noreturn]] void RunWorker(int fd, const Scenario& scenario, const ExploreOptions& options) {
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // a worker never outlives the command
  ExploreOptions quiet = options;
  quiet.log_out = nullptr;  // the parent logs, in point order
  try {
    const std::vector<Step> steps = ExploreSteps(scenario, options.seed);
    for (uint32_t point; (point = ReadCommand(fd)) != 0;) {
      const PointResult result = ExplorePoint(scenario, steps, quiet, point);
      WriteAllOrExit(fd, nlohmann::json(result).dump() + "\n");
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

// Hands crash points out one at a time, in order, to whichever worker is idle: a point's cost
// varies a hundredfold (its states, its replayed prefix), so fixed shares left one worker idle
// while the other still had the expensive points (1.53x on 2 cores at bound 64).
class Dispatcher {
 public:
  explicit Dispatcher(uint32_t bound) : bound_(bound) {}
  // The workload ends before `point`: no later point is handed out.
  void EndsBefore(uint32_t point) { end_ = std::min(end_, point); }
  // Sends `worker` its next point, or stops it when none is left. False if the send failed.
  bool Next(Worker& worker) {
    SNAPSIM_ASSERT(worker.busy_with == 0 && !worker.stopped);
    if (next_ > bound_ || next_ >= end_) {
      worker.stopped = true;
      ::shutdown(worker.fd, SHUT_WR);
      return true;
    }
    const uint32_t point = next_;
    if (::send(worker.fd, &point, sizeof(point), MSG_NOSIGNAL) != sizeof(point)) return false;
    worker.busy_with = point;
    ++next_;
    return true;
  }

 private:
  const uint32_t bound_;
  uint32_t next_ = 1;
  uint32_t end_ = UINT32_MAX;
};

}  // namespace

absl::StatusOr<ExploreResult> ExploreInWorkers(const Scenario& scenario,
                                               const ExploreOptions& options, uint32_t workers) {
  SNAPSIM_ASSERT(workers >= 1 && workers <= kMaxExploreWorkers);
  SNAPSIM_ASSERT(options.only_point == 0 && options.bound >= 1);
  std::vector<Worker> pool(std::min(workers, options.bound));
  for (size_t w = 0; w < pool.size(); ++w) {
    int fds[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) {
      StopAll(pool);
      return absl::InternalError(absl::StrCat("socketpair: ", std::strerror(errno)));
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
      RunWorker(fds[1], scenario, options);
    }
    ::close(fds[1]);
    pool[w].pid = pid;
    pool[w].fd = fds[0];
  }

  Dispatcher dispatcher(options.bound);
  for (size_t w = 0; w < pool.size(); ++w) {
    if (!dispatcher.Next(pool[w])) {
      StopAll(pool);
      return WorkerError(w,
                         absl::StrCat("could not be sent a crash point: ", std::strerror(errno)));
    }
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
        if (worker.busy_with != 0) {
          const uint32_t point = worker.busy_with;
          StopAll(pool);
          return WorkerError(index[k],
                             absl::StrCat("ended without a result for crash point ", point));
        }
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
        if (point.point != worker.busy_with) {
          StopAll(pool);
          return WorkerError(index[k], absl::StrCat("sent crash point ", point.point,
                                                    " while exploring ", worker.busy_with));
        }
        worker.busy_with = 0;
        if (!point.reached) dispatcher.EndsBefore(point.point);
        arrived.emplace(point.point, std::move(point));
        if (!dispatcher.Next(worker)) {
          StopAll(pool);
          return WorkerError(
              index[k], absl::StrCat("could not be sent a crash point: ", std::strerror(errno)));
        }
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
    StopAll(pool);
    return absl::InternalError(
        absl::StrCat("explore workers ended without a result for crash point ", next_point));
  }
  StopAll(pool);
  return total;
}

}  // namespace snapsim
