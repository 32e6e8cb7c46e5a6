// SPDX-License-Identifier: GPL-2.0-only
#include "sim/campaign_minimize.h"

#include <algorithm>
#include <cassert>
#include <filesystem>
#include <optional>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "sim/atomic_file.h"
#include "sim/minimize.h"
#include "sim/replay_case.h"
#include "sim/run.h"

namespace snapsim {
namespace {

namespace fs = std::filesystem;

constexpr const char* kCasesDir = "cases";
constexpr size_t kMaxStemLength = 120;  // file names stay well under NAME_MAX

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
  std::vector<MinimizedGroup> done;
  std::vector<std::string> skipped;  // eligible, beyond max_groups
  const fs::path cases_dir = fs::path(options.out_dir) / kCasesDir;
  for (FindingGroup& g : summary.findings) {
    if (!Eligible(g)) continue;
    if (done.size() >= max_groups) {
      skipped.push_back(g.id);
      continue;
    }
    MinimizedGroup& m = done.emplace_back();
    m.id = g.id;
    const std::string stem = CaseFileStem(g.id);
    const std::string case_rel = absl::StrCat(kCasesDir, "/", stem, ".case.json");
    const std::string trace_rel = absl::StrCat(kCasesDir, "/", stem, ".trace.jsonl");
    const std::string case_path = (fs::path(options.out_dir) / case_rel).string();
    const std::string trace_path = (fs::path(options.out_dir) / trace_rel).string();

    std::optional<ReplayCase> replay_case = ReusableCase(case_path, g);
    if (replay_case) {
      m.reused = true;
    } else {
      absl::StatusOr<Scenario> scenario = load_scenario(g.first.scenario);
      if (!scenario.ok()) {
        m.problem = std::string(scenario.status().message());
        Say(options, absl::StrCat("minimize: ", g.id, ": ", m.problem));
        continue;
      }
      MinimizeOptions minimize_options;
      minimize_options.invariant = g.first.invariant;
      minimize_options.max_runs = options.max_runs_per_group;
      absl::StatusOr<MinimizeResult> result = Minimize(*scenario, g.first.seed, minimize_options);
      if (!result.ok()) {
        m.problem = std::string(result.status().message());
        Say(options, absl::StrCat("minimize: ", g.id, ": ", m.problem));
        continue;
      }
      m.original_steps = result->original_steps;
      m.runs = result->runs;
      std::error_code ec;
      fs::create_directories(cases_dir, ec);
      if (ec) {
        return absl::InternalError(
            absl::StrCat("cannot create ", cases_dir.string(), ": ", ec.message()));
      }
      if (absl::Status s = SaveReplayCase(result->replay_case, case_path); !s.ok()) return s;
      replay_case = result->replay_case;
    }
    m.steps = replay_case->steps.size();
    m.case_path = case_rel;
    g.minimized = case_rel;
    absl::StatusOr<bool> traced = WriteCaseTrace(*replay_case, case_path, trace_path);
    if (!traced.ok()) return traced.status();
    if (*traced) {
      m.trace_path = trace_rel;
      g.trace = trace_rel;
    } else {
      m.problem = "the minimized case no longer fails its invariant; no trace written";
    }
    Say(options,
        absl::StrCat(
            "minimize: ", g.id, ": seed ", g.first.seed, " -> ", m.steps, " steps",
            m.reused ? " (case reused)" : "",
            m.reused ? "" : absl::StrCat(" from ", m.original_steps, " in ", m.runs, " runs"), ": ",
            case_path));
  }
  if (!skipped.empty()) {
    Say(options,
        absl::StrCat("minimize: ", skipped.size(), " more finding kinds left as seeds (at most ",
                     max_groups, " are minimized): ", absl::StrJoin(skipped, ", ")));
  }
  assert(done.size() <= kMaxMinimizedGroups);
  return done;
}

}  // namespace snapsim
