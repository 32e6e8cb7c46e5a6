// SPDX-License-Identifier: GPL-2.0-only
#include "sim/check/finding.h"

#include "absl/strings/str_cat.h"

namespace snapsim {

std::string OnSnapshot(const Finding& f, size_t snapshots) {
  return snapshots > 1 ? absl::StrCat(" on snapshot ", f.snapshot) : std::string();
}

const char* FindingSeverityName(FindingSeverity s) {
  switch (s) {
    case FindingSeverity::kCritical:
      return "critical";
    case FindingSeverity::kError:
      return "error";
    case FindingSeverity::kWarning:
      return "warning";
  }
  return "unknown";
}

const char* ContractName(Contract c) { return c == Contract::kWithin ? "within" : "beyond"; }

static FindingSeverity ParseFindingSeverity(const std::string& s) {
  if (s == "critical") return FindingSeverity::kCritical;
  if (s == "error") return FindingSeverity::kError;
  return FindingSeverity::kWarning;
}

std::string Finding::Signature() const {
  return absl::StrCat(invariant, "@", scenario, "/", ContractName(contract));
}

void to_json(nlohmann::json& j, const Finding& f) {
  j = nlohmann::json{{"id", f.Signature()},
                     {"invariant", f.invariant},
                     {"severity", FindingSeverityName(f.severity)},
                     {"contract", ContractName(f.contract)},
                     {"scenario", f.scenario},
                     {"seed", f.seed},
                     {"crash_index", f.crash_index},
                     {"crash_event", f.crash_event},
                     {"crash_point", f.crash_point},
                     {"expected", f.expected},
                     {"actual", f.actual},
                     {"detail", f.detail},
                     {"replay_command", f.replay_command},
                     {"snapshot", f.snapshot}};
}

void from_json(const nlohmann::json& j, Finding& f) {
  f.invariant = j.at("invariant").get<std::string>();
  f.severity = ParseFindingSeverity(j.at("severity").get<std::string>());
  f.contract =
      j.at("contract").get<std::string>() == "beyond" ? Contract::kBeyond : Contract::kWithin;
  f.scenario = j.at("scenario").get<std::string>();
  f.seed = j.at("seed").get<uint64_t>();
  f.crash_index = j.value("crash_index", 0u);
  f.crash_event = j.value("crash_event", uint64_t{0});
  f.crash_point = j.value("crash_point", "");
  f.expected = j.value("expected", "");
  f.actual = j.value("actual", "");
  f.detail = j.value("detail", "");
  f.replay_command = j.value("replay_command", "");
  f.snapshot = j.value("snapshot", 0u);  // absent before several snapshots existed
}

void to_json(nlohmann::json& j, const Verdict& v) {
  j = nlohmann::json{{"checked", v.checked}, {"failed", v.failed}};
}
void from_json(const nlohmann::json& j, Verdict& v) {
  v.checked = j.at("checked").get<uint64_t>();
  v.failed = j.at("failed").get<uint64_t>();
}

void to_json(nlohmann::json& j, const RunResult& r) {
  j = nlohmann::json{{"scenario", r.scenario},
                     {"seed", r.seed},
                     {"trace_hash", r.trace_hash},
                     {"events", r.events},
                     {"ios", r.ios},
                     {"crashes", r.crashes},
                     {"crash_states_checked", r.crash_states_checked},
                     {"recoveries", r.recoveries},
                     {"sim_time_ns", r.sim_time_ns},
                     {"snapshots", r.snapshots},
                     {"probes", r.probes},
                     {"verdicts", r.verdicts},
                     {"findings", r.findings},
                     {"outcome", r.outcome},
                     {"replay_command", r.replay_command}};
  if (!r.environment_failure.empty()) j["environment_failure"] = r.environment_failure;
}

void from_json(const nlohmann::json& j, RunResult& r) {
  r.scenario = j.at("scenario").get<std::string>();
  r.seed = j.at("seed").get<uint64_t>();
  r.trace_hash = j.value("trace_hash", uint64_t{0});
  r.events = j.value("events", uint64_t{0});
  r.ios = j.value("ios", uint64_t{0});
  r.crashes = j.value("crashes", uint64_t{0});
  r.crash_states_checked = j.value("crash_states_checked", uint64_t{0});
  r.recoveries = j.value("recoveries", uint64_t{0});
  r.sim_time_ns = j.value("sim_time_ns", uint64_t{0});
  r.snapshots = j.value("snapshots", 1u);  // absent before several snapshots existed
  r.probes = j.value("probes", std::map<std::string, uint64_t>{});
  r.verdicts = j.value("verdicts", VerdictCounts{});
  r.findings = j.value("findings", std::vector<Finding>{});
  r.outcome = j.value("outcome", "");
  r.replay_command = j.value("replay_command", "");
  r.environment_failure = j.value("environment_failure", "");
}

}  // namespace snapsim
