// SPDX-License-Identifier: GPL-2.0-only
#include "sim/workload/scenario.h"

#include <algorithm>
#include <array>
#include <cstdlib>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "core/bio_split.h"
#include "core/chunk_size.h"
#include "core/named_options.h"
#include "sim/workload/scenario_toml.h"
#include "util/absl_view.h"

#ifndef SNAPSIM_SCENARIO_DIR
#define SNAPSIM_SCENARIO_DIR "scenarios"
#endif

namespace snapsim {
namespace {

bool IsPowerOfTwo(uint64_t v) { return v != 0 && (v & (v - 1)) == 0; }

bool IsNameChar(char c, bool allow_dash, bool allow_underscore) {
  return absl::ascii_islower(c) || absl::ascii_isdigit(c) || (allow_dash && c == '-') ||
         (allow_underscore && c == '_');
}

bool IsName(std::string_view s, bool allow_dash, bool allow_underscore) {
  if (s.empty()) return false;
  return std::all_of(s.begin(), s.end(),
                     [&](char c) { return IsNameChar(c, allow_dash, allow_underscore); });
}

absl::Status Invalid(std::string_view field, std::string_view problem) {
  return absl::InvalidArgumentError(absl::StrCat(AbslView(field), ": ", AbslView(problem)));
}

absl::Status CheckRange(std::string_view field, uint64_t value, uint64_t lo, uint64_t hi) {
  if (value >= lo && value <= hi) return absl::OkStatus();
  return Invalid(field, absl::StrCat("must be ", lo, "..", hi, ", got ", value));
}

// ----------------------------------------------------------------------------------------------
// Validation: ranges and relations, field names as the TOML file spells them.

absl::Status ValidateGeometry(const Geometry& g) {
  for (const auto& [field, bytes] : {std::pair{"geometry.origin_block_bytes", g.origin_block_bytes},
                                     std::pair{"geometry.cow_block_bytes", g.cow_block_bytes}}) {
    if (!IsPowerOfTwo(bytes) || bytes < kMinLogicalBlockBytes || bytes > kMaxLogicalBlockBytes) {
      return Invalid(field, absl::StrCat("must be a power of two in ", kMinLogicalBlockBytes, "..",
                                         kMaxLogicalBlockBytes, ", got ", bytes));
    }
  }
  const uint32_t chunk = EffectiveChunkSectors(g);
  const char* error = nullptr;
  if (ValidateChunkSize(chunk, g.origin_block_bytes, g.cow_block_bytes, &error) != 0) {
    return Invalid("geometry.chunk_sectors", absl::StrCat(error, ", got ", chunk));
  }
  if (chunk > kMaxBioSectors) {
    return Invalid("geometry.chunk_sectors",
                   absl::StrCat("must be at most ", kMaxBioSectors,
                                " so that a whole-chunk write is one bio, got ", chunk));
  }
  const uint32_t block = IoBlockSectors(g);
  for (const auto& [field, sectors] : {std::pair{"geometry.origin_size", g.origin_sectors},
                                       std::pair{"geometry.cow_size", g.cow_sectors}}) {
    if (sectors == 0 || sectors > kMaxDeviceSectors) {
      return Invalid(field,
                     absl::StrCat("must be 1..", kMaxDeviceSectors, " sectors, got ", sectors));
    }
    if (sectors % block != 0) {
      return Invalid(field, absl::StrCat("must be a multiple of the logical block (", block,
                                         " sectors), got ", sectors));
    }
  }
  if (g.origin_sectors < chunk) {
    return Invalid("geometry.origin_size", absl::StrCat("must hold at least one chunk (", chunk,
                                                        " sectors), got ", g.origin_sectors));
  }
  const sector_t cow_min = sector_t{3} * chunk;
  if (g.cow_sectors < cow_min) {
    return Invalid("geometry.cow_size",
                   absl::StrCat("must hold the header, one metadata area and one data chunk (",
                                cow_min, " sectors), got ", g.cow_sectors));
  }
  return absl::OkStatus();
}

absl::Status ValidateWorkload(const WorkloadSpec& w) {
  if (auto s = CheckRange("workload.steps_per_cycle", w.steps_per_cycle, 1, kMaxStepsPerCycle);
      !s.ok()) {
    return s;
  }
  if (auto s = CheckRange("workload.cycles", w.cycles, 1, kMaxCycles); !s.ok()) return s;
  if (uint64_t{w.steps_per_cycle + 1} * w.cycles > kMaxStepsPerRun) {
    return Invalid("workload.steps_per_cycle",
                   absl::StrCat("(steps_per_cycle + 1) * cycles must be at most ", kMaxStepsPerRun,
                                ", got ", uint64_t{w.steps_per_cycle + 1} * w.cycles));
  }
  if (auto s = CheckRange("workload.max_in_flight", w.max_in_flight, 1, kMaxInFlightLimit);
      !s.ok()) {
    return s;
  }
  const std::array<std::pair<const char*, uint32_t>, 10> ops = {{
      {"origin_write", w.ops.origin_write},
      {"origin_read", w.ops.origin_read},
      {"snapshot_write", w.ops.snapshot_write},
      {"snapshot_read", w.ops.snapshot_read},
      {"origin_flush", w.ops.origin_flush},
      {"snapshot_flush", w.ops.snapshot_flush},
      {"drain", w.ops.drain},
      {"reload", w.ops.reload},
      {"merge_start", w.ops.merge_start},
      {"merge_interrupt", w.ops.merge_interrupt},
  }};
  uint64_t op_sum = 0;
  for (const auto& [name, weight] : ops) {
    if (auto s = CheckRange(absl::StrCat("workload.ops.", name), weight, 0, kMaxWeight); !s.ok()) {
      return s;
    }
    op_sum += weight;
  }
  if (op_sum == 0) return Invalid("workload.ops", "the weights are all 0");
  if (w.ops.merge_interrupt != 0 && w.ops.merge_start == 0) {
    return Invalid("workload.ops.merge_interrupt",
                   "needs merge_start > 0: an interrupt is only drawn while a merge runs");
  }
  const std::array<std::pair<const char*, uint32_t>, 3> shapes = {{
      {"partial_chunk", w.shapes.partial_chunk},
      {"whole_chunk", w.shapes.whole_chunk},
      {"spanning", w.shapes.spanning},
  }};
  uint64_t shape_sum = 0;
  for (const auto& [name, weight] : shapes) {
    if (auto s = CheckRange(absl::StrCat("workload.shapes.", name), weight, 0, kMaxWeight);
        !s.ok()) {
      return s;
    }
    shape_sum += weight;
  }
  if (shape_sum == 0) return Invalid("workload.shapes", "the weights are all 0");
  if (auto s = CheckRange("workload.hotspot_chunks", w.hotspot_chunks, 1, kMaxDeviceSectors);
      !s.ok()) {
    return s;
  }
  if (auto s = CheckRange("workload.hotspot_percent", w.hotspot_percent, 0, 100); !s.ok()) {
    return s;
  }
  if (auto s = CheckRange("workload.think_max_ns", w.think_max_ns, w.think_min_ns, kMaxThinkNs);
      !s.ok()) {
    return s;
  }
  return absl::OkStatus();
}

absl::Status ValidateCrash(const CrashPolicy& c, uint32_t crash_count) {
  uint64_t sum = 0;
  for (size_t i = 0; i < kNumCrashTriggers; ++i) {
    const std::string field =
        absl::StrCat("crash.triggers.", CrashTriggerName(static_cast<CrashTrigger>(i)));
    if (auto s = CheckRange(field, c.trigger_weights[i], 0, kMaxWeight); !s.ok()) return s;
    sum += c.trigger_weights[i];
  }
  if (sum == 0 && crash_count > 0) {
    return Invalid("crash.triggers",
                   absl::StrCat("the weights are all 0 but the run crashes ", crash_count,
                                " times (set end_with_crash = false and cycles = 1 for none)"));
  }
  if (!c.anywhere.valid()) return Invalid("crash.anywhere", "must be a ratio N/D with N <= D");
  return CheckRange("crash.events_max", c.events_max, c.events_min, kMaxCrashEvents);
}

// The further snapshots: each COW as the kernel and the store require, each made inside the run
// and removed after it was made. Field names "snapshots[i].<key>", as the TOML file spells them.
absl::Status ValidateFurtherSnapshots(const Scenario& s) {
  if (s.further_snapshots.size() + 1 > kMaxScenarioSnapshots) {
    return Invalid("snapshots", absl::StrCat("at most ", kMaxScenarioSnapshots - 1,
                                             " further snapshots (", kMaxScenarioSnapshots,
                                             " in all), got ", s.further_snapshots.size()));
  }
  const uint64_t steps = s.StepCount();
  // Each further snapshot may add a make and a remove step to the generated ones.
  if (!s.further_snapshots.empty() && steps + 2 * s.further_snapshots.size() > kMaxStepsPerRun) {
    return Invalid("snapshots", absl::StrCat("the run's ", steps,
                                             " steps and the snapshots' make and remove "
                                             "steps must be at most ",
                                             kMaxStepsPerRun));
  }
  for (size_t i = 0; i < s.further_snapshots.size(); ++i) {
    const FurtherSnapshot& snapshot = s.further_snapshots[i];
    const std::string prefix = absl::StrCat("snapshots[", i, "].");
    const uint32_t chunk = EffectiveChunkSectors(snapshot);
    const char* error = nullptr;
    if (ValidateChunkSize(chunk, s.geometry.origin_block_bytes, kMinLogicalBlockBytes, &error) !=
        0) {
      return Invalid(prefix + "chunk_sectors", absl::StrCat(error, ", got ", chunk));
    }
    if (chunk > kMaxBioSectors) {
      return Invalid(prefix + "chunk_sectors",
                     absl::StrCat("must be at most ", kMaxBioSectors, ", got ", chunk));
    }
    const sector_t cow_min = sector_t{3} * chunk;
    if (snapshot.cow_sectors < cow_min || snapshot.cow_sectors > kMaxDeviceSectors) {
      return Invalid(prefix + "cow_size",
                     absl::StrCat("must be ", cow_min, "..", kMaxDeviceSectors,
                                  " sectors (a header, one metadata area and one data chunk), got ",
                                  snapshot.cow_sectors));
    }
    if (snapshot.create_at_step >= steps) {
      return Invalid(prefix + "create_at_step",
                     absl::StrCat("must be a step of the run, 0..", steps - 1, ", got ",
                                  snapshot.create_at_step));
    }
    if (snapshot.remove_at_step != FurtherSnapshot::kNeverRemoved &&
        (snapshot.remove_at_step <= snapshot.create_at_step || snapshot.remove_at_step >= steps)) {
      return Invalid(
          prefix + "remove_at_step",
          absl::StrCat("must be a step after create_at_step, ", snapshot.create_at_step + 1, "..",
                       steps - 1, ", got ", snapshot.remove_at_step));
    }
  }
  return absl::OkStatus();
}

}  // namespace

bool IsScenarioName(std::string_view name) {
  return IsName(name, /*allow_dash=*/true, /*allow_underscore=*/false);
}

const char* CowInitialName(CowInitial value) {
  return kCowInitialNames[static_cast<size_t>(value)];
}

const char* AccessPatternName(AccessPattern value) {
  return kAccessPatternNames[static_cast<size_t>(value)];
}

uint32_t EffectiveChunkSectors(const Geometry& geometry) {
  if (geometry.chunk_sectors != 0) return geometry.chunk_sectors;
  return std::max<uint32_t>(kDefaultChunkSectors, geometry.cow_block_bytes / kSectorSize);
}

uint32_t EffectiveChunkSectors(const FurtherSnapshot& snapshot) {
  return snapshot.chunk_sectors != 0 ? snapshot.chunk_sectors : kDefaultChunkSectors;
}

uint32_t IoBlockSectors(const Geometry& geometry) {
  return std::max<uint32_t>(
      1, std::max(geometry.origin_block_bytes, geometry.cow_block_bytes) / kSectorSize);
}

bool operator==(const Scenario& a, const Scenario& b) {
  return ScenarioToToml(a) == ScenarioToToml(b);
}

absl::Status ValidateScenario(const Scenario& s) {
  if (!IsScenarioName(s.name)) {
    return Invalid(
        "name", absl::StrCat("must be lower-case letters, digits and '-', got \"", s.name, "\""));
  }
  if (s.description.empty()) return Invalid("description", "must not be empty");
  if (!IsName(s.expect, /*allow_dash=*/false, /*allow_underscore=*/true)) {
    return Invalid("expect",
                   absl::StrCat("must be \"clean\" or an invariant name, got \"", s.expect, "\""));
  }
  if (s.ctest_seeds.empty() || s.ctest_seeds.size() > kMaxCtestSeeds) {
    return Invalid("ctest_seeds", absl::StrCat("must list 1..", kMaxCtestSeeds, " seeds, got ",
                                               s.ctest_seeds.size()));
  }
  if (auto st = ValidateGeometry(s.geometry); !st.ok()) return st;
  if (auto st = ValidateWorkload(s.workload); !st.ok()) return st;
  if (auto st = ValidateCrash(s.crash, s.CrashCount()); !st.ok()) return st;
  if (auto st = ValidateFurtherSnapshots(s); !st.ok()) return st;
  if (absl::Status st = Validate(s.faults); !st.ok()) {
    // fault_profile.h names fields "fault_profile.<field>"; a scenario file calls them faults.*.
    std::string message(st.message());
    constexpr std::string_view kTheirs = "fault_profile.";
    if (absl::StartsWith(message, AbslView(kTheirs))) message.replace(0, kTheirs.size(), "faults.");
    return absl::InvalidArgumentError(message);
  }
  return absl::OkStatus();
}

std::string DefaultScenarioDir() {
  const char* env = std::getenv("SNAPSIM_SCENARIO_DIR");
  if (env != nullptr && env[0] != '\0') return env;
  return SNAPSIM_SCENARIO_DIR;
}

void ApplyCorrectedOptions(Scenario& scenario) {
  ApplyCorrectedOptions(scenario.store, scenario.target);
}

}  // namespace snapsim
