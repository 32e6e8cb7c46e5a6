// SPDX-License-Identifier: GPL-2.0-only
#include "sim/campaign/campaign.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <set>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "sim/check/invariants.h"
#include "sim/world/prng.h"
#include "sim/world/trace.h"
#include "util/absl_view.h"
#include "util/assert.h"
#include "util/atomic_file.h"

namespace snapsim {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr const char* kConfigFile = "campaign.json";
constexpr const char* kResultsFile = "results.jsonl";
constexpr const char* kSummaryFile = "summary.json";
constexpr const char* kRechecksFile = "rechecks.jsonl";
constexpr const char* kNondeterminismDir = "nondeterminism";
constexpr size_t kMaxQuotedEvent = 300;        // of a trace line, in a first difference
constexpr size_t kMaxWorkerOutput = 64 << 20;  // a RunResult larger than this is garbage
constexpr int kWorkerExceptionExit = 70;       // the SeedFunction threw
constexpr int kWorkerPipeExit = 71;            // the result could not be written to the pipe
constexpr uint64_t kPollMs = 100;
constexpr uint64_t kPlainProgressMs = 5000;
constexpr size_t kMaxQuotedOutput = 200;  // of garbage output, in a finding's detail

// Set by the SIGINT/SIGTERM handler: a signal handler can only talk through a static flag.
volatile sig_atomic_t g_stop_requested = 0;

void OnStopSignal(int) { g_stop_requested = 1; }

// Installs the stop handler for the lifetime of the object and restores the previous ones.
class StopSignalScope {
 public:
  StopSignalScope() {
    g_stop_requested = 0;
    struct sigaction action {};
    action.sa_handler = OnStopSignal;
    sigemptyset(&action.sa_mask);
    action.sa_flags = 0;  // no SA_RESTART: poll() returns EINTR at once
    sigaction(SIGINT, &action, &old_int_);
    sigaction(SIGTERM, &action, &old_term_);
  }
  ~StopSignalScope() {
    sigaction(SIGINT, &old_int_, nullptr);
    sigaction(SIGTERM, &old_term_, nullptr);
  }
  StopSignalScope(const StopSignalScope&) = delete;
  StopSignalScope& operator=(const StopSignalScope&) = delete;

 private:
  struct sigaction old_int_ {};
  struct sigaction old_term_ {};
};

uint64_t MsSince(Clock::time_point start) {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count());
}

// A result whose one finding happened in the worker process, not at a point of the run.
RunResult WorkerResult(const std::string& scenario, uint64_t seed, std::string_view invariant,
                       FindingSeverity severity, std::string expected, std::string actual,
                       std::string detail) {
  RunResult r;
  r.scenario = scenario;
  r.seed = seed;
  Finding f;
  f.invariant = std::string(invariant);
  f.severity = severity;
  f.contract = Contract::kWithin;
  f.scenario = scenario;
  f.seed = seed;
  f.crash_point = "worker process";
  f.expected = std::move(expected);
  f.actual = std::move(actual);
  f.detail = std::move(detail);
  r.findings.push_back(std::move(f));
  return r;
}

RunResult WorkerFailure(const CampaignOptions& options, const std::string& scenario, uint64_t seed,
                        const char* invariant, const std::string& detail) {
  RunResult r = WorkerResult(
      scenario, seed, invariant, FindingSeverity::kError, "the worker returns a RunResult", detail,
      absl::StrCat("The worker running scenario ", scenario, " seed ", seed, ": ", detail, "."));
  r.replay_command = ReplayCommand(options.replay_prefix, scenario, seed);
  r.outcome = absl::StrCat("error: ", detail);
  r.findings.front().replay_command = r.replay_command;
  return r;
}

// A job whose worker the environment took: no result, no finding (RunResult::environment_failure).
RunResult EnvironmentFailureResult(const CampaignOptions& options, const std::string& scenario,
                                   uint64_t seed, const std::string& detail) {
  RunResult r;
  r.scenario = scenario;
  r.seed = seed;
  r.environment_failure = detail;
  r.outcome = absl::StrCat("environment failure: ", detail);
  r.replay_command = ReplayCommand(options.replay_prefix, scenario, seed);
  return r;
}

// Signals a process gets from its own faults (abort() of an assertion, a bad memory access, a
// trap): a worker dying of one crashed. Any other signal (SIGKILL of the OOM killer or of a
// user, SIGTERM, SIGHUP, SIGPIPE) was sent from outside: the environment's doing.
bool IsSelfRaisedSignal(int sig) {
  return sig == SIGABRT || sig == SIGSEGV || sig == SIGBUS || sig == SIGFPE || sig == SIGILL ||
         sig == SIGTRAP || sig == SIGSYS;
}

std::string Quote(const std::string& output) {
  std::string shown = output.substr(0, kMaxQuotedOutput);
  for (char& c : shown) {
    if (static_cast<unsigned char>(c) < 0x20) c = ' ';
  }
  return absl::StrCat("\"", shown, output.size() > kMaxQuotedOutput ? "...\"" : "\"");
}

