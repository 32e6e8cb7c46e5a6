// SPDX-License-Identifier: GPL-2.0-only
#include "sim/campaign/cause.h"

#include "absl/strings/str_join.h"
#include "sim/campaign/campaign_summary.h"
#include "sim/check/finding.h"

namespace snapsim {
namespace {

nlohmann::json NullIfEmpty(const std::string& text) {
  return text.empty() ? nlohmann::json() : nlohmann::json(text);
}

std::string EmptyIfNull(const nlohmann::json& j, const char* field) {
  if (!j.contains(field) || j.at(field).is_null()) return "";
  return j.at(field).get<std::string>();
}

}  // namespace

bool MinimizableCause(const Cause& c) {
  return c.contract == ContractName(Contract::kWithin) && !c.first_run.scenario.empty() &&
         !IsRunnerInvariant(c.first_run.invariant);
}

void to_json(nlohmann::json& j, const Cause& c) {
  j = nlohmann::json{
      {"id", c.id},
      {"title", c.title},
      {"known", c.known},
      {"catalogue_id", c.catalogue_ids.empty()
                           ? nlohmann::json()
                           : nlohmann::json(absl::StrJoin(c.catalogue_ids, kCauseIdJoin))},
      {"catalogue_ids", c.catalogue_ids},
      {"corrections", c.corrections},
      {"upstream", c.upstream},
      {"signature", c.signature},
      {"runs", c.runs},
      {"attributed_runs", c.attributed_runs},
      {"replays", c.replays},
      {"scenarios", c.scenarios},
      {"invariants", c.invariants},
      {"contract", c.contract},
      {"first_run",
       {{"scenario", c.first_run.scenario},
        {"seed", c.first_run.seed},
        {"invariant", c.first_run.invariant}}},
      {"minimized_case", NullIfEmpty(c.minimized_case)},
      {"minimized_trace", NullIfEmpty(c.minimized_trace)},
      {"minimized_steps", c.minimized_steps},
      {"catalogue_case", NullIfEmpty(c.catalogue_case)},
      {"replay_command", c.replay_command},
      {"correction_was_on", c.correction_was_on},
  };
}

void from_json(const nlohmann::json& j, Cause& c) {
  c = Cause{};
  c.id = j.at("id").get<std::string>();
  c.title = j.at("title").get<std::string>();
  c.known = j.at("known").get<bool>();
  c.catalogue_ids = j.value("catalogue_ids", std::vector<std::string>{});
  c.corrections = j.value("corrections", std::vector<std::string>{});
  c.upstream = j.value("upstream", "");
  c.signature = j.value("signature", "");
  c.runs = j.at("runs").get<uint64_t>();
  c.attributed_runs = j.value("attributed_runs", uint64_t{0});
  c.replays = j.value("replays", uint64_t{0});
  c.scenarios = j.at("scenarios").get<std::vector<std::string>>();
  c.invariants = j.at("invariants").get<std::vector<std::string>>();
  c.contract = j.at("contract").get<std::string>();
  if (j.contains("first_run")) {
    const nlohmann::json& run = j.at("first_run");
    c.first_run.scenario = run.at("scenario").get<std::string>();
    c.first_run.seed = run.at("seed").get<uint64_t>();
    c.first_run.invariant = run.at("invariant").get<std::string>();
  }
  c.minimized_case = EmptyIfNull(j, "minimized_case");
  c.minimized_trace = EmptyIfNull(j, "minimized_trace");
  c.minimized_steps = j.value("minimized_steps", uint64_t{0});
  c.catalogue_case = EmptyIfNull(j, "catalogue_case");
  c.replay_command = j.at("replay_command").get<std::string>();
  c.correction_was_on = j.value("correction_was_on", false);
}

}  // namespace snapsim
