// SPDX-License-Identifier: GPL-2.0-only
#include "sim/campaign/campaign_minimize.h"

#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <optional>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "sim/run/minimize.h"
#include "sim/run/replay_case.h"
#include "sim/run/run.h"
#include "util/assert.h"
#include "util/atomic_file.h"

namespace snapsim {
namespace {

namespace fs = std::filesystem;

constexpr const char* kCasesDir = "cases";
constexpr size_t kMaxStemLength = 120;  // file names stay well under NAME_MAX
constexpr int kWorkerWriteFailedExit = 3;

bool Eligible(const FindingGroup& g) {
  return g.first.contract == Contract::kWithin && g.first.invariant != kSimulationCrashed &&
         g.first.invariant != kSimulationTimeout;
}

void Say(const CampaignMinimizeOptions& options, const std::string& line) {
  if (options.log_out != nullptr) *options.log_out << line << "\n";
}

// The case on disk, if it is the one this group would get: same seed, same invariant.
std::optional<ReplayCase> ReusableCase(const std::string& path, const FindingGroup& g) {
  if (!fs::exists(path)) return std::nullopt;
  absl::StatusOr<ReplayCase> existing = LoadReplayCase(path);
  if (!existing.ok() || existing->seed != g.first.seed ||
      existing->expected_invariant != g.first.invariant ||
      existing->scenario_name != g.first.scenario) {
    return std::nullopt;
  }
  return *std::move(existing);
}

// Replays the case with a trace; the trace is written only if the case still fails.
absl::StatusOr<bool> WriteCaseTrace(const ReplayCase& replay_case, const std::string& case_path,
                                    const std::string& trace_path) {
  std::ostringstream trace;
  RunOptions run_options;
  run_options.trace_out = &trace;
  run_options.replay_prefix = absl::StrCat("snapsim run --replay-case ", case_path);
  run_options.replay_prefix_is_complete = true;
  RunResult r = RunSteps(replay_case.scenario, replay_case.seed, replay_case.steps, run_options);
  const bool fails = std::any_of(r.findings.begin(), r.findings.end(), [&](const Finding& f) {
    return f.invariant == replay_case.expected_invariant;
  });
  if (!fails) return false;
  if (absl::Status s = WriteFileAtomically(trace_path, trace.str()); !s.ok()) return s;
  return true;
}

std::string CasePath(const std::string& out_dir, const FindingGroup& g) {
  return (fs::path(out_dir) / kCasesDir / absl::StrCat(CaseFileStem(g.id), ".case.json")).string();
}

// Minimizes the group's lowest seed and saves the case. A seed that does not fail any more is
// a `problem`, not an error; a file that cannot be written is.
absl::Status MinimizeToDisk(const FindingGroup& g, const ScenarioLoader& load_scenario,
                            const CampaignMinimizeOptions& options, MinimizedGroup& m) {
  absl::StatusOr<Scenario> scenario = load_scenario(g.first.scenario);
  absl::StatusOr<MinimizeResult> result = absl::UnknownError("not run");
  if (scenario.ok()) {
    MinimizeOptions minimize_options;
    minimize_options.invariant = g.first.invariant;
    minimize_options.max_runs = options.max_runs_per_group;
    result = Minimize(*scenario, g.first.seed, minimize_options);
  } else {
    result = scenario.status();
  }
  if (!result.ok()) {
    m.problem = std::string(result.status().message());
    Say(options, absl::StrCat("minimize: ", g.id, ": ", m.problem));
    return absl::OkStatus();
  }
  m.original_steps = result->original_steps;
  m.runs = result->runs;
  const std::string path = CasePath(options.out_dir, g);
  if (absl::Status s = SaveReplayCase(result->replay_case, path); !s.ok()) return s;
  Say(options, absl::StrCat("minimize: ", g.id, ": seed ", g.first.seed, " -> ",
                            result->replay_case.steps.size(), " steps from ", m.original_steps,
                            " in ", m.runs, " runs: ", path));
  return absl::OkStatus();
}

// MinimizeToDisk for each of `which`, at most options.jobs at a time, each in a forked child:
// the cases come back through the files, and a minimizer run that crashes costs only its group.
void MinimizeInWorkers(const std::vector<FindingGroup*>& targets, const std::vector<size_t>& which,
                       const ScenarioLoader& load_scenario, const CampaignMinimizeOptions& options,
                       std::vector<MinimizedGroup>& done) {
  std::map<pid_t, size_t> running;  // pid -> index into targets
  size_t next = 0;
  while (next < which.size() || !running.empty()) {
    while (next < which.size() && running.size() < options.jobs) {
      const size_t i = which[next++];
      if (options.log_out != nullptr) options.log_out->flush();
      std::fflush(nullptr);  // buffered output must not be written twice
      const pid_t pid = ::fork();
      if (pid < 0) {
        done[i].problem = absl::StrCat("fork: ", std::strerror(errno));
        continue;
      }
      if (pid == 0) {
        absl::Status s = MinimizeToDisk(*targets[i], load_scenario, options, done[i]);
        if (!s.ok()) Say(options, absl::StrCat("minimize: ", targets[i]->id, ": ", s.message()));
        if (options.log_out != nullptr) options.log_out->flush();
        std::fflush(nullptr);
        _exit(s.ok() ? 0 : kWorkerWriteFailedExit);
      }
      running.emplace(pid, i);
    }
    int status = 0;
    const pid_t pid = ::waitpid(-1, &status, 0);
    if (pid < 0) {
      if (errno == EINTR) continue;
      break;  // no children left to wait for
    }
    auto it = running.find(pid);
    if (it == running.end()) continue;  // not one of ours
    if (WIFSIGNALED(status)) {
      done[it->second].problem =
          absl::StrCat("the minimizer was killed by signal ", WTERMSIG(status));
    } else if (WEXITSTATUS(status) != 0) {
      done[it->second].problem = "the minimizer could not write its case";
    }
    running.erase(it);
  }
}

}  // namespace

std::string CaseFileStem(const std::string& group_id) {
  std::string stem;
  for (char c : group_id.substr(0, kMaxStemLength)) {
    const bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                       c == '-' || c == '.';
    stem += plain ? c : '_';
  }
  if (stem.empty() || stem[0] == '.') stem.insert(0, "case");
  return stem;
}

absl::StatusOr<std::vector<MinimizedGroup>> MinimizeCampaignFindings(
    CampaignSummary& summary, const ScenarioLoader& load_scenario,
    const CampaignMinimizeOptions& options) {
  const uint32_t max_groups = std::clamp<uint32_t>(options.max_groups, 1, kMaxMinimizedGroups);
  std::vector<FindingGroup*> targets;
  std::vector<std::string> skipped;  // eligible, beyond max_groups
  for (FindingGroup& g : summary.findings) {
    if (!Eligible(g)) continue;
    if (targets.size() < max_groups) {
      targets.push_back(&g);
    } else {
      skipped.push_back(g.id);
    }
  }
  std::error_code ec;
  fs::create_directories(fs::path(options.out_dir) / kCasesDir, ec);
  if (!targets.empty() && ec) {
    return absl::InternalError(
        absl::StrCat("cannot create ", options.out_dir, "/", kCasesDir, ": ", ec.message()));
  }

  // First the cases not on disk yet, each in a worker process when jobs > 1.
  std::vector<MinimizedGroup> done(targets.size());
  std::vector<size_t> to_minimize;
  for (size_t i = 0; i < targets.size(); ++i) {
    done[i].id = targets[i]->id;
    if (!ReusableCase(CasePath(options.out_dir, *targets[i]), *targets[i])) {
      to_minimize.push_back(i);
    }
  }
  if (options.jobs <= 1) {
    for (size_t i : to_minimize) {
      absl::Status s = MinimizeToDisk(*targets[i], load_scenario, options, done[i]);
      if (!s.ok()) return s;
    }
  } else {
    MinimizeInWorkers(targets, to_minimize, load_scenario, options, done);
  }

  // Then every target's case, fresh or earlier, gets its trace and its place in the summary.
  for (size_t i = 0; i < targets.size(); ++i) {
    FindingGroup& g = *targets[i];
    MinimizedGroup& m = done[i];
    const std::string case_path = CasePath(options.out_dir, g);
    std::optional<ReplayCase> replay_case = ReusableCase(case_path, g);
    if (!replay_case) {
      if (m.problem.empty()) m.problem = "no case was written (the minimizer said why above)";
      continue;
    }
    m.reused = std::find(to_minimize.begin(), to_minimize.end(), i) == to_minimize.end();
    m.steps = replay_case->steps.size();
    m.case_path = absl::StrCat(kCasesDir, "/", CaseFileStem(g.id), ".case.json");
    g.minimized = m.case_path;
    const std::string trace_rel = absl::StrCat(kCasesDir, "/", CaseFileStem(g.id), ".trace.jsonl");
    absl::StatusOr<bool> traced =
        WriteCaseTrace(*replay_case, case_path, (fs::path(options.out_dir) / trace_rel).string());
    if (!traced.ok()) return traced.status();
    if (*traced) {
      m.trace_path = trace_rel;
      g.trace = trace_rel;
    } else {
      m.problem = "the minimized case no longer fails its invariant; no trace written";
    }
    if (m.reused) {
      Say(options, absl::StrCat("minimize: ", g.id, ": seed ", g.first.seed, " -> ", m.steps,
                                " steps (case reused): ", case_path));
    }
  }
  if (!skipped.empty()) {
    Say(options,
        absl::StrCat("minimize: ", skipped.size(), " more finding kinds left as seeds (at most ",
                     max_groups, " are minimized): ", absl::StrJoin(skipped, ", ")));
  }
  SNAPSIM_ASSERT(done.size() <= kMaxMinimizedGroups);
  return done;
}

}  // namespace snapsim
