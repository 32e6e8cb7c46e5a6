// SPDX-License-Identifier: GPL-2.0-only
//
// Cause: why some failing runs of a campaign failed, as attribution found it
// (sim/campaign/attribution.h): one or more catalogued findings whose corrections make the runs
// pass, or an "unexplained-<hash>" group of runs no correction explains. Part of summary.json
// (schema version 2, docs/report-schema.md: `causes`).
#ifndef SNAPSIM_SIM_CAMPAIGN_CAUSE_H_
#define SNAPSIM_SIM_CAMPAIGN_CAUSE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "nlohmann/json.hpp"

namespace snapsim {

inline constexpr const char* kUnexplainedPrefix = "unexplained-";
// Joins the catalogue ids of a cause that needs several corrections.
inline constexpr const char* kCauseIdJoin = "+";

// The run a cause's replay command replays and its minimized case shrinks: of the runs attributed
// to the cause by replay, the lowest seed (then the first scenario), a within-contract run of the
// store (not a runner failure) preferred.
struct CauseRun {
  std::string scenario;
  uint64_t seed = 0;
  std::string invariant;  // its first violated invariant, the one its minimized case keeps

  friend bool operator==(const CauseRun&, const CauseRun&) = default;
};

struct Cause {
  std::string id;     // catalogue ids joined by "+", or "unexplained-<hash>"
  std::string title;  // the catalogue titles joined by " + ", or the unexplained signature
  bool known = false;
  std::vector<std::string> catalogue_ids;  // empty when unexplained
  std::vector<std::string> corrections;    // the named options that make its runs pass
  std::string upstream;                    // per catalogue entry, joined by "; "; "" unexplained
  std::string signature;                   // unexplained: what the runs have in common
  uint64_t runs = 0;                       // failing runs with this cause
  uint64_t attributed_runs = 0;            // of those, replayed to find it (the rest inferred)
  uint64_t replays = 0;                    // counterfactual replays it took
  std::vector<std::string> scenarios;      // sorted
  std::vector<std::string> invariants;     // sorted, first violated invariant of each run
  std::string contract;                    // "within" or "beyond" (of first_run)
  CauseRun first_run;                      // what replay_command and minimized_case come from
  std::string minimized_case;              // relative to the report directory; "" when none
  std::string minimized_trace;             // its trace (JSON lines), same base; "" when none
  uint64_t minimized_steps = 0;            // steps of the minimized case; 0 when none
  std::string catalogue_case;              // known: the catalogue's minimal case; "" otherwise
  std::string replay_command;              // replays first_run (as it failed)
  // A correction of this cause was already on when its runs failed: the correction does not
  // hold (or the replay is not deterministic). Reports flag it.
  bool correction_was_on = false;

  friend bool operator==(const Cause&, const Cause&) = default;
};

// The cause can be minimized: first_run is a within-contract failure of the store, not of the
// campaign runner (a worker that crashed or hung would take the minimizer down with it).
bool MinimizableCause(const Cause& c);

void to_json(nlohmann::json& j, const Cause& c);
void from_json(const nlohmann::json& j, Cause& c);

}  // namespace snapsim

#endif  // SNAPSIM_SIM_CAMPAIGN_CAUSE_H_
