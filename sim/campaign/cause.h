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
  std::string contract;                    // "within" or "beyond" (of its lowest-seed run)
  std::string minimized_case;              // relative to the report directory; "" when none
  std::string catalogue_case;              // known: the catalogue's minimal case; "" otherwise
  std::string replay_command;              // replays its lowest-seed run (as it failed)
  // A correction of this cause was already on when its runs failed: the correction does not
  // hold (or the replay is not deterministic). Reports flag it.
  bool correction_was_on = false;

  friend bool operator==(const Cause&, const Cause&) = default;
};

void to_json(nlohmann::json& j, const Cause& c);
void from_json(const nlohmann::json& j, Cause& c);

}  // namespace snapsim

#endif  // SNAPSIM_SIM_CAMPAIGN_CAUSE_H_
