// SPDX-License-Identifier: GPL-2.0-only
#include "sim/world/fault_profile.h"

#include <string>
#include <type_traits>

#include "sim/world/fault_fields.h"
#include "util/assert.h"

namespace snapsim {
namespace {

constexpr uint64_t kMaxLatencyNs = 1'000'000'000;

std::string ToText(std::string_view s) { return std::string(s); }
std::string ToText(uint64_t v) { return std::to_string(v); }
std::string ToText(uint32_t v) { return std::to_string(v); }

// Joins pieces into one message (absl::StrCat does not take std::string_view here).
template <typename... Parts>
std::string Cat(const Parts&... parts) {
  std::string out;
  ((out += ToText(parts)), ...);
  return out;
}

absl::Status CheckRatio(std::string_view field, Ratio r) {
  if (r.denominator == 0) {
    return absl::InvalidArgumentError(Cat("fault_profile.", field, ": denominator is 0"));
  }
  if (r.numerator > r.denominator) {
    return absl::InvalidArgumentError(
        Cat("fault_profile.", field, ": ", r.numerator, "/", r.denominator, " is above 1"));
  }
  return absl::OkStatus();
}

// Every Ratio knob of the profile and its devices, in table order.
absl::Status CheckRatios(const FaultProfile& profile) {
  absl::Status status;
  ForEachFaultKnob(
      profile, [&](std::string_view device, const FaultField& field, const auto& value) {
        if constexpr (std::is_same_v<std::remove_cvref_t<decltype(value)>, Ratio>) {
          if (!status.ok()) return;
          status = CheckRatio(device.empty() ? std::string(field.name)
                                             : Cat(device, std::string_view("."), field.name),
                              value);
        }
      });
  return status;
}

absl::Status CheckRange(std::string_view device, const DeviceFaults& faults) {
  if (faults.eio_range_count > 0 &&
      faults.eio_range_start + faults.eio_range_count < faults.eio_range_start) {
    return absl::InvalidArgumentError(
        Cat("fault_profile.", device, ".eio_range_count: range overflows 64 bits"));
  }
  return absl::OkStatus();
}

// A rate 1/denominator with denominator in the row's range, or off with chance 1/2.
Ratio DrawRate(Prng& prng, SwarmRate rate) {
  if (!prng.Chance(Ratio{1, 2})) return kNever;
  return Ratio{
      1, static_cast<uint32_t>(prng.UintInclusive(rate.min_denominator, rate.max_denominator))};
}

void DrawRange(Prng& prng, sector_t size_sectors, DeviceFaults& faults) {
  if (size_sectors > 0 && prng.Chance(Ratio{1, 4})) {
    faults.eio_range_count = prng.UintInclusive(1, 64);
    if (faults.eio_range_count > size_sectors) faults.eio_range_count = size_sectors;
    faults.eio_range_start = prng.UintLessThan(size_sectors - faults.eio_range_count + 1);
  }
}

// The rated knobs draw their rate; the range and nth-I/O families are drawn by hand, at their
// switch's row, so the draws keep the table's order.
DeviceFaults SwarmDevice(Prng& prng, sector_t size_sectors) {
  DeviceFaults faults;
  ForEachFaultField(faults, [&](const FaultField& field, auto& value) {
    using Value = std::remove_reference_t<decltype(value)>;
    if constexpr (std::is_same_v<Value, Ratio>) {
      if (field.swarm.drawn()) value = DrawRate(prng, field.swarm);
    } else if (field.family == FaultFamily::kRangeEio) {
      DrawRange(prng, size_sectors, faults);
    } else if (field.family == FaultFamily::kNthEio) {
      if (prng.Chance(Ratio{1, 4})) value = prng.UintInclusive(1, 2000);
    }
  });
  return faults;
}

}  // namespace

bool FaultProfile::BreaksContract() const {
  const FaultFamilySet on = EnabledFamilies(*this);
  for (const FaultFamilyInfo& info : kFaultFamilies) {
    if (info.contract_breaking && on.test(static_cast<size_t>(info.family))) return true;
  }
  return false;
}

const FaultFamilyInfo& FamilyInfo(FaultFamily family) {
  const size_t index = static_cast<size_t>(family);
  SNAPSIM_ASSERT(index < kFaultFamilies.size() && kFaultFamilies[index].family == family);
  return kFaultFamilies[index];
}

FaultFamilySet EnabledFamilies(const FaultProfile& p) {
  FaultFamilySet on;
  ForEachFaultKnob(p, [&](std::string_view, const FaultField& field, const auto& value) {
    if (field.family != FaultFamily::kCount && KnobOn(value)) {
      on.set(static_cast<size_t>(field.family));
    }
  });
  // Equal latencies complete in submission order whatever the reorder chance.
  if (p.latency_max_ns <= p.latency_min_ns) on.reset(static_cast<size_t>(FaultFamily::kReorder));
  return on;
}

bool FamilyEnabled(const FaultProfile& p, FaultFamily family) {
  if (family == FaultFamily::kCount) {
    SNAPSIM_ASSERT(false && "not a family");
    return false;
  }
  return EnabledFamilies(p).test(static_cast<size_t>(family));
}

void DisableFamily(FaultProfile& p, FaultFamily family) {
  ForEachFaultKnob(p, [&](std::string_view, const FaultField& field, auto& value) {
    if (field.family == family) value = KnobOff<std::remove_reference_t<decltype(value)>>();
  });
  if (p.crash_keep_weight + p.crash_drop_weight + p.crash_tear_weight == 0) {
    p.crash_drop_weight = 1;  // the profile needs one fate
  }
}

bool BeyondContractFaultFired(const Probes& probes) {
  for (const FaultFamilyInfo& info : kFaultFamilies) {
    if (!info.contract_breaking) continue;
    for (Probe probe : info.probes) {
      if (probe != kNoProbe && probes.count(probe) > 0) return true;
    }
  }
  return false;
}

FaultProfile QuietProfile() {
  FaultProfile profile;
  profile.reorder = kNever;
  return profile;
}

FaultProfile SwarmProfile(Prng& prng, const SwarmOptions& options) {
  FaultProfile p;
  p.latency_min_ns = prng.UintInclusive(1'000, 50'000);
  p.latency_max_ns = p.latency_min_ns + prng.UintInclusive(0, 500'000);
  p.reorder =
      prng.Chance(Ratio{3, 4}) ? Ratio{static_cast<uint32_t>(prng.UintInclusive(1, 8)), 8} : kNever;
  p.write_cache = prng.Chance(Ratio{7, 8});
  p.crash_keep_weight = static_cast<uint32_t>(prng.UintInclusive(0, 4));
  p.crash_drop_weight = static_cast<uint32_t>(prng.UintInclusive(0, 4));
  p.crash_tear_weight =
      prng.Chance(Ratio{1, 2}) ? static_cast<uint32_t>(prng.UintInclusive(1, 4)) : 0;
  if (p.crash_keep_weight + p.crash_drop_weight + p.crash_tear_weight == 0) p.crash_drop_weight = 1;
  // The devices and the rated families, in table order; beyond-contract ones only if allowed.
  ForEachFaultField(p, [&](const FaultField& field, auto& value) {
    using Value = std::remove_reference_t<decltype(value)>;
    if constexpr (std::is_same_v<Value, DeviceFaults>) {
      value = SwarmDevice(prng, &value == &p.origin ? options.origin_sectors : options.cow_sectors);
    } else if constexpr (std::is_same_v<Value, Ratio>) {
      if (!field.swarm.drawn()) return;
      if (FamilyInfo(field.family).contract_breaking && !options.allow_beyond_contract) return;
      value = DrawRate(prng, field.swarm);
    }
  });
  // Drawn last, so every knob above keeps the draws it had before slow_io existed.
  if (prng.Chance(Ratio{1, 4})) {
    p.slow_io = Ratio{1, static_cast<uint32_t>(prng.UintInclusive(4, 32))};
    p.slow_io_latency_max_ns = p.latency_max_ns + prng.UintInclusive(1'000'000, 10'000'000);
  }
  SNAPSIM_ASSERT(Validate(p).ok());
  return p;
}

absl::Status Validate(const FaultProfile& p) {
  if (p.latency_min_ns < 1) {
    return absl::InvalidArgumentError("fault_profile.latency_min_ns: must be at least 1 ns");
  }
  if (p.latency_max_ns < p.latency_min_ns) {
    return absl::InvalidArgumentError(Cat("fault_profile.latency_max_ns: ", p.latency_max_ns,
                                          " is below latency_min_ns ", p.latency_min_ns));
  }
  if (p.latency_max_ns > kMaxLatencyNs) {
    return absl::InvalidArgumentError(
        Cat("fault_profile.latency_max_ns: ", p.latency_max_ns, " is above 1 s"));
  }
  if (p.slow_io.numerator != 0 && p.slow_io_latency_max_ns < p.latency_max_ns) {
    return absl::InvalidArgumentError(
        Cat("fault_profile.slow_io_latency_max_ns: ", p.slow_io_latency_max_ns,
            " is below latency_max_ns ", p.latency_max_ns, " (slow_io is on)"));
  }
  if (p.slow_io_latency_max_ns > kMaxLatencyNs) {
    return absl::InvalidArgumentError(
        Cat("fault_profile.slow_io_latency_max_ns: ", p.slow_io_latency_max_ns, " is above 1 s"));
  }
  if (uint64_t{p.crash_keep_weight} + p.crash_drop_weight + p.crash_tear_weight == 0) {
    return absl::InvalidArgumentError(
        "fault_profile.crash_keep_weight: crash keep/drop/tear weights are all 0");
  }
  if (auto s = CheckRatios(p); !s.ok()) return s;
  if (auto s = CheckRange("origin", p.origin); !s.ok()) return s;
  if (auto s = CheckRange("cow", p.cow); !s.ok()) return s;
  return absl::OkStatus();
}

}  // namespace snapsim
