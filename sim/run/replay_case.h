// SPDX-License-Identifier: GPL-2.0-only
//
// ReplayCase: a reproduction, minimized or hand-written: the scenario (embedded, so the case
// replays the same even after scenarios/<name>.toml changes), the seed, the exact steps, a note
// and the invariant the case is expected to break.
//
// File format (JSON, format_version 1):
//   {
//     "format_version": 1,
//     "scenario_name": "many-areas",
//     "scenario_toml": ["name = \"many-areas\"", "...", ...],   // ScenarioToToml, one line each
//     "seed": 42,
//     "steps": [{"kind": "origin_write", "sector": 8, "count": 1}, ...],
//     "note": "free text",
//     "expected_invariant": "no_lost_committed_exception",          // or "" if none
//     "trace_hash": "9f3c2a1b7d4e0a55"                              // optional
//   }
// "scenario_toml" may also be one string. "note", "expected_invariant" and "trace_hash" may be
// left out. "trace_hash" (16 hex digits, as `snapsim run` prints it) is the trace hash the case
// gave when it was written (the minimizer records it); files written before it have none and
// still load. A snapsim older than this field refuses a case that has it ("unknown key").
//
// Contract: ParseReplayCase(ReplayCaseToJson(c)) == c. Errors are one line naming the file and
// the field, e.g. "case.json: steps[3].kind: unknown step kind \"write\"", or for the embedded
// scenario "case.json (scenario_toml):12: workload.cycles: must be 1..100, got 0". The steps are
// checked against the scenario with ValidateSteps.
#ifndef SNAPSIM_SIM_RUN_REPLAY_CASE_H_
#define SNAPSIM_SIM_RUN_REPLAY_CASE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "sim/workload/scenario.h"
#include "sim/workload/workload.h"

namespace snapsim {

inline constexpr int kReplayCaseFormatVersion = 1;

struct ReplayCase {
  int format_version = kReplayCaseFormatVersion;
  std::string scenario_name;  // equals scenario.name
  Scenario scenario;
  uint64_t seed = 0;
  std::vector<Step> steps;
  std::string note;
  std::string expected_invariant;      // "" = none named
  std::optional<uint64_t> trace_hash;  // the hash it replayed with when written; none: unknown

  friend bool operator==(const ReplayCase&, const ReplayCase&);
};

// A replay of the case is faithful: its trace hash is the recorded one (or none is recorded).
// Otherwise FailedPrecondition naming both hashes: the case no longer replays as it was written
// (a change of behaviour, another build, or nondeterminism).
absl::Status CheckReplayHash(const ReplayCase& replay_case, uint64_t replayed_hash,
                             std::string_view source);

// `source` names the text in errors (usually the path).
absl::StatusOr<ReplayCase> ParseReplayCase(std::string_view json_text, std::string_view source);
absl::StatusOr<ReplayCase> LoadReplayCase(const std::string& path);

// Pretty JSON, ending in a newline.
std::string ReplayCaseToJson(const ReplayCase& replay_case);
absl::Status SaveReplayCase(const ReplayCase& replay_case, const std::string& path);

}  // namespace snapsim

#endif  // SNAPSIM_SIM_RUN_REPLAY_CASE_H_
