// SPDX-License-Identifier: GPL-2.0-only
#include "sim/run/replay_case.h"

#include <algorithm>
#include <array>
#include <exception>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "nlohmann/json.hpp"
#include "sim/workload/scenario_toml.h"
#include "sim/workload/workload_generator.h"
#include "sim/world/trace.h"
#include "util/absl_view.h"
#include "util/atomic_file.h"

namespace snapsim {
namespace {

using nlohmann::json;

// A replay case file is read whole; minimized cases are a few KiB, hand-written ones smaller.
constexpr size_t kMaxReplayCaseBytes = 64 << 20;

absl::Status Bad(std::string_view source, std::string_view field, std::string_view problem) {
  return absl::InvalidArgumentError(
      absl::StrCat(AbslView(source), ": ", AbslView(field), ": ", AbslView(problem)));
}

const char* JsonTypeName(const json& j) { return j.type_name(); }

}  // namespace

bool operator==(const ReplayCase& a, const ReplayCase& b) {
  return a.format_version == b.format_version && a.scenario_name == b.scenario_name &&
         a.scenario == b.scenario && a.seed == b.seed && a.note == b.note &&
         a.expected_invariant == b.expected_invariant && a.trace_hash == b.trace_hash &&
         json(a.steps) == json(b.steps);
}

absl::StatusOr<ReplayCase> ParseReplayCase(std::string_view json_text, std::string_view source) {
  json root;
  try {
    root = json::parse(json_text.begin(), json_text.end());
  } catch (const json::exception& error) {
    // Not only parse_error: a number too large for a double is out_of_range (found by
    // fuzz_replay_case; fuzz/corpus/replay_case/crash-number-overflow.json).
    return absl::InvalidArgumentError(absl::StrCat(AbslView(source), ": syntax: ", error.what()));
  }
  if (!root.is_object()) return Bad(source, "(top level)", "must be a JSON object");
  static constexpr std::array<std::string_view, 8> kKeys = {
      "format_version", "scenario_name", "scenario_toml",      "seed",
      "steps",          "note",          "expected_invariant", "trace_hash"};
  for (const auto& [key, value] : root.items()) {
    if (std::find(kKeys.begin(), kKeys.end(), key) == kKeys.end()) {
      return Bad(source, key, "unknown key");
    }
  }
  for (const char* required :
       {"format_version", "scenario_name", "scenario_toml", "seed", "steps"}) {
    if (!root.contains(required)) return Bad(source, required, "required key is missing");
  }

  ReplayCase replay;
  const json& version = root["format_version"];
  if (!version.is_number_integer() || version.get<int64_t>() != kReplayCaseFormatVersion) {
    return Bad(source, "format_version",
               absl::StrCat("must be ", kReplayCaseFormatVersion, ", got ", version.dump()));
  }
  const json& seed = root["seed"];
  if (!seed.is_number_unsigned() && !(seed.is_number_integer() && seed.get<int64_t>() >= 0)) {
    return Bad(source, "seed", absl::StrCat("must be a non-negative integer, got ", seed.dump()));
  }
  replay.seed = seed.get<uint64_t>();
  for (const auto& [key, out] :
       {std::pair{"scenario_name", &replay.scenario_name}, std::pair{"note", &replay.note},
        std::pair{"expected_invariant", &replay.expected_invariant}}) {
    if (!root.contains(key)) continue;
    if (!root[key].is_string()) {
      return Bad(source, key, absl::StrCat("must be a string, got ", JsonTypeName(root[key])));
    }
    *out = root[key].get<std::string>();
  }

  if (root.contains("trace_hash")) {
    const json& hash = root["trace_hash"];
    std::optional<uint64_t> parsed;
    if (hash.is_string()) parsed = ParseTraceHash(hash.get<std::string>());
    if (!parsed) {
      return Bad(source, "trace_hash",
                 absl::StrCat("must be 16 hex digits in a string, got ", hash.dump()));
    }
    replay.trace_hash = parsed;
  }

  // The embedded scenario: one string, or an array of lines.
  const json& toml = root["scenario_toml"];
  std::string toml_text;
  if (toml.is_string()) {
    toml_text = toml.get<std::string>();
  } else if (toml.is_array() && std::all_of(toml.begin(), toml.end(),
                                            [](const json& line) { return line.is_string(); })) {
    toml_text = absl::StrJoin(toml.get<std::vector<std::string>>(), "\n");
  } else {
    return Bad(source, "scenario_toml", "must be a string or an array of strings (lines)");
  }
  absl::StatusOr<Scenario> scenario =
      ParseScenario(toml_text, absl::StrCat(AbslView(source), " (scenario_toml)"));
  if (!scenario.ok()) return scenario.status();
  replay.scenario = *std::move(scenario);
  if (replay.scenario.name != replay.scenario_name) {
    return Bad(
        source, "scenario_name",
        absl::StrCat("\"", replay.scenario_name, "\" differs from the embedded scenario's \"",
                     replay.scenario.name, "\""));
  }

  const json& steps = root["steps"];
  if (!steps.is_array()) {
    return Bad(source, "steps", absl::StrCat("must be an array, got ", JsonTypeName(steps)));
  }
  if (steps.size() > kMaxStepsPerRun) {
    return Bad(source, "steps",
               absl::StrCat("at most ", kMaxStepsPerRun, " steps, got ", steps.size()));
  }
  replay.steps.reserve(steps.size());
  for (size_t i = 0; i < steps.size(); ++i) {
    try {
      replay.steps.push_back(steps[i].get<Step>());
    } catch (const std::exception& error) {
      // nlohmann's messages start "[json.exception.type_error.302] "; keep the part after it.
      std::string_view what = error.what();
      if (what.size() > 0 && what[0] == '[' && what.find("] ") != std::string_view::npos) {
        what.remove_prefix(what.find("] ") + 2);
      }
      return Bad(source, absl::StrCat("steps[", i, "]"), what);
    }
  }
  if (absl::Status st = ValidateSteps(replay.scenario, replay.steps); !st.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(AbslView(source), ": ", st.message()));
  }
  return replay;
}