// An assertion that fired in the worker outside a simulated run (workload generation, scenario
// set-up): the same finding a run reports, its replay command filled in by the parent.
RunResult AssertionResult(const std::string& scenario, uint64_t seed,
                          const AssertionFailure& failure) {
  RunResult r = WorkerResult(
      scenario, seed, invariant::kAssertionsHold, FindingSeverity::kCritical, "no assertion fires",
      absl::StrCat(failure.Location(), ": Assertion `", failure.condition(), "' failed"),
      absl::StrCat("SNAPSIM_ASSERT failed in ", failure.function(), " (", failure.Location(),
                   ") outside the simulated run."));
  r.outcome = "findings";
  return r;
}

// The child's side: run the job, write the result, never return.
[[noreturn]] void RunWorker(int fd, const std::function<RunResult()>& run_seed,
                            const std::string& scenario, uint64_t seed) {
  signal(SIGINT, SIG_IGN);  // a terminal's Ctrl-C reaches the parent, which stops the workers
  signal(SIGTERM, SIG_DFL);
  int code = 0;
  std::string text;
  try {
    nlohmann::json j = run_seed();
    text = j.dump();
  } catch (const AssertionFailure& failure) {
    // Outside a simulated run (which reports its own): still the finding assertions_hold.
    nlohmann::json j = AssertionResult(scenario, seed, failure);
    text = j.dump();
  } catch (const std::exception& e) {
    text = absl::StrCat("exception: ", e.what());
    code = kWorkerExceptionExit;
  }
  std::string_view rest = text;
  while (!rest.empty()) {
    ssize_t n = ::write(fd, rest.data(), rest.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) _exit(kWorkerPipeExit);
    rest.remove_prefix(static_cast<size_t>(n));
  }
  _exit(code);
}

enum class JobKind {
  kRun,      // a job of the campaign
  kRecheck,  // a finished job, again
  kTraced,   // a mismatched job, again, writing its trace
};

struct Worker {
  JobKey key;
  JobKind kind = JobKind::kRun;
  pid_t pid = -1;
  int fd = -1;  // read end of the result pipe; -1 after EOF
  std::string output;
  Clock::time_point deadline;
  std::string trace_path;  // kTraced
};

// The jobs of a campaign in execution order, skipping those of other shards and those done.
class JobQueue {
 public:
  JobQueue(const CampaignConfig& config, const JobResults& done) : config_(config), done_(done) {
    next_ = JobKey{0, config.seed_first};
    Skip();
  }
  bool empty() const { return exhausted_; }
  const JobKey& front() const { return next_; }
  void pop() {
    Advance();
    Skip();
  }
  // Total jobs of this shard when the seed range is bounded.
  std::optional<uint64_t> total() const { return ShardJobCount(config_); }

 private:
  void Advance() {
    if (next_.scenario_index + 1 < config_.scenarios.size()) {
      ++next_.scenario_index;
      return;
    }
    // An open range ends at the last 64-bit seed instead of wrapping to 0.
    if (next_.seed == (config_.seed_last ? *config_.seed_last : UINT64_MAX)) {
      exhausted_ = true;
      return;
    }
    next_ = JobKey{0, next_.seed + 1};
  }
  void Skip() {
    // Jobs of other shards come fewer than shard_count in a row, between done ones.
    const uint64_t max_skips = (done_.size() + 1) * config_.shard_count + 1;
    for (uint64_t skips = 0; !exhausted_; ++skips) {
      SNAPSIM_ASSERT(skips <= max_skips);
      (void)max_skips;
      if (InShard(config_, next_) && !done_.contains(next_)) return;
      Advance();
    }
  }

  const CampaignConfig& config_;
  const JobResults& done_;
  JobKey next_;
  bool exhausted_ = false;
};

class Progress {
 public:
  Progress(bool enabled, std::optional<uint64_t> total, uint64_t already, uint64_t budget_ms)
      : enabled_(enabled),
        tty_(enabled && isatty(STDERR_FILENO)),
        total_(total),
        already_(already),
        budget_ms_(budget_ms) {}

  void Update(uint64_t elapsed_ms, uint64_t done_here, uint64_t findings, bool final) {
    if (!enabled_) return;
    if (!final && elapsed_ms < next_ms_) return;
    next_ms_ = elapsed_ms + (tty_ ? 200 : kPlainProgressMs);
    double rate = elapsed_ms ? done_here * 1000.0 / elapsed_ms : 0;
    uint64_t done = already_ + done_here;
    std::string count = total_ ? absl::StrCat(done, "/", *total_) : absl::StrCat(done);
    std::string left = "--";
    if (budget_ms_ > 0) {
      left = Duration(budget_ms_ > elapsed_ms ? budget_ms_ - elapsed_ms : 0);
    } else if (total_ && rate > 0) {
      left = Duration(static_cast<uint64_t>((*total_ - std::min(done, *total_)) * 1000 / rate));
    }
    std::string bar;
    if (total_ && *total_ > 0) {
      constexpr uint64_t kWidth = 24;
      uint64_t filled = std::min(done, *total_) * kWidth / *total_;
      bar = absl::StrCat("[", std::string(filled, '#'), std::string(kWidth - filled, '.'), "] ");
    }
    std::string line = absl::StrFormat("%sseeds %s  %.1f seeds/s  %d findings  left %s", bar, count,
                                       rate, findings, left);
    if (tty_) {
      absl::FPrintF(stderr, "\r\033[K%s%s", line, final ? "\n" : "");
    } else {
      absl::FPrintF(stderr, "campaign: %s\n", line);
    }
  }

