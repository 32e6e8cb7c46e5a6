// SPDX-License-Identifier: GPL-2.0-only
//
// kFaultFields: the one table of the knobs of FaultProfile and DeviceFaults. Validate(), the
// scenario TOML reader and writer, SwarmProfile, FamilyEnabled and DisableFamily walk it, so a
// knob with a row is read, written, checked, drawn and switched off everywhere.
//
// Invariant: every field of FaultProfile and DeviceFaults has exactly one row (the static_asserts
// below and tests/fault_fields_test.cc catch a field added without one). Rows are in the order
// the TOML reader reads and SwarmProfile draws; a DeviceFaults row (origin, cow) stands for the
// device's own rows, walked in their table order.
#ifndef SNAPSIM_SIM_WORLD_FAULT_FIELDS_H_
#define SNAPSIM_SIM_WORLD_FAULT_FIELDS_H_

#include <array>
#include <cstdint>
#include <string_view>
#include <type_traits>
#include <variant>

#include "sim/world/fault_profile.h"

namespace snapsim {

// Where a knob lives; its type says how it is read, written and checked.
using FaultMember =
    std::variant<Ratio FaultProfile::*, uint64_t FaultProfile::*, uint32_t FaultProfile::*,
                 bool FaultProfile::*, DeviceFaults FaultProfile::*, Ratio DeviceFaults::*,
                 uint64_t DeviceFaults::*>;

// SwarmProfile's draw for a Ratio knob: off half the time, else 1/d with d in [min, max].
struct SwarmRate {
  uint32_t min_denominator = 0;  // 0: SwarmProfile draws the knob by hand (or not at all)
  uint32_t max_denominator = 0;

  bool drawn() const { return min_denominator > 0; }
};

struct FaultField {
  std::string_view name;  // the TOML key and the field's name in errors
  FaultMember member;
  // The family a non-zero value switches on, or kCount for a knob that shapes faults without
  // switching a family on (latencies, keep/drop weights, where an EIO range starts).
  FaultFamily family;
  SwarmRate swarm;
};

inline constexpr FaultFamily kNoFamily = FaultFamily::kCount;

inline constexpr std::array<FaultField, 24> kFaultFields = {{
    {"latency_min_ns", &FaultProfile::latency_min_ns, kNoFamily, {}},
    {"latency_max_ns", &FaultProfile::latency_max_ns, kNoFamily, {}},
    {"reorder", &FaultProfile::reorder, FaultFamily::kReorder, {}},
    {"write_cache", &FaultProfile::write_cache, kNoFamily, {}},
    {"slow_io", &FaultProfile::slow_io, FaultFamily::kSlowIo, {}},
    {"slow_io_latency_max_ns", &FaultProfile::slow_io_latency_max_ns, kNoFamily, {}},
    {"crash_keep_weight", &FaultProfile::crash_keep_weight, kNoFamily, {}},
    {"crash_drop_weight", &FaultProfile::crash_drop_weight, kNoFamily, {}},
    {"crash_tear_weight", &FaultProfile::crash_tear_weight, FaultFamily::kCrashTear, {}},
    {"origin", &FaultProfile::origin, kNoFamily, {}},
    {"cow", &FaultProfile::cow, kNoFamily, {}},
    {"subsector_tear", &FaultProfile::subsector_tear, FaultFamily::kSubsectorTear, {2, 20}},
    {"lost_durable_write",
     &FaultProfile::lost_durable_write,
     FaultFamily::kLostDurableWrite,
     {50, 2000}},
    {"misdirected_write",
     &FaultProfile::misdirected_write,
     FaultFamily::kMisdirectedWrite,
     {100, 5000}},
    {"corrupted_sector",
     &FaultProfile::corrupted_sector,
     FaultFamily::kCorruptedSector,
     {100, 5000}},
    {"lying_flush", &FaultProfile::lying_flush, FaultFamily::kLyingFlush, {10, 500}},
    // Last among the drawn rows, so the families above keep the draws they had before these.
    {"store_alloc_fail", &FaultProfile::store_alloc_fail, FaultFamily::kStoreAllocFail, {5, 50}},
    {"store_chunk_io_fail",
     &FaultProfile::store_chunk_io_fail,
     FaultFamily::kStoreChunkIoFail,
     {100, 2000}},
    // DeviceFaults, per device.
    {"read_eio", &DeviceFaults::read_eio, FaultFamily::kReadEio, {200, 5000}},
    {"write_eio", &DeviceFaults::write_eio, FaultFamily::kWriteEio, {200, 5000}},
    {"eio_range_start", &DeviceFaults::eio_range_start, kNoFamily, {}},
    {"eio_range_count", &DeviceFaults::eio_range_count, FaultFamily::kRangeEio, {}},
    {"eio_at_nth_io", &DeviceFaults::eio_at_nth_io, FaultFamily::kNthEio, {}},
    {"latent_read_error",
     &DeviceFaults::latent_read_error,
     FaultFamily::kLatentReadError,
     {100, 2000}},
}};

// A field added to either struct changes its size: give it a row above, then update these.
static_assert(sizeof(DeviceFaults) == 48, "a DeviceFaults field needs a kFaultFields row");
static_assert(sizeof(FaultProfile) == 216, "a FaultProfile field needs a kFaultFields row");

namespace fault_fields_internal {
template <typename Member>
struct ClassOf;
template <typename Class, typename Value>
struct ClassOf<Value Class::*> {
  using type = Class;
};
}  // namespace fault_fields_internal

// Calls fn(field, value) for every row whose member belongs to Struct (FaultProfile or
// DeviceFaults, const or not), in table order. For FaultProfile, `value` of the origin and cow
// rows is the whole DeviceFaults.
template <typename Struct, typename Fn>
void ForEachFaultField(Struct& s, Fn&& fn) {
  for (const FaultField& field : kFaultFields) {
    std::visit(
        [&](auto member) {
          using Class = typename fault_fields_internal::ClassOf<decltype(member)>::type;
          if constexpr (std::is_same_v<Class, std::remove_const_t<Struct>>) fn(field, s.*member);
        },
        field.member);
  }
}

// Calls fn(device, field, value) for every knob of `profile` with the devices expanded: device
// is "" for a profile-level knob, else "origin" or "cow". Never passes a DeviceFaults.
template <typename Profile, typename Fn>
void ForEachFaultKnob(Profile& profile, Fn&& fn) {
  ForEachFaultField(profile, [&](const FaultField& outer, auto& value) {
    using Value = std::remove_const_t<std::remove_reference_t<decltype(value)>>;
    if constexpr (std::is_same_v<Value, DeviceFaults>) {
      ForEachFaultField(value,
                        [&](const FaultField& inner, auto& knob) { fn(outer.name, inner, knob); });
    } else {
      fn(std::string_view(), outer, value);
    }
  });
}

// A knob's value turns its family on: a non-zero chance, count or weight, or true.
inline bool KnobOn(Ratio value) { return value.numerator > 0; }
inline bool KnobOn(uint64_t value) { return value > 0; }
inline bool KnobOn(uint32_t value) { return value > 0; }
inline bool KnobOn(bool value) { return value; }

// The value that switches a knob off.
template <typename Value>
constexpr Value KnobOff() {
  if constexpr (std::is_same_v<Value, Ratio>) {
    return kNever;
  } else {
    return Value{};
  }
}

}  // namespace snapsim

#endif  // SNAPSIM_SIM_WORLD_FAULT_FIELDS_H_
