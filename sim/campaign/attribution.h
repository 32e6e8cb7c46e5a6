// SPDX-License-Identifier: GPL-2.0-only
//
// Attribution by counterfactual replay: why did a run fail? Replay the same seed with catalogued
// corrections (sim/campaign/finding_catalogue.h) switched on and find the smallest set that makes
// it pass within the contract. That set's catalogue entries are the run's cause; a run no
// correction explains joins an "unexplained-<hash>" cause (sim/campaign/unexplained_signature.h).
//
// Search (AttributeRun), at most 2 * corrections + 1 replays:
//  1. singles: each correction not already on, those answering the run's first violated invariant
//     first (a correction changes the I/O schedule, so an unrelated one may pass by chance; the
//     catalogue's invariant tells which to believe first); the first that passes is the cause;
//  2. else all of them together; if that still fails, the run is unexplained;
//  3. else leave-one-out: drop each correction in turn and keep it dropped while the rest still
//     pass. What is left is a set no member of which can be dropped.
// "Passes within the contract": a run that failed within the contract replays without any
// within-contract finding; a run with only beyond-contract findings replays without any finding.
//
// Bounded (AttributeCampaign): runs are taken in job order and at most max_runs_per_group runs of
// each (first invariant, scenario, contract) group are replayed; the others get the cause most of
// their group's replayed runs got. Every Cause says how many runs it rests on. Runs the campaign
// runner itself failed (simulation_crashed, simulation_timeout, nondeterminism) are not replayed
// here (they may crash or hang this process, or not reproduce): they are unexplained.
#ifndef SNAPSIM_SIM_CAMPAIGN_ATTRIBUTION_H_
#define SNAPSIM_SIM_CAMPAIGN_ATTRIBUTION_H_

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "core/exception_store.h"
#include "core/snapshot_target.h"
#include "sim/campaign/campaign_summary.h"
#include "sim/campaign/finding_catalogue.h"
#include "sim/check/finding.h"

namespace snapsim {

inline constexpr uint32_t kDefaultAttributedRunsPerGroup = 8;
inline constexpr uint32_t kMaxAttributedRunsPerGroup = 1000;

// Replays `failing` (same scenario, seed and options) with these named corrections switched on
// in addition. Attribution calls it; tests inject their own.
using CorrectionReplay =
    std::function<RunResult(const RunResult& failing, const std::vector<std::string>& corrections)>;

struct RunAttribution {
  std::vector<std::string> catalogue_ids;  // in catalogue order; empty: unexplained
  std::vector<std::string> corrections;    // their named options, same order
  uint32_t replays = 0;
};

// True when `replay` passes where `original` failed (see "passes within the contract" above).
bool PassesWithinContract(const RunResult& original, const RunResult& replay);

// The named corrections the catalogue would try on a run that ran with `options_on` (names as
// given to --option; "corrected" means all of them).
bool CorrectionIsOn(const std::string& correction, const std::vector<std::string>& options_on);

// REQUIRES: failing.findings is not empty.
RunAttribution AttributeRun(const RunResult& failing, const FindingCatalogue& catalogue,
                            const std::vector<std::string>& options_on,
                            const CorrectionReplay& replay);

// The named options (core/named_options.h) switched on in these structs, in table order.
std::vector<std::string> NamedOptionsOn(const StoreOptions& store, const TargetOptions& target);

struct AttributionOptions {
  uint32_t max_runs_per_group = kDefaultAttributedRunsPerGroup;  // 1..kMaxAttributedRunsPerGroup
  // Scenario name -> the named options its runs had on (its file's and --option's).
  std::map<std::string, std::vector<std::string>> options_on;
};

struct AttributionStats {
  uint64_t failing_runs = 0;
  uint64_t runs_attributed = 0;  // replayed
  uint64_t replays = 0;
  uint64_t elapsed_ms = 0;  // wall clock, reporting only
};

// Fills summary.causes and every summary.findings[i].cause from the failing runs of `results`
// (the summary's own). Deterministic but for elapsed_ms.
AttributionStats AttributeCampaign(CampaignSummary& summary, const JobResults& results,
                                   const FindingCatalogue& catalogue,
                                   const CorrectionReplay& replay,
                                   const AttributionOptions& options);

// `report merge`: the causes the shards attributed, joined by id (runs and replays summed,
// scenarios and invariants united; the rest from the first shard that has it), and each merged
// finding group's cause from the shard holding its lowest seed. Attribution is not rerun, so
// the per-group bound applied per shard.
void MergeShardCauses(const std::vector<CampaignSummary>& shards, CampaignSummary& merged);

}  // namespace snapsim

#endif  // SNAPSIM_SIM_CAMPAIGN_ATTRIBUTION_H_
