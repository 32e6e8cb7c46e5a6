// SPDX-License-Identifier: GPL-2.0-only
//
// Probes: one named counter per fault branch, bumped every time the fault fires, so a campaign
// shows which faults never fired.
//
// Contract: the probe ids and their names are stable (reports key on the names); Format() prints
// every probe in enum order, one "name count" line each; Merge() sums another run's counts.
#ifndef SNAPSIM_SIM_WORLD_PROBES_H_
#define SNAPSIM_SIM_WORLD_PROBES_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace snapsim {

enum class Probe : uint16_t {
  kCrashWriteKept,
  kCrashWriteDropped,
  kCrashWriteTorn,
  kCrashInFlightWrite,
  kIoReadEio,
  kIoWriteEio,
  kIoLatentReadError,
  kIoNthEio,
  kIoRangeEio,
  kBeyondSubsectorTear,
  kBeyondLostDurableWrite,
  kBeyondMisdirectedWrite,
  kBeyondCorruptedSector,
  kBeyondLyingFlush,
  kSchedReorderedCompletion,
  kSchedSlowIo,
  kFiuAllocArea,
  kFiuAllocCallbacks,
  kFiuChunkIo,
  kFiuOther,
  kCount,  // not a probe
};

inline constexpr size_t kProbeCount = static_cast<size_t>(Probe::kCount);

// The stable name of a probe, e.g. "crash.write_kept".
std::string_view ProbeName(Probe probe);
// The probe named `name`, or nullopt.
std::optional<Probe> ProbeFromName(std::string_view name);

class Probes {
 public:
  void Bump(Probe probe, uint64_t by = 1) { counts_[Index(probe)] += by; }
  uint64_t count(Probe probe) const { return counts_[Index(probe)]; }
  uint64_t total() const;
  void Merge(const Probes& other);
  // Every probe in enum order: "name count\n".
  std::string Format() const;

 private:
  static size_t Index(Probe probe) { return static_cast<size_t>(probe); }
  std::array<uint64_t, kProbeCount> counts_{};
};

}  // namespace snapsim

#endif  // SNAPSIM_SIM_WORLD_PROBES_H_