 private:
  static std::string Duration(uint64_t ms) {
    uint64_t s = ms / 1000;
    return absl::StrFormat("%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60);
  }

  bool enabled_;
  bool tty_;
  std::optional<uint64_t> total_;
  uint64_t already_;
  uint64_t budget_ms_;
  uint64_t next_ms_ = 0;
};

// Parses JSON lines of records of T (RunResult, Recheck) keyed by job; a later line of a job
// replaces an earlier one. An unterminated last line is a record that was not finished: it is
// not parsed and *complete_bytes ends before it. `source` names the text in errors.
template <typename T>
absl::StatusOr<std::map<JobKey, T>> ParseJobLines(std::string_view text, std::string_view source,
                                                  const CampaignConfig& config,
                                                  uint64_t* complete_bytes) {
  std::map<JobKey, T> records;
  *complete_bytes = 0;
  size_t pos = 0;
  for (uint64_t line_no = 1; pos < text.size(); ++line_no) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) break;  // unterminated: that job did not finish
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    if (line.empty()) continue;
    T r;
    try {
      const nlohmann::json parsed = nlohmann::json::parse(line);
      if (!HoldsOnlyIntegers(parsed)) {
        return absl::DataLossError(absl::StrCat(AbslView(source), " line ", line_no,
                                                " is corrupt: a number is not an integer"));
      }
      r = parsed.get<T>();
    } catch (const nlohmann::json::exception& e) {
      return absl::DataLossError(
          absl::StrCat(AbslView(source), " line ", line_no, " is corrupt: ", e.what()));
    }
    RunResult identity;
    identity.scenario = r.scenario;
    identity.seed = r.seed;
    std::optional<JobKey> key = KeyOf(config, identity);
    if (!key) {
      return absl::DataLossError(absl::StrCat(AbslView(source), " line ", line_no, ": scenario ",
                                              r.scenario, " seed ", r.seed, " is not in ",
                                              config.Describe()));
    }
    records.insert_or_assign(*key, std::move(r));
    *complete_bytes = pos;
  }
  return records;
}

// ParseJobLines over the file at `path`; a missing file holds no record.
template <typename T>
absl::StatusOr<std::map<JobKey, T>> ReadJobLines(const std::string& path,
                                                 const CampaignConfig& config,
                                                 uint64_t* complete_bytes) {
  *complete_bytes = 0;
  absl::StatusOr<std::string> text = ReadWholeFile(path);
  if (absl::IsNotFound(text.status())) return std::map<JobKey, T>{};
  if (!text.ok()) return text.status();
  return ParseJobLines<T>(*text, path, config, complete_bytes);
}

absl::StatusOr<JobResults> ReadResults(const std::string& path, const CampaignConfig& config,
                                       uint64_t* complete_bytes) {
  return ReadJobLines<RunResult>(path, config, complete_bytes);
}

absl::StatusOr<JobRechecks> ReadRechecks(const std::string& path, const CampaignConfig& config,
                                         uint64_t* complete_bytes) {
  return ReadJobLines<Recheck>(path, config, complete_bytes);
}

// Drops a half-written last line so the next append starts on a line of its own.
void DropUnfinishedLine(const std::string& path, uint64_t complete_bytes) {
  if (fs::exists(path) && fs::file_size(path) > complete_bytes) {
    fs::resize_file(path, complete_bytes);
  }
}

bool HasRunnerFinding(const RunResult& r) {
  return std::any_of(r.findings.begin(), r.findings.end(),
                     [](const Finding& f) { return IsRunnerInvariant(f.invariant); });
}

absl::StatusOr<CampaignConfig> ReadConfig(const std::string& path) {
  absl::StatusOr<std::string> text = ReadWholeFile(path);
  if (!text.ok()) return text.status();
  try {
    return nlohmann::json::parse(*text).get<CampaignConfig>();
  } catch (const nlohmann::json::exception& e) {
    return absl::DataLossError(absl::StrCat(path, " is not a campaign config: ", e.what()));
  }
}

// Makes `dir` this campaign's directory, or says why it is not one.
absl::Status ClaimOutDir(const std::string& dir, const CampaignConfig& config) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return absl::InternalError(absl::StrCat("cannot create ", dir, ": ", ec.message()));
  std::string config_path = absl::StrCat(dir, "/", kConfigFile);
  if (fs::exists(config_path)) {
    absl::StatusOr<CampaignConfig> existing = ReadConfig(config_path);
    if (!existing.ok()) return existing.status();
    if (!existing->SameJobs(config)) {
      return absl::FailedPreconditionError(
          absl::StrCat("refusing --out ", dir, ": it holds another campaign (",
                       existing->Describe(), "), not ", config.Describe()));
    }
  } else if (!fs::is_empty(dir, ec)) {
    return absl::FailedPreconditionError(absl::StrCat(
        "refusing --out ", dir, ": not empty and not a campaign directory (no ", kConfigFile, ")"));
  }
  nlohmann::json j = config;
  return WriteFileAtomically(config_path, j.dump(2) + "\n");
}

