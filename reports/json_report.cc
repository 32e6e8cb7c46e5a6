// SPDX-License-Identifier: GPL-2.0-only
#include "reports/json_report.h"

#include <initializer_list>
#include <utility>

#include "absl/strings/str_cat.h"
#include "util/atomic_file.h"

namespace snapsim {
namespace {

enum class Type {
  kString,
  kUint,
  kNumber,
  kObject,
  kArray,
  kUintOrNull,
  kObjectOrNull,
  kBool,
  kStringOrNull
};

bool Is(const nlohmann::json& v, Type t) {
  switch (t) {
    case Type::kString:
      return v.is_string();
    case Type::kUint:
      return v.is_number_unsigned() || (v.is_number_integer() && v >= 0);
    case Type::kNumber:
      return v.is_number();
    case Type::kObject:
      return v.is_object();
    case Type::kArray:
      return v.is_array();
    case Type::kUintOrNull:
      return v.is_null() || Is(v, Type::kUint);
    case Type::kObjectOrNull:
      return v.is_null() || v.is_object();
    case Type::kBool:
      return v.is_boolean();
    case Type::kStringOrNull:
      return v.is_null() || v.is_string();
  }
  return false;
}

// Checks that `j` (named `where`) has each field with its type.
absl::Status Fields(const nlohmann::json& j, const std::string& where,
                    std::initializer_list<std::pair<const char*, Type>> fields) {
  if (!j.is_object()) return absl::InvalidArgumentError(absl::StrCat(where, " is not an object"));
  for (const auto& [name, type] : fields) {
    if (!j.contains(name)) {
      return absl::InvalidArgumentError(absl::StrCat(where, ".", name, " is missing"));
    }
    if (!Is(j.at(name), type)) {
      return absl::InvalidArgumentError(absl::StrCat(where, ".", name, " has the wrong type"));
    }
  }
  return absl::OkStatus();
}

// Checks the type of each field `j` has; missing ones are fine (added within a schema version).
absl::Status OptionalFields(const nlohmann::json& j, const std::string& where,
                            std::initializer_list<std::pair<const char*, Type>> fields) {
  for (const auto& [name, type] : fields) {
    if (j.contains(name) && !Is(j.at(name), type)) {
      return absl::InvalidArgumentError(absl::StrCat(where, ".", name, " has the wrong type"));
    }
  }
  return absl::OkStatus();
}

absl::Status AllValues(const nlohmann::json& j, const std::string& where, Type type) {
  for (const auto& [key, value] : j.items()) {
    if (!Is(value, type)) {
      return absl::InvalidArgumentError(absl::StrCat(where, ".", key, " has the wrong type"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

std::string RenderJsonReport(const CampaignSummary& summary) {
  nlohmann::json j = summary;
  return j.dump(2) + "\n";
}

absl::Status ValidateSummaryJson(const nlohmann::json& j) {
  using T = Type;
  absl::Status s = Fields(j, "summary",
                          {{"schema_version", T::kUint},
                           {"tool", T::kObject},
                           {"scenarios", T::kArray},
                           {"shard", T::kObject},
                           {"seeds", T::kObject},
                           {"runs", T::kObject},
                           {"totals", T::kObject},
                           {"per_scenario", T::kObject},
                           {"probes", T::kObject},
                           {"verdicts", T::kObject},
                           {"findings", T::kArray},
                           {"wall_clock", T::kObject}});
  if (!s.ok()) return s;
  const uint64_t version = j.at("schema_version").get<uint64_t>();
  if (version < kOldestReadableSummarySchemaVersion || version > kSummarySchemaVersion) {
    return absl::InvalidArgumentError(absl::StrCat("schema_version ", j.at("schema_version").dump(),
                                                   " is not ", kOldestReadableSummarySchemaVersion,
                                                   "..", kSummarySchemaVersion));
  }
  // Version 2 added `causes` and findings[].cause; version 1 files are read without them.
  const bool has_causes = version >= 2;
  if (has_causes) s.Update(Fields(j, "summary", {{"causes", T::kArray}}));
  if (!s.ok()) return s;
  for (const nlohmann::json& name : j.at("scenarios")) {
    if (!name.is_string()) return absl::InvalidArgumentError("summary.scenarios: not a string");
  }
  s.Update(Fields(j.at("tool"), "tool", {{"version", T::kString}, {"git_commit", T::kString}}));
  s.Update(Fields(j.at("shard"), "shard", {{"index", T::kUint}, {"count", T::kUint}}));
  s.Update(Fields(
      j.at("seeds"), "seeds",
      {{"requested", T::kObject}, {"completed", T::kObjectOrNull}, {"completed_count", T::kUint}}));
  if (!s.ok()) return s;
  s.Update(Fields(j.at("seeds").at("requested"), "seeds.requested",
                  {{"first", T::kUint}, {"last", T::kUintOrNull}}));
  if (!j.at("seeds").at("completed").is_null()) {
    s.Update(Fields(j.at("seeds").at("completed"), "seeds.completed",
                    {{"first", T::kUint}, {"last", T::kUint}}));
  }
  s.Update(Fields(j.at("runs"), "runs",
                  {{"total", T::kUint}, {"clean", T::kUint}, {"with_findings", T::kUint}}));
  s.Update(Fields(j.at("totals"), "totals",
                  {{"crash_states_checked", T::kUint},
                   {"crashes", T::kUint},
                   {"recoveries", T::kUint},
                   {"events", T::kUint},
                   {"ios", T::kUint},
                   {"sim_time_ns", T::kUint}}));
  for (const auto& [name, per] : j.at("per_scenario").items()) {
    s.Update(Fields(per, "per_scenario." + name,
                    {{"runs", T::kUint}, {"runs_with_findings", T::kUint}}));
  }
  s.Update(AllValues(j.at("probes"), "probes", T::kUint));
  for (const auto& [name, v] : j.at("verdicts").items()) {
    s.Update(Fields(v, "verdicts." + name, {{"checked", T::kUint}, {"failed", T::kUint}}));
  }
  size_t i = 0;
  for (const nlohmann::json& f : j.at("findings")) {
    s.Update(Fields(f, absl::StrCat("findings[", i++, "]"),
                    {{"id", T::kString},
                     {"invariant", T::kString},
                     {"severity", T::kString},
                     {"contract", T::kString},
                     {"scenario", T::kString},
                     {"first_seed", T::kUint},
                     {"count", T::kUint},
                     {"replay_command", T::kString},
                     {"minimized", T::kString},
                     {"trace", T::kString},
                     {"crash_index", T::kUint},
                     {"crash_event", T::kUint},
                     {"crash_point", T::kString},
                     {"expected", T::kString},
                     {"actual", T::kString},
                     {"detail", T::kString}}));
    if (has_causes)
      s.Update(Fields(f, absl::StrCat("findings[", i - 1, "]"), {{"cause", T::kString}}));
  }
  if (has_causes) {
    i = 0;
    for (const nlohmann::json& c : j.at("causes")) {
      s.Update(Fields(c, absl::StrCat("causes[", i++, "]"),
                      {{"id", T::kString},
                       {"title", T::kString},
                       {"known", T::kBool},
                       {"catalogue_id", T::kStringOrNull},
                       {"runs", T::kUint},
                       {"attributed_runs", T::kUint},
                       {"scenarios", T::kArray},
                       {"invariants", T::kArray},
                       {"contract", T::kString},
                       {"minimized_case", T::kStringOrNull},
                       {"replay_command", T::kString}}));
      s.Update(OptionalFields(c, absl::StrCat("causes[", i - 1, "]"),
                              {{"first_run", T::kObject},
                               {"minimized_trace", T::kStringOrNull},
                               {"minimized_steps", T::kUint}}));
      if (s.ok() && c.contains("first_run")) {
        s.Update(Fields(c.at("first_run"), absl::StrCat("causes[", i - 1, "].first_run"),
                        {{"scenario", T::kString}, {"seed", T::kUint}, {"invariant", T::kString}}));
      }
    }
  }
  // Within version 2, added with re-checks: absent in files written before.
  s.Update(OptionalFields(
      j, "summary",
      {{"rechecks", T::kObject}, {"trace_hashes", T::kObject}, {"scenario_digests", T::kObject}}));
  if (s.ok() && j.contains("rechecks")) {
    s.Update(Fields(j.at("rechecks"), "rechecks",
                    {{"runs", T::kUint},
                     {"mismatches", T::kUint},
                     {"inconclusive", T::kUint},
                     {"mismatched", T::kArray}}));
  }
  if (s.ok() && j.contains("trace_hashes")) {
    for (const auto& [name, runs] : j.at("trace_hashes").items()) {
      if (!runs.is_array())
        return absl::InvalidArgumentError("trace_hashes." + name + ": not an array");
      for (const nlohmann::json& run : runs) {
        if (!run.is_array() || run.size() != 2 || !run[0].is_number_unsigned() ||
            !run[1].is_string()) {
          return absl::InvalidArgumentError("trace_hashes." + name +
                                            ": each run is [seed, \"16 hex digits\"]");
        }
      }
    }
  }
  s.Update(Fields(j.at("wall_clock"), "wall_clock",
                  {{"wall_ms", T::kUint},
                   {"budget_ms", T::kUint},
                   {"jobs", T::kUint},
                   {"seeds_per_second", T::kNumber},
                   {"crash_states_per_second", T::kNumber},
                   {"rate", T::kArray}}));
  if (!s.ok()) return s;
  for (const nlohmann::json& r : j.at("wall_clock").at("rate")) {
    if (!r.is_array() || r.size() != 2 || !r[0].is_number_unsigned() ||
        !r[1].is_number_unsigned()) {
      return absl::InvalidArgumentError("wall_clock.rate: each sample is [wall_ms, seeds_done]");
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<CampaignSummary> ParseSummaryJson(const std::string& text) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return absl::InvalidArgumentError("summary.json is not JSON");
  absl::Status valid = ValidateSummaryJson(j);
  if (!valid.ok()) return valid;
  try {
    return j.get<CampaignSummary>();
  } catch (const nlohmann::json::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat("summary.json: ", e.what()));
  }
}

absl::StatusOr<CampaignSummary> LoadSummaryJson(const std::string& path) {
  absl::StatusOr<std::string> text = ReadWholeFile(path);
  if (!text.ok()) return text.status();
  absl::StatusOr<CampaignSummary> summary = ParseSummaryJson(*text);
  if (!summary.ok()) {
    return absl::Status(summary.status().code(),
                        absl::StrCat(path, ": ", summary.status().message()));
  }
  return summary;
}

}  // namespace snapsim
