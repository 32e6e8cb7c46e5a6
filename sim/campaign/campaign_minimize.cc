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
#include "core/named_options.h"
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

// What one case is minimized from, and which files on disk may stand for it.
struct Target {
  std::string id;  // cause id (finding group id without attribution): names the files
  std::string scenario;
  uint64_t seed = 0;
  std::string invariant;
  std::vector<std::string> corrections;  // every candidate must pass with these on; may be empty
  std::vector<std::string> scenarios;    // a case on disk from one of these ...
  std::vector<std::string> invariants;   // ... failing one of these is reused
};

bool Contains(const std::vector<std::string>& v, const std::string& x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

bool EligibleGroup(const FindingGroup& g) {
  return g.first.contract == Contract::kWithin && !IsRunnerInvariant(g.first.invariant);
}

Target CauseTarget(const Cause& c) {
  Target t{c.id, c.first_run.scenario, c.first_run.seed, c.first_run.invariant,
           {},   c.scenarios,          c.invariants};
  // With a correction already on, the corrections cannot tell this cause from another.
  if (c.known && !c.correction_was_on) t.corrections = c.corrections;
  return t;
}

Target GroupTarget(const FindingGroup& g) {
  return Target{g.id, g.first.scenario,   g.first.seed,       g.first.invariant,
                {},   {g.first.scenario}, {g.first.invariant}};
}

void Say(const CampaignMinimizeOptions& options, const std::string& line) {
  if (options.log_out != nullptr) *options.log_out << line << "\n";
}

// The case on disk, if it may stand for the target: from one of its scenarios, failing one of
// its invariants.
std::optional<ReplayCase> ReusableCase(const std::string& path, const Target& t) {
  if (!fs::exists(path)) return std::nullopt;
  absl::StatusOr<ReplayCase> existing = LoadReplayCase(path);
  if (!existing.ok() || !Contains(t.scenarios, existing->scenario_name) ||
      !Contains(t.invariants, existing->expected_invariant)) {
    return std::nullopt;
  }
  return *std::move(existing);
}

// True when the steps pass within the contract with the corrections on.
bool PassesCorrected(const Scenario& scenario, uint64_t seed, const std::vector<Step>& steps,
                     const std::vector<std::string>& corrections) {
  Scenario corrected = scenario;
  for (const std::string& name : corrections) {
    SetNamedOption(*FindNamedOption(name), corrected.store, corrected.target);
  }
  const RunResult r = RunSteps(corrected, seed, steps);
  return std::none_of(r.findings.begin(), r.findings.end(),
                      [](const Finding& f) { return f.contract == Contract::kWithin; });
}

// Replays the case with a trace; the trace is written only if the case still fails. A replay
// whose trace hash is not the one the case records is a `problem`.
absl::StatusOr<bool> WriteCaseTrace(const ReplayCase& replay_case, const std::string& case_path,
                                    const std::string& trace_path, std::string& problem) {
  std::ostringstream trace;
  RunOptions run_options;
  run_options.trace_out = &trace;
  run_options.replay_prefix = absl::StrCat("snapsim run --replay-case ", case_path);
  run_options.replay_prefix_is_complete = true;
  RunResult r = RunSteps(replay_case.scenario, replay_case.seed, replay_case.steps, run_options);
  if (absl::Status s = CheckReplayHash(replay_case, r.trace_hash, case_path); !s.ok()) {
    problem = std::string(s.message());
  }
  const bool fails = std::any_of(r.findings.begin(), r.findings.end(), [&](const Finding& f) {
    return f.invariant == replay_case.expected_invariant;
  });
  if (!fails) return false;
  if (absl::Status s = WriteFileAtomically(trace_path, trace.str()); !s.ok()) return s;
  return true;
}

std::string CaseRelative(const Target& t, const char* suffix) {
  return absl::StrCat(kCasesDir, "/", CaseFileStem(t.id), suffix);
}

std::string CasePath(const std::string& out_dir, const Target& t) {
  return (fs::path(out_dir) / CaseRelative(t, ".case.json")).string();
}

// Minimizes the target's seed and saves the case. A seed that does not fail any more is a
// `problem`, not an error; a file that cannot be written is.
absl::Status MinimizeToDisk(const Target& t, const ScenarioLoader& load_scenario,
                            const CampaignMinimizeOptions& options, MinimizedCase& m) {
  absl::StatusOr<Scenario> scenario = load_scenario(t.scenario);
  absl::StatusOr<MinimizeResult> result = absl::UnknownError("not run");
  if (scenario.ok()) {
    MinimizeOptions minimize_options;
    minimize_options.invariant = t.invariant;
    minimize_options.max_runs = options.max_runs_per_case;
    if (!t.corrections.empty()) {
      minimize_options.keep = [&t](const Scenario& s, uint64_t seed,
                                   const std::vector<Step>& steps) {
        return PassesCorrected(s, seed, steps, t.corrections);
      };
    }
    result = Minimize(*scenario, t.seed, minimize_options);
  } else {
    result = scenario.status();
  }
  if (!result.ok()) {
    m.problem = std::string(result.status().message());
    Say(options, absl::StrCat("minimize: ", t.id, ": ", m.problem));
    return absl::OkStatus();
  }
  m.original_steps = result->original_steps;
  m.runs = result->runs;
  const std::string path = CasePath(options.out_dir, t);
  if (absl::Status s = SaveReplayCase(result->replay_case, path); !s.ok()) return s;
  Say(options, absl::StrCat("minimize: ", t.id, ": seed ", t.seed, " of ", t.scenario, " -> ",
                            result->replay_case.steps.size(), " steps from ", m.original_steps,
                            " in ", m.runs, " runs: ", path));
  return absl::OkStatus();
}

// MinimizeToDisk for each of `which`, at most options.jobs at a time, each in a forked child:
// the cases come back through the files, and a minimizer run that crashes costs only its group.
void MinimizeInWorkers(const std::vector<Target>& targets, const std::vector<size_t>& which,
                       const ScenarioLoader& load_scenario, const CampaignMinimizeOptions& options,
                       std::vector<MinimizedCase>& done) {
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
        absl::Status s = MinimizeToDisk(targets[i], load_scenario, options, done[i]);
        if (!s.ok()) Say(options, absl::StrCat("minimize: ", targets[i].id, ": ", s.message()));
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

std::string CaseFileStem(const std::string& id) {
  std::string stem;
  for (char c : id.substr(0, kMaxStemLength)) {
    const bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                       c == '-' || c == '.';
    stem += plain ? c : '_';
  }
  if (stem.empty() || stem[0] == '.') stem.insert(0, "case");
  return stem;
}

absl::StatusOr<std::vector<MinimizedCase>> MinimizeCampaignFindings(
    CampaignSummary& summary, const ScenarioLoader& load_scenario,
    const CampaignMinimizeOptions& options) {
  const uint32_t max_cases = std::clamp<uint32_t>(options.max_cases, 1, kMaxMinimizedCases);
  // Causes in summary order (unexplained first); finding groups when nothing was attributed.
  std::vector<Target> targets;
  std::vector<std::string> skipped;  // eligible, beyond max_cases
  auto offer = [&](Target t) {
    if (targets.size() < max_cases) {
      targets.push_back(std::move(t));
    } else {
      skipped.push_back(t.id);
    }
  };
  for (const Cause& c : summary.causes) {
    if (MinimizableCause(c)) offer(CauseTarget(c));
  }
  if (summary.causes.empty()) {
    for (const FindingGroup& g : summary.findings) {
      if (EligibleGroup(g)) offer(GroupTarget(g));
    }
  }
  std::error_code ec;
  fs::create_directories(fs::path(options.out_dir) / kCasesDir, ec);
  if (!targets.empty() && ec) {
    return absl::InternalError(
        absl::StrCat("cannot create ", options.out_dir, "/", kCasesDir, ": ", ec.message()));
  }

  // First the cases not on disk yet, each in a worker process when jobs > 1.
  std::vector<MinimizedCase> done(targets.size());
  std::vector<size_t> to_minimize;
  for (size_t i = 0; i < targets.size(); ++i) {
    done[i].id = targets[i].id;
    if (!ReusableCase(CasePath(options.out_dir, targets[i]), targets[i])) to_minimize.push_back(i);
  }
  if (options.jobs <= 1) {
    for (size_t i : to_minimize) {
      absl::Status s = MinimizeToDisk(targets[i], load_scenario, options, done[i]);
      if (!s.ok()) return s;
    }
  } else {
    MinimizeInWorkers(targets, to_minimize, load_scenario, options, done);
  }

  // Then every target's case, fresh or earlier, gets its trace and its place in the summary.
  for (size_t i = 0; i < targets.size(); ++i) {
    const Target& t = targets[i];
    MinimizedCase& m = done[i];
    const std::string case_path = CasePath(options.out_dir, t);
    std::optional<ReplayCase> replay_case = ReusableCase(case_path, t);
    if (!replay_case) {
      if (m.problem.empty()) m.problem = "no case was written (the minimizer said why above)";
      continue;
    }
    m.reused = std::find(to_minimize.begin(), to_minimize.end(), i) == to_minimize.end();
    m.steps = replay_case->steps.size();
    m.case_path = CaseRelative(t, ".case.json");
    const std::string trace_rel = CaseRelative(t, ".trace.jsonl");
    absl::StatusOr<bool> traced = WriteCaseTrace(
        *replay_case, case_path, (fs::path(options.out_dir) / trace_rel).string(), m.problem);
    if (!traced.ok()) return traced.status();
    if (*traced) {
      m.trace_path = trace_rel;
    } else {
      m.problem = "the minimized case no longer fails its invariant; no trace written";
    }
    if (m.reused) {
      Say(options,
          absl::StrCat("minimize: ", t.id, ": ", m.steps, " steps (case reused): ", case_path));
    }
    for (Cause& c : summary.causes) {
      if (c.id != t.id) continue;
      c.minimized_case = m.case_path;
      c.minimized_trace = m.trace_path;
      c.minimized_steps = m.steps;
    }
    // Without causes the target is the group itself; with them, every group of the cause.
    for (FindingGroup& g : summary.findings) {
      if (g.id != t.id && g.cause != t.id) continue;
      g.minimized = m.case_path;
      g.trace = m.trace_path;
    }
  }
  if (!skipped.empty()) {
    Say(options, absl::StrCat("minimize: ", skipped.size(), " more ",
                              summary.causes.empty() ? "finding kinds" : "causes",
                              " left as seeds (at most ", max_cases,
                              " are minimized): ", absl::StrJoin(skipped, ", ")));
  }
  SNAPSIM_ASSERT(done.size() <= kMaxMinimizedCases);
  return done;
}

}  // namespace snapsim