class Runner {
 public:
  Runner(const CampaignOptions& options, const SeedFunction& run_seed)
      : options_(options),
        config_(options.config),
        run_seed_(run_seed),
        results_path_(absl::StrCat(options.out_dir, "/", kResultsFile)),
        rechecks_path_(absl::StrCat(options.out_dir, "/", kRechecksFile)) {}

  absl::StatusOr<CampaignOutcome> Run();

 private:
  absl::Status Start(const JobKey& key, JobKind kind, const std::string& trace_path = "");
  // Reads whatever the workers wrote; finishes those that exited or overran.
  absl::Status Collect();
  absl::Status Finish(Worker& w, int status, bool timed_out);
  // The RunResult a worker reported, or the runner's finding about the worker.
  RunResult WorkerOutcome(const Worker& w, int status, bool timed_out) const;
  absl::Status FinishRecheck(const JobKey& key, const RunResult& again, bool worker_failed);
  // Starts the re-check due first: one whose job ended before another job started, or any when
  // `any`. False when none was started.
  bool StartDueRecheck(bool any, absl::Status& status);
  // Traced executions of a mismatched job until two traces differ; fills its re-check.
  absl::Status TraceMismatch(const JobKey& key);
  void KillAll();
  void SampleRate(bool force);

  const CampaignOptions& options_;
  const CampaignConfig& config_;
  const SeedFunction& run_seed_;
  const std::string results_path_;
  const std::string rechecks_path_;
  JobResults results_;
  JobRechecks rechecks_;
  std::vector<Worker> running_;
  Clock::time_point start_ = Clock::now();
  uint64_t jobs_run_ = 0;
  uint64_t jobs_started_ = 0;  // of kind kRun, by this invocation
  uint64_t rechecks_run_ = 0;
  uint64_t findings_ = 0;
  // Jobs to re-check, each with jobs_started_ when it ended: due once another job has started.
  std::deque<std::pair<JobKey, uint64_t>> recheck_queue_;
  std::vector<JobKey> mismatched_;  // by this invocation, to trace
  // Jobs lost to the environment once, to run again (each at most once per invocation).
  std::deque<JobKey> retry_queue_;
  std::set<JobKey> retried_;
  std::optional<RunResult> traced_result_;  // of the kTraced worker that finished last
  std::vector<RateSample> rate_;
  uint64_t rate_interval_ms_ = 1000;
  uint64_t next_sample_ms_ = 0;
};

absl::Status Runner::Start(const JobKey& key, JobKind kind, const std::string& trace_path) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return absl::InternalError(std::strerror(errno));
  std::fflush(nullptr);  // buffered output must not be written twice
  pid_t pid = ::fork();
  if (pid < 0) {
    int err = errno;
    ::close(fds[0]);
    ::close(fds[1]);
    return absl::InternalError(absl::StrCat("fork: ", std::strerror(err)));
  }
  const std::string& scenario = config_.scenarios[key.scenario_index];
  if (pid == 0) {
    ::close(fds[0]);
    if (kind == JobKind::kTraced) {
      RunWorker(
          fds[1], [&] { return options_.run_traced(scenario, key.seed, trace_path); }, scenario,
          key.seed);
    }
    RunWorker(
        fds[1], [&] { return run_seed_(scenario, key.seed); }, scenario, key.seed);
  }
  ::close(fds[1]);
  ::fcntl(fds[0], F_SETFL, O_NONBLOCK);
  running_.push_back(Worker{key, kind, pid, fds[0], "",
                            Clock::now() + std::chrono::milliseconds(options_.seed_timeout_ms),
                            trace_path});
  if (kind == JobKind::kRun) ++jobs_started_;
  return absl::OkStatus();
}

RunResult Runner::WorkerOutcome(const Worker& w, int status, bool timed_out) const {
  const std::string& scenario = config_.scenarios[w.key.scenario_index];
  RunResult r;
  if (timed_out) {
    r = WorkerFailure(options_, scenario, w.key.seed, kSimulationTimeout,
                      absl::StrCat("ran longer than the per-seed limit of ",
                                   options_.seed_timeout_ms, " ms and was killed"));
  } else if (WIFSIGNALED(status) && !IsSelfRaisedSignal(WTERMSIG(status))) {
    int sig = WTERMSIG(status);
    r = EnvironmentFailureResult(
        options_, scenario, w.key.seed,
        absl::StrCat("killed by signal ", sig, " (", strsignal(sig), ") from outside"));
  } else if (WIFSIGNALED(status)) {
    int sig = WTERMSIG(status);
    r = WorkerFailure(options_, scenario, w.key.seed, kSimulationCrashed,
                      absl::StrCat("killed by signal ", sig, " (", strsignal(sig), ")"));
  } else if (WIFEXITED(status) && WEXITSTATUS(status) == kWorkerPipeExit) {
    r = EnvironmentFailureResult(options_, scenario, w.key.seed,
                                 "could not write its result: the result pipe broke");
  } else if (WIFEXITED(status) && WEXITSTATUS(status) == 0 && w.output.empty()) {
    r = EnvironmentFailureResult(options_, scenario, w.key.seed,
                                 "exited without a result: the result pipe was empty");
  } else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    r = WorkerFailure(
        options_, scenario, w.key.seed, kSimulationCrashed,
        absl::StrCat("exited with status ", WEXITSTATUS(status), ", output ", Quote(w.output)));
  } else {
    try {
      r = nlohmann::json::parse(w.output).get<RunResult>();
      r.scenario = scenario;
      r.seed = w.key.seed;
      if (r.replay_command.empty()) {
        r.replay_command = ReplayCommand(options_.replay_prefix, scenario, w.key.seed);
      }
      for (Finding& f : r.findings) {
        if (f.replay_command.empty()) f.replay_command = r.replay_command;
      }
    } catch (const nlohmann::json::exception&) {
      r = WorkerFailure(options_, scenario, w.key.seed, kSimulationCrashed,
                        absl::StrCat("wrote no RunResult but ", Quote(w.output)));
    }
  }
  return r;
}