absl::StatusOr<ReplayCase> LoadReplayCase(const std::string& path) {
  absl::StatusOr<std::string> text = ReadWholeFile(path);
  if (!text.ok()) return text.status();
  if (text->size() > kMaxReplayCaseBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": larger than ", kMaxReplayCaseBytes, " bytes"));
  }
  return ParseReplayCase(*text, path);
}

std::string ReplayCaseToJson(const ReplayCase& replay) {
  std::vector<std::string> lines = absl::StrSplit(ScenarioToToml(replay.scenario), '\n');
  if (!lines.empty() && lines.back().empty()) lines.pop_back();  // the final newline
  json root = {{"format_version", replay.format_version},
               {"scenario_name", replay.scenario_name},
               {"seed", replay.seed},
               {"note", replay.note},
               {"expected_invariant", replay.expected_invariant},
               {"scenario_toml", lines},
               {"steps", replay.steps}};
  if (replay.trace_hash) root["trace_hash"] = FormatTraceHash(*replay.trace_hash);
  return root.dump(2) + "\n";
}

absl::Status CheckReplayHash(const ReplayCase& replay, uint64_t replayed_hash,
                             std::string_view source) {
  if (!replay.trace_hash || *replay.trace_hash == replayed_hash) return absl::OkStatus();
  return absl::FailedPreconditionError(absl::StrCat(
      AbslView(source), ": replays with trace hash ", FormatTraceHash(replayed_hash), ", not the ",
      FormatTraceHash(*replay.trace_hash),
      " it was written with: the case no longer replays as it did (a change of behaviour, "
      "another build, or nondeterminism)"));
}

absl::Status SaveReplayCase(const ReplayCase& replay, const std::string& path) {
  return WriteFileAtomically(path, ReplayCaseToJson(replay));
}

}  // namespace snapsim
