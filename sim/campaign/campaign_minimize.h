// SPDX-License-Identifier: GPL-2.0-only
//
// Minimizing the findings of a campaign, one case per cause: after the seeds ran and attribution
// named each failing run's cause (sim/campaign/attribution.h), each cause gets its first run
// (Cause::first_run) shrunk (sim/run/minimize.h) to a replayable case, and a trace of that case
// is written for the report's timeline. A campaign run without attribution has no causes; then
// each within-contract finding group (invariant@scenario/contract) gets its lowest seed shrunk.
//
// Contract:
//  - Files: <out_dir>/cases/<sanitized cause id>.case.json and <...>.trace.jsonl, written
//    atomically. Cause::minimized_case, ::minimized_trace (relative to out_dir) and
//    ::minimized_steps are filled, and every finding group of the cause (FindingGroup::cause)
//    points at the same case and trace (FindingGroup::minimized, ::trace).
//  - A known cause's case keeps its cause: every smaller candidate must still fail the invariant
//    and still pass with the cause's corrections on (unless a correction was already on).
//  - Bounded: at most max_cases causes, unexplained first, then known (summary order), each with
//    at most max_runs_per_case runs. Causes beyond the contract, and those of the runner's own
//    simulation_crashed / simulation_timeout runs, are skipped (a worker that died would take the
//    campaign process down with it).
//  - Resumable: a case already on disk for the cause, from one of its scenarios and invariants,
//    is reused, not redone (the trace is rewritten if the case still fails).
//  - Deterministic: the cases depend on the summary and the scenarios only, not on `jobs`.
//  - With jobs > 1 each case is minimized in a forked child (the caller must be single-threaded);
//    a child that crashes leaves its cause unminimized, with a `problem`.
#ifndef SNAPSIM_SIM_CAMPAIGN_CAMPAIGN_MINIMIZE_H_
#define SNAPSIM_SIM_CAMPAIGN_CAMPAIGN_MINIMIZE_H_

#include <cstdint>
#include <functional>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "sim/campaign/campaign_summary.h"
#include "sim/workload/scenario.h"

namespace snapsim {

// The scenario a campaign ran under a name, with its --option settings applied.
using ScenarioLoader = std::function<absl::StatusOr<Scenario>(const std::string& name)>;

inline constexpr uint32_t kMaxMinimizedCases = 64;

struct CampaignMinimizeOptions {
  std::string out_dir;               // the campaign directory
  uint32_t max_cases = 8;            // causes minimized, 1..kMaxMinimizedCases
  uint32_t max_runs_per_case = 400;  // runs per case
  std::ostream* log_out = nullptr;   // one line per case, or null
  uint32_t jobs = 1;  // > 1: minimize that many cases at a time, each in a forked process
};

struct MinimizedCase {
  std::string id;          // the cause's id (the finding group's without attribution)
  std::string case_path;   // relative to out_dir; "" when not minimized
  std::string trace_path;  // relative to out_dir; "" when none
  size_t original_steps = 0;
  size_t steps = 0;
  uint32_t runs = 0;  // minimizer runs (0: reused from disk)
  bool reused = false;
  std::string problem;  // why it was not minimized; "" on success
};

// "no_lost_committed_exception@default/within" -> "no_lost_committed_exception_default_within".
std::string CaseFileStem(const std::string& id);

// Minimizes the causes of `summary` (its finding groups when it has no causes) and fills in the
// cases. A cause that cannot be minimized (the seed no longer fails, the scenario is gone) keeps
// empty fields and says why in `problem`; only a file that cannot be written is an error.
absl::StatusOr<std::vector<MinimizedCase>> MinimizeCampaignFindings(
    CampaignSummary& summary, const ScenarioLoader& load_scenario,
    const CampaignMinimizeOptions& options);

}  // namespace snapsim

#endif  // SNAPSIM_SIM_CAMPAIGN_CAMPAIGN_MINIMIZE_H_