absl::Status Runner::Finish(Worker& w, int status, bool timed_out) {
  RunResult r = WorkerOutcome(w, status, timed_out);
  if (w.kind == JobKind::kTraced) {
    traced_result_ = std::move(r);
    return absl::OkStatus();
  }
  if (w.kind == JobKind::kRecheck) {
    return FinishRecheck(w.key, r,
                         timed_out || HasRunnerFinding(r) || !r.environment_failure.empty());
  }
  // A job lost to the environment runs once more before it is recorded as lost.
  if (!r.environment_failure.empty() && retried_.insert(w.key).second) {
    retry_queue_.push_back(w.key);
    return absl::OkStatus();
  }
  nlohmann::json j = r;
  absl::Status appended = AppendLine(results_path_, j.dump());
  findings_ += r.findings.size();
  const bool recheck =
      !options_.recheck.Off() && !HasRunnerFinding(r) && r.environment_failure.empty() &&
      (!r.findings.empty() || InRecheckSample(options_.recheck, r.scenario, r.seed));
  if (recheck) recheck_queue_.emplace_back(w.key, jobs_started_);
  results_.insert_or_assign(w.key, std::move(r));
  ++jobs_run_;
  return appended;
}

absl::Status Runner::FinishRecheck(const JobKey& key, const RunResult& again, bool worker_failed) {
  auto first = results_.find(key);
  if (first == results_.end()) return absl::OkStatus();  // cannot happen: queued after it ended
  Recheck c;
  c.scenario = first->second.scenario;
  c.seed = first->second.seed;
  c.trace_hash = first->second.trace_hash;
  c.recheck_trace_hash = again.trace_hash;
  if (worker_failed) {
    // A worker killed or out of time may be the machine's doing: no claim either way.
    c.inconclusive =
        again.findings.empty() ? "the re-check's worker failed" : again.findings.front().actual;
  } else {
    c.differences = ResultDifferences(first->second, again);
  }
  ++rechecks_run_;
  if (c.Mismatch()) {
    mismatched_.push_back(key);
    ++findings_;
  }
  nlohmann::json j = c;
  rechecks_.insert_or_assign(key, std::move(c));
  return AppendLine(rechecks_path_, j.dump());
}

bool Runner::StartDueRecheck(bool any, absl::Status& status) {
  if (recheck_queue_.empty()) return false;
  const auto& [key, ended_at] = recheck_queue_.front();
  if (!any && ended_at >= jobs_started_) return false;
  status = Start(key, JobKind::kRecheck);
  recheck_queue_.pop_front();
  return true;
}

absl::Status Runner::TraceMismatch(const JobKey& key) {
  Recheck& c = rechecks_.at(key);
  const std::string stem = absl::StrCat(kNondeterminismDir, "/", c.scenario, "-", c.seed);
  std::error_code ec;
  fs::create_directories(fs::path(options_.out_dir) / kNondeterminismDir, ec);
  if (ec) return absl::InternalError(absl::StrCat("cannot create ", stem, ": ", ec.message()));
  std::vector<std::pair<uint64_t, std::string>> kept;  // (trace hash, path relative to out_dir)
  std::vector<uint64_t> seen;
  for (int attempt = 1; attempt <= kMaxTracedReruns && kept.size() < 2; ++attempt) {
    const std::string relative = absl::StrCat(stem, ".", attempt, ".trace.jsonl");
    const std::string path = (fs::path(options_.out_dir) / relative).string();
    traced_result_.reset();
    if (absl::Status s = Start(key, JobKind::kTraced, path); !s.ok()) return s;
    while (!running_.empty() && !g_stop_requested) {
      if (absl::Status s = Collect(); !s.ok()) return s;
    }
    if (g_stop_requested) return absl::OkStatus();
    if (!traced_result_ || HasRunnerFinding(*traced_result_) ||
        !traced_result_->environment_failure.empty()) {
      continue;
    }
    seen.push_back(traced_result_->trace_hash);
    const bool new_hash = std::none_of(kept.begin(), kept.end(), [&](const auto& k) {
      return k.first == traced_result_->trace_hash;
    });
    if (new_hash) {
      kept.emplace_back(traced_result_->trace_hash, relative);
    } else {
      fs::remove(path, ec);
    }
  }
  c.traces.clear();
  for (const auto& [hash, path] : kept) c.traces.push_back(path);
  if (kept.size() == 2) {
    std::ifstream a(fs::path(options_.out_dir) / kept[0].second);
    std::ifstream b(fs::path(options_.out_dir) / kept[1].second);
    std::string text_a((std::istreambuf_iterator<char>(a)), std::istreambuf_iterator<char>());
    std::string text_b((std::istreambuf_iterator<char>(b)), std::istreambuf_iterator<char>());
    c.first_difference = absl::StrCat("Two traced executions first differ at ",
                                      FirstTraceDifference(text_a, text_b));
  } else if (c.trace_hash == c.recheck_trace_hash) {
    c.first_difference = "The traces are the same; only the results differ";
  } else {
    std::vector<std::string> hashes;
    for (uint64_t h : seen) hashes.push_back(FormatTraceHash(h));
    c.first_difference =
        absl::StrCat("The difference did not show again in ", seen.size(),
                     " traced executions (trace hashes ", absl::StrJoin(hashes, ", "), ")");
  }
  nlohmann::json j = c;
  return AppendLine(rechecks_path_, j.dump());
}

