// SPDX-License-Identifier: GPL-2.0-only
#include "sim/run/minimize.h"

#include <algorithm>
#include <optional>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "sim/run/run.h"
#include "sim/world/fault_profile.h"

namespace snapsim {
namespace {

class Minimizer {
 public:
  Minimizer(Scenario scenario, uint64_t seed, std::string invariant, uint32_t snapshot,
            const MinimizeOptions& options)
      : scenario_(std::move(scenario)),
        seed_(seed),
        invariant_(std::move(invariant)),
        snapshot_(snapshot),
        max_runs_(std::min(options.max_runs, kMaxMinimizeRuns)),
        keep_(options.keep),
        log_(options.log_out) {}

  bool Fails(const std::vector<Step>& steps) {
    if (runs_ >= max_runs_) return false;
    ++runs_;
    RunResult r = RunSteps(scenario_, seed_, steps);
    const bool fails = std::any_of(r.findings.begin(), r.findings.end(), [&](const Finding& f) {
      return f.invariant == invariant_ && f.snapshot == snapshot_;
    });
    if (!fails || !keep_) return fails;
    if (runs_ >= max_runs_) return false;
    ++runs_;
    return keep_(scenario_, seed_, steps);
  }

  // ddmin: remove chunks (complements) while the failure stays.
  std::vector<Step> DeltaDebug(std::vector<Step> steps) {
    size_t granularity = 2;
    while (steps.size() >= 2 && runs_ < max_runs_) {
      const size_t chunk = (steps.size() + granularity - 1) / granularity;
      bool reduced = false;
      for (size_t start = 0; start < steps.size(); start += chunk) {
        std::vector<Step> complement;
        complement.reserve(steps.size());
        for (size_t i = 0; i < steps.size(); ++i) {
          if (i < start || i >= start + chunk) complement.push_back(steps[i]);
        }
        if (Fails(complement)) {
          steps = std::move(complement);
          granularity = std::max<size_t>(granularity - 1, 2);
          reduced = true;
          break;
        }
      }
      if (!reduced) {
        if (granularity >= steps.size()) break;
        granularity = std::min(granularity * 2, steps.size());
      }
      Log(absl::StrFormat("  ddmin: %u steps, %u runs", steps.size(), runs_));
    }
    return steps;
  }

  // One step at a time, until nothing more can go (1-minimal).
  std::vector<Step> RemoveSingles(std::vector<Step> steps) {
    bool changed = true;
    while (changed && runs_ < max_runs_) {
      changed = false;
      for (size_t i = 0; i < steps.size(); ++i) {
        std::vector<Step> candidate = steps;
        candidate.erase(candidate.begin() + static_cast<ptrdiff_t>(i));
        if (Fails(candidate)) {
          steps = std::move(candidate);
          changed = true;
          break;
        }
      }
    }
    return steps;
  }

  // Switch off each fault family whose absence keeps the failure.
  uint32_t RemoveFaultFamilies(const std::vector<Step>& steps) {
    uint32_t removed = 0;
    for (const FaultFamilyInfo& info : kFaultFamilies) {
      if (!FamilyEnabled(scenario_.faults, info.family)) continue;
      const FaultProfile saved = scenario_.faults;
      DisableFamily(scenario_.faults, info.family);
      if (Fails(steps)) {
        ++removed;
        Log(absl::StrCat("  fault family ", std::string(info.name), " not needed"));
      } else {
        scenario_.faults = saved;
      }
    }
    return removed;
  }

  const Scenario& scenario() const { return scenario_; }
  uint32_t runs() const { return runs_; }

 private:
  void Log(const std::string& line) {
    if (log_ != nullptr) *log_ << line << "\n";
  }

  Scenario scenario_;
  const uint64_t seed_;
  const std::string invariant_;
  const uint32_t snapshot_;  // whose failure it is (several snapshots): kept while shrinking
  const uint32_t max_runs_;
  const std::function<bool(const Scenario&, uint64_t, const std::vector<Step>&)> keep_;
  std::ostream* log_;
  uint32_t runs_ = 0;
};

}  // namespace

absl::StatusOr<MinimizeResult> Minimize(const Scenario& scenario, uint64_t seed,
                                        const MinimizeOptions& options) {
  RunResult original = RunSeed(scenario, seed);
  std::string invariant = options.invariant;
  if (invariant.empty()) {
    if (original.findings.empty()) {
      return absl::FailedPreconditionError(
          absl::StrFormat("seed %u of scenario %s finds nothing: there is no failure to minimize",
                          seed, scenario.name));
    }
    invariant = original.findings.front().invariant;
  }
  // With several snapshots the failure is the invariant on one snapshot: the first that fails it.
  std::optional<uint32_t> snapshot;
  for (const Finding& f : original.findings) {
    if (f.invariant == invariant) {
      snapshot = f.snapshot;
      break;
    }
  }
  const std::string failure = scenario.SnapshotCount() > 1 && snapshot
                                  ? absl::StrCat(invariant, " on snapshot ", *snapshot)
                                  : invariant;
  // Fix the swarm draw into the case so it replays without it.
  Scenario fixed = ScenarioForSeed(scenario, seed);
  fixed.faults = EffectiveFaults(scenario, seed);
  fixed.swarm = false;
  MinimizeResult result;
  std::vector<Step> steps = StepsForSeed(scenario, seed);
  result.original_steps = steps.size();
  Minimizer minimizer(fixed, seed, invariant, snapshot.value_or(0), options);
  if (!minimizer.Fails(steps)) {
    return absl::FailedPreconditionError(
        absl::StrFormat("seed %u of scenario %s does not fail invariant %s%s", seed, scenario.name,
                        failure, options.keep ? " in the required way" : ""));
  }
  steps = minimizer.DeltaDebug(std::move(steps));
  result.fault_families_removed = minimizer.RemoveFaultFamilies(steps);
  steps = minimizer.RemoveSingles(std::move(steps));
  result.runs = minimizer.runs();
  ReplayCase& out = result.replay_case;
  out.scenario = minimizer.scenario();
  out.scenario_name = out.scenario.name;
  out.seed = seed;
  out.steps = std::move(steps);
  out.expected_invariant = invariant;
  // The hash it replays with, checked whenever the case is replayed (CheckReplayHash).
  out.trace_hash = RunSteps(out.scenario, seed, out.steps).trace_hash;
  out.note = absl::StrFormat(
      "Minimized from seed %u of scenario %s: %u steps -> %u steps in %u runs; fails %s.", seed,
      scenario.name, result.original_steps, out.steps.size(), result.runs, failure);
  return result;
}

}  // namespace snapsim
