// SPDX-License-Identifier: GPL-2.0-only
#include "sim/world/fault_profile.h"

#include <cassert>
#include <string>

namespace snapsim {
namespace {

constexpr uint64_t kMaxLatencyNs = 1'000'000'000;

bool On(Ratio r) { return r.numerator > 0; }

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

absl::Status CheckDevice(std::string_view device, const DeviceFaults& faults) {
  const std::string prefix = Cat(device, std::string_view("."));
  if (auto s = CheckRatio(prefix + "read_eio", faults.read_eio); !s.ok()) return s;
  if (auto s = CheckRatio(prefix + "write_eio", faults.write_eio); !s.ok()) return s;
  if (auto s = CheckRatio(prefix + "latent_read_error", faults.latent_read_error); !s.ok()) {
    return s;
  }
  if (faults.eio_range_count > 0 &&
      faults.eio_range_start + faults.eio_range_count < faults.eio_range_start) {
    return absl::InvalidArgumentError(
        Cat("fault_profile.", prefix, "eio_range_count: range overflows 64 bits"));
  }
  return absl::OkStatus();
}

// A rate 1/denominator with denominator in [lo, hi], or off with chance 1/2.
Ratio SwarmRate(Prng& prng, uint32_t lo, uint32_t hi) {
  if (!prng.Chance(Ratio{1, 2})) return kNever;
  return Ratio{1, static_cast<uint32_t>(prng.UintInclusive(lo, hi))};
}

DeviceFaults SwarmDevice(Prng& prng, sector_t size_sectors) {
  DeviceFaults faults;
  faults.read_eio = SwarmRate(prng, 200, 5000);
  faults.write_eio = SwarmRate(prng, 200, 5000);
  if (size_sectors > 0 && prng.Chance(Ratio{1, 4})) {
    faults.eio_range_count = prng.UintInclusive(1, 64);
    if (faults.eio_range_count > size_sectors) faults.eio_range_count = size_sectors;
    faults.eio_range_start = prng.UintLessThan(size_sectors - faults.eio_range_count + 1);
  }
  if (prng.Chance(Ratio{1, 4})) faults.eio_at_nth_io = prng.UintInclusive(1, 2000);
  faults.latent_read_error = SwarmRate(prng, 100, 2000);
  return faults;
}

}  // namespace

bool FaultProfile::BreaksContract() const {
  for (const FaultFamilyInfo& info : kFaultFamilies) {
    if (info.contract_breaking && FamilyEnabled(*this, info.family)) return true;
  }
  return false;
}

const FaultFamilyInfo& FamilyInfo(FaultFamily family) {
  const size_t index = static_cast<size_t>(family);
  assert(index < kFaultFamilies.size() && kFaultFamilies[index].family == family);
  return kFaultFamilies[index];
}

bool FamilyEnabled(const FaultProfile& p, FaultFamily family) {
  switch (family) {
    case FaultFamily::kReorder:
      return On(p.reorder) && p.latency_max_ns > p.latency_min_ns;
    case FaultFamily::kCrashTear:
      return p.crash_tear_weight > 0;
    case FaultFamily::kReadEio:
      return On(p.origin.read_eio) || On(p.cow.read_eio);
    case FaultFamily::kWriteEio:
      return On(p.origin.write_eio) || On(p.cow.write_eio);
    case FaultFamily::kRangeEio:
      return p.origin.eio_range_count > 0 || p.cow.eio_range_count > 0;
    case FaultFamily::kNthEio:
      return p.origin.eio_at_nth_io > 0 || p.cow.eio_at_nth_io > 0;
    case FaultFamily::kLatentReadError:
      return On(p.origin.latent_read_error) || On(p.cow.latent_read_error);
    case FaultFamily::kSubsectorTear:
      return On(p.subsector_tear);
    case FaultFamily::kLostDurableWrite:
      return On(p.lost_durable_write);
    case FaultFamily::kMisdirectedWrite:
      return On(p.misdirected_write);
    case FaultFamily::kCorruptedSector:
      return On(p.corrupted_sector);
    case FaultFamily::kLyingFlush:
      return On(p.lying_flush);
    case FaultFamily::kStoreAllocFail:
      return On(p.store_alloc_fail);
    case FaultFamily::kStoreChunkIoFail:
      return On(p.store_chunk_io_fail);
    case FaultFamily::kCount:
      break;
  }
  assert(false && "not a family");
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
  p.origin = SwarmDevice(prng, options.origin_sectors);
  p.cow = SwarmDevice(prng, options.cow_sectors);
  if (options.allow_beyond_contract) {
    p.subsector_tear = SwarmRate(prng, 2, 20);
    p.lost_durable_write = SwarmRate(prng, 50, 2000);
    p.misdirected_write = SwarmRate(prng, 100, 5000);
    p.corrupted_sector = SwarmRate(prng, 100, 5000);
    p.lying_flush = SwarmRate(prng, 10, 500);
  }
  // Drawn last, so the families above keep the draws they had before these existed.
  p.store_alloc_fail = SwarmRate(prng, 5, 50);
  p.store_chunk_io_fail = SwarmRate(prng, 100, 2000);
  assert(Validate(p).ok());
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
  if (auto s = CheckRatio("reorder", p.reorder); !s.ok()) return s;
  if (uint64_t{p.crash_keep_weight} + p.crash_drop_weight + p.crash_tear_weight == 0) {
    return absl::InvalidArgumentError(
        "fault_profile.crash_keep_weight: crash keep/drop/tear weights are all 0");
  }
  if (auto s = CheckDevice("origin", p.origin); !s.ok()) return s;
  if (auto s = CheckDevice("cow", p.cow); !s.ok()) return s;
  if (auto s = CheckRatio("subsector_tear", p.subsector_tear); !s.ok()) return s;
  if (auto s = CheckRatio("lost_durable_write", p.lost_durable_write); !s.ok()) return s;
  if (auto s = CheckRatio("misdirected_write", p.misdirected_write); !s.ok()) return s;
  if (auto s = CheckRatio("corrupted_sector", p.corrupted_sector); !s.ok()) return s;
  if (auto s = CheckRatio("lying_flush", p.lying_flush); !s.ok()) return s;
  if (auto s = CheckRatio("store_alloc_fail", p.store_alloc_fail); !s.ok()) return s;
  if (auto s = CheckRatio("store_chunk_io_fail", p.store_chunk_io_fail); !s.ok()) return s;
  return absl::OkStatus();
}

}  // namespace snapsim