absl::Status Runner::Collect() {
  std::vector<pollfd> fds;
  for (const Worker& w : running_) {
    if (w.fd >= 0) fds.push_back(pollfd{w.fd, POLLIN, 0});
  }
  uint64_t wait_ms = kPollMs;
  for (const Worker& w : running_) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(w.deadline - Clock::now());
    wait_ms = std::min<uint64_t>(wait_ms, std::max<int64_t>(left.count(), 0) + 1);
  }
  if (fds.empty()) {
    ::usleep(static_cast<useconds_t>(std::min<uint64_t>(wait_ms, 10) * 1000));
  } else if (::poll(fds.data(), fds.size(), static_cast<int>(wait_ms)) < 0 && errno != EINTR) {
    return absl::InternalError(absl::StrCat("poll: ", std::strerror(errno)));
  }
  char buffer[1 << 16];
  for (Worker& w : running_) {
    // Bounded by kMaxWorkerOutput / sizeof(buffer) reads per call.
    while (w.fd >= 0) {
      ssize_t n = ::read(w.fd, buffer, sizeof(buffer));
      if (n > 0) {
        if (w.output.size() < kMaxWorkerOutput) w.output.append(buffer, static_cast<size_t>(n));
        continue;
      }
      if (n < 0 && (errno == EAGAIN || errno == EINTR)) break;
      ::close(w.fd);  // EOF or error: nothing more will come
      w.fd = -1;
    }
  }
  absl::Status status;
  for (auto it = running_.begin(); it != running_.end();) {
    int wstatus = 0;
    // EOF on the pipe: the worker wrote its result and is in _exit (the pipe closes there), so
    // wait for it now. Polling with WNOHANG left its slot idle until another worker's output or
    // the poll timeout woke this loop, and with one worker slept 10 ms per job.
    pid_t done = it->fd < 0 ? ::waitpid(it->pid, &wstatus, 0) : 0;
    bool timed_out = false;
    if (done == 0 && Clock::now() >= it->deadline) {
      ::kill(it->pid, SIGKILL);
      ::waitpid(it->pid, &wstatus, 0);
      timed_out = true;
    } else if (done == 0) {
      ++it;
      continue;
    }
    if (it->fd >= 0) ::close(it->fd);
    if (g_stop_requested && !timed_out && WIFSIGNALED(wstatus) &&
        (WTERMSIG(wstatus) == SIGINT || WTERMSIG(wstatus) == SIGTERM)) {
      it = running_.erase(it);  // stopped with us, not crashed: the job stays undone
      continue;
    }
    status.Update(Finish(*it, wstatus, timed_out));
    it = running_.erase(it);
  }
  return status;
}

void Runner::KillAll() {
  for (Worker& w : running_) {
    ::kill(w.pid, SIGKILL);
    ::waitpid(w.pid, nullptr, 0);
    if (w.fd >= 0) ::close(w.fd);
  }
  running_.clear();
}

void Runner::SampleRate(bool force) {
  uint64_t now = MsSince(start_);
  if (!force && now < next_sample_ms_) return;
  next_sample_ms_ = now + rate_interval_ms_;
  rate_.push_back(RateSample{now, jobs_run_});
  if (rate_.size() >= kMaxRateSamples) {
    // Keep every other sample and sample half as often: the series stays bounded.
    std::vector<RateSample> kept;
    for (size_t i = 0; i < rate_.size(); i += 2) kept.push_back(rate_[i]);
    rate_ = std::move(kept);
    rate_interval_ms_ *= 2;
  }
}

