// SPDX-License-Identifier: GPL-2.0-only
#include "cli/run_options.h"

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "sim/workload/scenario_toml.h"

namespace snapsim::cli {

const std::vector<std::string>& KnownOptionNames() {
  static const std::vector<std::string> kNames = {
      "skip_metadata_after_load",         "durable_invalidation", "clear_stale_slots_after_load",
      "flush_origin_before_commit_merge", "commit_failed_copies", "full_chunk_write_skips_copy"};
  return kNames;
}

absl::Status ApplyOptions(const std::vector<std::string>& names, Scenario& scenario) {
  for (const std::string& name : names) {
    if (name == "skip_metadata_after_load") {
      scenario.store.skip_metadata_after_load = true;
    } else if (name == "durable_invalidation") {
      scenario.store.durable_invalidation = true;
    } else if (name == "clear_stale_slots_after_load") {
      scenario.store.clear_stale_slots_after_load = true;
    } else if (name == "flush_origin_before_commit_merge") {
      scenario.target.flush_origin_before_commit_merge = true;
    } else if (name == "commit_failed_copies") {
      scenario.target.commit_failed_copies = true;
    } else if (name == "full_chunk_write_skips_copy") {
      scenario.target.full_chunk_write_skips_copy = true;
    } else if (name == "corrected") {
      ApplyCorrectedOptions(scenario);
    } else {
      return absl::InvalidArgumentError(absl::StrCat("unknown --option '", name,
                                                     "' (known: corrected, ",
                                                     absl::StrJoin(KnownOptionNames(), ", "), ")"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<Scenario> LoadScenarioWithOptions(const std::string& name, const std::string& dir,
                                                 const std::vector<std::string>& options) {
  absl::StatusOr<Scenario> scenario =
      LoadScenarioByName(name, dir.empty() ? DefaultScenarioDir() : dir);
  if (!scenario.ok()) return scenario.status();
  if (absl::Status s = ApplyOptions(options, *scenario); !s.ok()) return s;
  return scenario;
}

std::string ReplayPrefix(const std::string& scenario, const std::vector<std::string>& options,
                         const std::string& dir) {
  std::string out = absl::StrCat("snapsim run --scenario ", scenario);
  if (!dir.empty()) absl::StrAppend(&out, " --scenario-dir ", dir);
  // One flag, comma-joined: Abseil keeps only the last of a repeated flag.
  if (!options.empty()) absl::StrAppend(&out, " --option ", absl::StrJoin(options, ","));
  return out;
}

absl::StatusOr<uint64_t> ParseSeed(const std::string& text) {
  uint64_t seed = 0;
  bool ok = false;
  if (absl::StartsWith(text, "0x") || absl::StartsWith(text, "0X")) {
    ok = absl::SimpleHexAtoi(text.substr(2), &seed);
  } else {
    ok = !text.empty() && text[0] != '-' && text[0] != '+' && absl::SimpleAtoi(text, &seed);
  }
  if (!ok) {
    return absl::InvalidArgumentError(
        absl::StrCat("bad seed '", text, "': expected an unsigned 64-bit number"));
  }
  return seed;
}

}  // namespace snapsim::cli
