// SPDX-License-Identifier: GPL-2.0-only
//
// What one simulated run reports: findings (invariant violations) and the counters that show what
// the run exercised. Plain data with a JSON form; the campaign runner, reports and the CLI all
// speak this. The JSON field names are part of summary.json's documented schema
// (docs/report-schema.md): change them only with a schema version bump.
#ifndef SNAPSIM_SIM_CHECK_FINDING_H_
#define SNAPSIM_SIM_CHECK_FINDING_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "nlohmann/json.hpp"

namespace snapsim {

enum class FindingSeverity : uint8_t {
  kCritical,  // wrong data returned as good, or acknowledged data lost
  kError,     // a promise broken without wrong data (e.g. activation fails, liveness)
  kWarning,   // suspicious but allowed (e.g. space leaked)
};
enum class Contract : uint8_t {
  kWithin,  // the devices kept their contract: a finding is the store's fault
  kBeyond,  // a beyond-contract fault was active: detection is the best outcome
};

const char* FindingSeverityName(FindingSeverity s);
const char* ContractName(Contract c);

struct Finding {
  std::string invariant;  // stable name, e.g. "no_lost_committed_exception"
  FindingSeverity severity = FindingSeverity::kCritical;
  Contract contract = Contract::kWithin;
  std::string scenario;
  uint64_t seed = 0;
  uint32_t crash_index = 0;    // 0 = before the first crash; i = after the i-th recovery
  uint64_t crash_event = 0;    // scheduler event index of the crash point (0 if none)
  std::string crash_point;     // what was happening at the crash ("area write queued", ...)
  std::string expected;        // what the model expected
  std::string actual;          // what the store returned
  std::string detail;          // one paragraph for people
  std::string replay_command;  // e.g. "snapsim run --scenario default --seed 42"
  uint32_t snapshot = 0;       // the snapshot it is about: 0 the first, i the i-th further one

  // Signature stable across seeds and runs: invariant + scenario + contract (not the seed).
  std::string Signature() const;
};

// Per-invariant verdict counts: how often it was checked and how often it failed.
struct Verdict {
  uint64_t checked = 0;
  uint64_t failed = 0;
};
// By invariant name, sorted; looked up by string_view (every check tallies one: no string made).
using VerdictCounts = std::map<std::string, Verdict, std::less<>>;

// " on snapshot N" for a finding of a run with several snapshots; nothing with one, so that
// one-snapshot text reads as it always did.
std::string OnSnapshot(const Finding& f, size_t snapshots);

struct RunResult {
  std::string scenario;
  uint64_t seed = 0;
  uint64_t trace_hash = 0;
  uint64_t events = 0;  // scheduler events executed
  uint64_t ios = 0;     // bios completed by the simulated devices
  uint64_t crashes = 0;
  uint64_t crash_states_checked = 0;  // crash states recovered and checked
  uint64_t recoveries = 0;
  uint64_t sim_time_ns = 0;
  uint32_t snapshots = 1;  // snapshots of the origin the run had (the first and further ones)
  std::map<std::string, uint64_t> probes;  // probe name -> times fired (sorted by name)
  VerdictCounts verdicts;                  // invariant -> counts (sorted by name)
  std::vector<Finding> findings;
  std::string outcome;  // "clean", "findings", "error: <text>", "environment failure: <text>"
  std::string replay_command;
  // Non-empty: the job's worker was lost to the machine, not to the code (killed from outside, its
  // result pipe broken), twice (sim/campaign/campaign.h); the run has no result and no finding.
  // In JSON only when set, so other results read and write as before.
  std::string environment_failure;
};

void to_json(nlohmann::json& j, const Finding& f);
void from_json(const nlohmann::json& j, Finding& f);
void to_json(nlohmann::json& j, const Verdict& v);
void from_json(const nlohmann::json& j, Verdict& v);
void to_json(nlohmann::json& j, const RunResult& r);
void from_json(const nlohmann::json& j, RunResult& r);

}  // namespace snapsim

#endif  // SNAPSIM_SIM_CHECK_FINDING_H_