absl::StatusOr<CampaignOutcome> Runner::Run() {
  if (config_.scenarios.empty()) return absl::InvalidArgumentError("no scenario to run");
  if (!config_.seed_last && options_.budget_ms == 0) {
    return absl::InvalidArgumentError("an open seed range needs a time budget");
  }
  if (config_.seed_last && *config_.seed_last < config_.seed_first) {
    return absl::InvalidArgumentError(absl::StrCat("empty seed range ", config_.Describe()));
  }
  if (config_.shard_count == 0 || config_.shard_index >= config_.shard_count) {
    return absl::InvalidArgumentError(
        absl::StrCat("bad shard ", config_.shard_index, "/", config_.shard_count));
  }
  uint32_t jobs = options_.jobs;
  if (jobs == 0) jobs = static_cast<uint32_t>(std::max(1L, ::sysconf(_SC_NPROCESSORS_ONLN)));
  jobs = std::min(jobs, kMaxJobs);

  absl::Status claimed = ClaimOutDir(options_.out_dir, config_);
  if (!claimed.ok()) return claimed;
  uint64_t complete_bytes = 0;
  absl::StatusOr<JobResults> previous = ReadResults(results_path_, config_, &complete_bytes);
  if (!previous.ok()) return previous.status();
  results_ = *std::move(previous);
  DropUnfinishedLine(results_path_, complete_bytes);
  absl::StatusOr<JobRechecks> rechecked = ReadRechecks(rechecks_path_, config_, &complete_bytes);
  if (!rechecked.ok()) return rechecked.status();
  rechecks_ = *std::move(rechecked);
  DropUnfinishedLine(rechecks_path_, complete_bytes);
  // Jobs an earlier invocation lost to the environment are run again; until then their result
  // stays, so that an interrupted campaign still reports them.
  JobResults done_before;
  for (const auto& [key, r] : results_) {
    if (r.environment_failure.empty()) done_before.emplace(key, r);
  }
  const uint64_t skipped = done_before.size();
  for (const auto& [key, r] : done_before) {
    findings_ += r.findings.size();
    // Selected by an earlier invocation (or by this one's ratio) but not re-checked yet.
    const bool selected =
        !r.findings.empty() || InRecheckSample(options_.recheck, r.scenario, r.seed);
    if (!options_.recheck.Off() && selected && !HasRunnerFinding(r) && !rechecks_.contains(key)) {
      recheck_queue_.emplace_back(key, 0);
    }
  }

  StopSignalScope signals;
  JobQueue queue(config_, done_before);
  Progress progress(options_.progress, queue.total(), skipped, options_.budget_ms);
  std::optional<uint64_t> last_round_seed;  // a budget ends only after whole seeds
  bool interrupted = false;
  absl::Status status;
  for (;;) {
    bool hook_stop = options_.stop_after_jobs > 0 && jobs_run_ >= options_.stop_after_jobs;
    if (g_stop_requested || hook_stop) {
      interrupted = true;
      status.Update(Collect());  // keep the jobs that finished just now; kill the rest below
      break;
    }
    bool over_budget = options_.budget_ms > 0 && MsSince(start_) >= options_.budget_ms;
    auto next_job_ready = [&] {
      if (queue.empty()) return false;
      if (over_budget && queue.front().seed != last_round_seed) return false;
      return options_.stop_after_jobs == 0 ||
             jobs_run_ + running_.size() < options_.stop_after_jobs;
    };
    while (status.ok() && running_.size() < jobs) {
      if (!retry_queue_.empty()) {
        status = Start(retry_queue_.front(), JobKind::kRun);
        retry_queue_.pop_front();
        continue;
      }
      if (StartDueRecheck(false, status)) continue;
      if (next_job_ready()) {
        status = Start(queue.front(), JobKind::kRun);
        last_round_seed = queue.front().seed;
        queue.pop();
        continue;
      }
      // Nothing else will start: the re-checks left go now.
      if (!StartDueRecheck(true, status)) break;
    }
    if (running_.empty()) break;
    status.Update(Collect());
    SampleRate(false);
    progress.Update(MsSince(start_), jobs_run_, findings_, false);
    if (!status.ok() && running_.empty()) break;
  }
  KillAll();
  if (!status.ok()) return status;
  if (options_.run_traced) {
    for (const JobKey& key : mismatched_) {
      if (g_stop_requested) break;
      if (absl::Status s = TraceMismatch(key); !s.ok()) return s;
    }
    KillAll();
    interrupted = interrupted || g_stop_requested;
  }

  CampaignOutcome outcome;
  outcome.interrupted = interrupted;
  outcome.jobs_run = jobs_run_;
  outcome.jobs_skipped = skipped;
  outcome.rechecks_run = rechecks_run_;
  SampleRate(true);
  progress.Update(MsSince(start_), jobs_run_, findings_, true);
  outcome.summary = Summarize(config_, results_, rechecks_);
  WallClockStats& wall = outcome.summary.wall_clock;
  wall.wall_ms = MsSince(start_);
  wall.budget_ms = options_.budget_ms;
  wall.jobs = jobs;
  wall.rate = rate_;
  ComputeRates(outcome.summary);
  if (options_.write_reports) {
    absl::Status written = options_.write_reports(outcome.summary, options_.out_dir);
    if (!written.ok()) return written;
  }
  return outcome;
}

}  // namespace

absl::StatusOr<JobResults> ParseResultsJsonl(std::string_view text, std::string_view source,
                                             const CampaignConfig& config) {
  uint64_t complete_bytes = 0;
  return ParseJobLines<RunResult>(text, source, config, &complete_bytes);
}

std::string ReplayCommand(const std::string& prefix, const std::string& scenario, uint64_t seed) {
  return absl::StrCat(prefix, " --scenario ", scenario, " --seed ", seed);
}

