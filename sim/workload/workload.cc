// SPDX-License-Identifier: GPL-2.0-only
#include "sim/workload/workload.h"

#include <array>
#include <limits>
#include <stdexcept>

#include "absl/strings/str_cat.h"

namespace snapsim {
namespace {

// Indexed by the enum value; the order must follow the enums.
constexpr std::array<const char*, kNumStepKinds> kStepKindNames = {
    "origin_write",   "origin_read",     "snapshot_write", "snapshot_read", "origin_flush",
    "snapshot_flush", "drain",           "reload",         "merge_start",   "merge_interrupt",
    "crash",          "snapshot_create", "snapshot_remove"};
constexpr std::array<const char*, kNumCrashTriggers> kCrashTriggerNames = {
    "after_events",   "area_write_submitted", "area_write_completed", "next_area_zeroed",
    "copy_completed", "merge_step",           "header_written"};

}  // namespace

bool IsSnapshotStep(StepKind kind) {
  return kind == StepKind::kMakeSnapshot || kind == StepKind::kRemoveSnapshot;
}

bool TakesSnapshotIndex(StepKind kind) {
  return IsSnapshotStep(kind) || kind == StepKind::kSnapshotWrite ||
         kind == StepKind::kSnapshotRead || kind == StepKind::kSnapshotFlush;
}

bool IsIo(StepKind kind) {
  return kind == StepKind::kOriginWrite || kind == StepKind::kOriginRead ||
         kind == StepKind::kSnapshotWrite || kind == StepKind::kSnapshotRead;
}

const char* StepKindName(StepKind kind) {
  const size_t i = static_cast<size_t>(kind);
  return i < kStepKindNames.size() ? kStepKindNames[i] : "unknown";
}

const char* CrashTriggerName(CrashTrigger trigger) {
  const size_t i = static_cast<size_t>(trigger);
  return i < kCrashTriggerNames.size() ? kCrashTriggerNames[i] : "unknown";
}

std::optional<StepKind> ParseStepKind(std::string_view name) {
  for (size_t i = 0; i < kStepKindNames.size(); ++i) {
    if (name == kStepKindNames[i]) return static_cast<StepKind>(i);
  }
  return std::nullopt;
}

std::optional<CrashTrigger> ParseCrashTrigger(std::string_view name) {
  for (size_t i = 0; i < kCrashTriggerNames.size(); ++i) {
    if (name == kCrashTriggerNames[i]) return static_cast<CrashTrigger>(i);
  }
  return std::nullopt;
}

void to_json(nlohmann::json& j, const Step& s) {
  j = nlohmann::json{{"kind", StepKindName(s.kind)}};
  if (IsIo(s.kind)) {
    j["sector"] = s.sector;
    j["count"] = s.count;
  }
  if (s.kind == StepKind::kCrash) {
    j["trigger"] = CrashTriggerName(s.trigger);
    j["count"] = s.count;
  }
  // Snapshot I/O names its snapshot only when it is not the first: one-snapshot cases read as
  // they always did.
  if (IsSnapshotStep(s.kind) || s.snapshot != 0) j["snapshot"] = s.snapshot;
  if (s.delay_ns != 0) j["delay_ns"] = s.delay_ns;
}

namespace {

// A count, sector or index field of a step: absent is 0. Only a non-negative integer that fits
// `T` is taken; nlohmann would cast a floating-point value (1e42, or an integer literal too long
// for 64 bits) with undefined behaviour (found by fuzz_replay_case).
template <typename T>
T UnsignedField(const nlohmann::json& j, const char* key) {
  if (!j.contains(key)) return T{0};
  const nlohmann::json& value = j.at(key);
  const bool non_negative_integer =
      value.is_number_unsigned() || (value.is_number_integer() && value.get<int64_t>() >= 0);
  if (!non_negative_integer) {
    throw std::invalid_argument(
        absl::StrCat(key, ": must be a non-negative integer, got ", value.dump()));
  }
  const uint64_t parsed = value.get<uint64_t>();
  if (parsed > std::numeric_limits<T>::max()) {
    throw std::invalid_argument(
        absl::StrCat(key, ": at most ", std::numeric_limits<T>::max(), ", got ", parsed));
  }
  return static_cast<T>(parsed);
}

}  // namespace

void from_json(const nlohmann::json& j, Step& s) {
  if (!j.is_object()) throw std::invalid_argument("a step must be a JSON object");
  for (const auto& [key, value] : j.items()) {
    if (key != "kind" && key != "sector" && key != "count" && key != "trigger" &&
        key != "delay_ns" && key != "snapshot") {
      throw std::invalid_argument(absl::StrCat("unknown key \"", key, "\""));
    }
  }
  const std::string kind = j.at("kind").get<std::string>();
  const std::optional<StepKind> parsed = ParseStepKind(kind);
  if (!parsed) throw std::invalid_argument(absl::StrCat("kind: unknown step kind \"", kind, "\""));
  s = Step{};
  s.kind = *parsed;
  s.sector = UnsignedField<sector_t>(j, "sector");
  s.count = UnsignedField<uint32_t>(j, "count");
  s.delay_ns = UnsignedField<uint64_t>(j, "delay_ns");
  s.snapshot = UnsignedField<uint32_t>(j, "snapshot");
  if (j.contains("trigger")) {
    const std::string trigger = j.at("trigger").get<std::string>();
    const std::optional<CrashTrigger> t = ParseCrashTrigger(trigger);
    if (!t) {
      throw std::invalid_argument(absl::StrCat("trigger: unknown crash trigger \"", trigger, "\""));
    }
    s.trigger = *t;
  }
}

}  // namespace snapsim
