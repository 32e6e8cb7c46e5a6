// SPDX-License-Identifier: GPL-2.0-only
//
// Minimizing the findings of a campaign: after the seeds ran, each within-contract finding group
// gets its lowest seed shrunk (sim/run/minimize.h) to a replayable case, and a trace of that case
// is written for the report's timeline.
//
// Contract:
//  - Files: <out_dir>/cases/<sanitized id>.case.json and <sanitized id>.trace.jsonl, written
//    atomically. FindingGroup::minimized and ::trace get those paths relative to out_dir.
//  - Bounded: at most max_groups groups (in summary order: critical first), each with at most
//    max_runs_per_group candidate runs. Groups beyond contract and the runner's own
//    simulation_crashed / simulation_timeout groups are skipped (a worker that died would take
//    the campaign process down with it).
//  - Resumable: a case already on disk for the same seed and invariant is reused, not redone.
//  - Deterministic: the cases depend on the summary and the scenarios only, not on `jobs`.
//  - With jobs > 1 each group is minimized in a forked child (the caller must be
//    single-threaded); a child that crashes leaves its group unminimized, with a `problem`.
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

inline constexpr uint32_t kMaxMinimizedGroups = 64;

struct CampaignMinimizeOptions {
  std::string out_dir;                // the campaign directory
  uint32_t max_groups = 8;            // 1..kMaxMinimizedGroups
  uint32_t max_runs_per_group = 400;  // candidate runs per group
  std::ostream* log_out = nullptr;    // one line per group, or null
  uint32_t jobs = 1;  // > 1: minimize that many groups at a time, each in a forked process
};

struct MinimizedGroup {
  std::string id;
  std::string case_path;   // relative to out_dir; "" when not minimized
  std::string trace_path;  // relative to out_dir; "" when none
  size_t original_steps = 0;
  size_t steps = 0;
  uint32_t runs = 0;  // candidate runs (0: reused from disk)
  bool reused = false;
  std::string problem;  // why it was not minimized; "" on success
};

// "no_lost_committed_exception@default/within" -> "no_lost_committed_exception_default_within".
std::string CaseFileStem(const std::string& group_id);

// Minimizes the eligible groups of `summary` and fills their `minimized` and `trace` fields.
// A group that cannot be minimized (the seed no longer fails, the scenario is gone) keeps empty
// fields and says why in `problem`; only a file that cannot be written is an error.
absl::StatusOr<std::vector<MinimizedGroup>> MinimizeCampaignFindings(
    CampaignSummary& summary, const ScenarioLoader& load_scenario,
    const CampaignMinimizeOptions& options);

}  // namespace snapsim

#endif  // SNAPSIM_SIM_CAMPAIGN_CAMPAIGN_MINIMIZE_H_