absl::StatusOr<RecheckRatio> ParseRecheckRatio(const std::string& text) {
  const std::string expected =
      "expected a ratio A/B between 0 and 1 such as 1/64, 0 (only runs with a finding), 1 (every "
      "run) or off";
  if (text == "off") return RecheckRatio{};
  uint32_t numerator = 0, denominator = 1;
  std::vector<std::string> parts = absl::StrSplit(text, '/');
  auto digits = [](const std::string& s) {
    return !s.empty() &&
           std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
  };
  if (parts.size() > 2 || !std::all_of(parts.begin(), parts.end(), digits) ||
      !absl::SimpleAtoi(parts[0], &numerator) ||
      (parts.size() == 2 && !absl::SimpleAtoi(parts[1], &denominator))) {
    return absl::InvalidArgumentError(absl::StrCat("bad --recheck '", text, "': ", expected));
  }
  if (denominator == 0 || denominator > kMaxRecheckDenominator) {
    return absl::InvalidArgumentError(absl::StrCat(
        "bad --recheck '", text, "': the denominator must be 1..", kMaxRecheckDenominator));
  }
  if (numerator > denominator) {
    return absl::InvalidArgumentError(
        absl::StrCat("bad --recheck '", text, "': above 1; ", expected));
  }
  return RecheckRatio{numerator, denominator};
}

std::string RecheckRatioText(const RecheckRatio& ratio) {
  if (ratio.Off()) return "off";
  return absl::StrCat(ratio.numerator, "/", ratio.denominator);
}

bool InRecheckSample(const RecheckRatio& ratio, const std::string& scenario, uint64_t seed) {
  if (ratio.Off()) return false;
  return Mix64(seed ^ Fnv1a64(scenario)) % ratio.denominator < ratio.numerator;
}

std::vector<std::string> ResultDifferences(const RunResult& a, const RunResult& b) {
  const nlohmann::json ja = a, jb = b;
  std::vector<std::string> out;
  for (const auto& [name, value] : ja.items()) {
    if (!jb.contains(name) || jb.at(name) != value) out.push_back(name);
  }
  for (const auto& [name, value] : jb.items()) {
    if (!ja.contains(name)) out.push_back(name);
  }
  return out;
}

std::string FirstTraceDifference(const std::string& trace_a, const std::string& trace_b) {
  auto shown = [](absl::string_view line) {
    return line.size() > kMaxQuotedEvent ? absl::StrCat(line.substr(0, kMaxQuotedEvent), "...")
                                         : std::string(line);
  };
  std::vector<absl::string_view> a = absl::StrSplit(trace_a, '\n');
  std::vector<absl::string_view> b = absl::StrSplit(trace_b, '\n');
  for (size_t i = 0; i < std::max(a.size(), b.size()); ++i) {
    absl::string_view la = i < a.size() ? a[i] : "", lb = i < b.size() ? b[i] : "";
    if (la == lb) continue;
    return absl::StrCat("event ", i + 1, ": ", la.empty() ? "(trace ended)" : shown(la), " / ",
                        lb.empty() ? "(trace ended)" : shown(lb));
  }
  return "no event: the traces are the same";
}

absl::StatusOr<CampaignOutcome> RunCampaign(const CampaignOptions& options,
                                            const SeedFunction& run_seed) {
  Runner runner(options, run_seed);
  return runner.Run();
}

absl::StatusOr<CampaignDir> LoadCampaignDir(const std::string& dir) {
  CampaignDir out;
  absl::StatusOr<CampaignConfig> config = ReadConfig(absl::StrCat(dir, "/", kConfigFile));
  if (!config.ok()) return config.status();
  out.config = *std::move(config);
  uint64_t complete_bytes = 0;
  absl::StatusOr<JobResults> results =
      ReadResults(absl::StrCat(dir, "/", kResultsFile), out.config, &complete_bytes);
  if (!results.ok()) return results.status();
  out.results = *std::move(results);
  absl::StatusOr<JobRechecks> rechecks =
      ReadRechecks(absl::StrCat(dir, "/", kRechecksFile), out.config, &complete_bytes);
  if (!rechecks.ok()) return rechecks.status();
  out.rechecks = *std::move(rechecks);
  ApplyRechecks(out.rechecks, out.results);
  absl::StatusOr<std::string> summary = ReadWholeFile(absl::StrCat(dir, "/", kSummaryFile));
  if (summary.ok()) {
    try {
      out.wall_clock = nlohmann::json::parse(*summary).get<CampaignSummary>().wall_clock;
    } catch (const nlohmann::json::exception&) {
      // An old or damaged summary only costs the wall-clock figures.
    }
  }
  return out;
}

absl::StatusOr<CampaignSummary> MergeCampaignDirs(const std::vector<std::string>& dirs) {
  std::vector<std::pair<CampaignConfig, JobResults>> shards;
  std::vector<WallClockStats> walls;
  std::vector<JobRechecks> rechecks;
  for (const std::string& dir : dirs) {
    absl::StatusOr<CampaignDir> loaded = LoadCampaignDir(dir);
    if (!loaded.ok()) return loaded.status();
    shards.emplace_back(std::move(loaded->config), std::move(loaded->results));
    rechecks.push_back(std::move(loaded->rechecks));
    if (loaded->wall_clock) walls.push_back(*loaded->wall_clock);
  }
  return MergeSummaries(shards, walls, rechecks);
}

}  // namespace snapsim
