// SPDX-License-Identifier: GPL-2.0-only
//
// FaultProfile: the fault model of one run as plain data. Every knob is one field with its unit
// and range on its line; a zero Ratio (or 0 count) turns the knob off and draws nothing.
//
// Families are classified: within the device contract (SPEC section 4: reordering, cache loss,
// torn multi-sector writes at sector granularity, EIO) the store must stay correct; beyond it
// (sub-sector tears, lost or misdirected durable writes, corrupted sectors, lying FLUSH) the
// right outcome is detection, and runs with such faults are reported separately.
#ifndef SNAPSIM_SIM_WORLD_FAULT_PROFILE_H_
#define SNAPSIM_SIM_WORLD_FAULT_PROFILE_H_

#include <array>
#include <bitset>
#include <cstdint>
#include <string_view>

#include "absl/status/status.h"
#include "core/format.h"
#include "sim/world/prng.h"
#include "sim/world/probes.h"

namespace snapsim {

// Every field has a row in kFaultFields (sim/world/fault_fields.h), which everything that reads,
// writes, checks or draws the fields walks.

// Faults of one device (origin or COW).
struct DeviceFaults {
  Ratio read_eio = kNever;           // chance per read bio, [0, 1]
  Ratio write_eio = kNever;          // chance per write bio (not empty flushes), [0, 1]
  sector_t eio_range_start = 0;      // sector, first sector of the failing range
  sector_t eio_range_count = 0;      // sectors, 0 = no failing range; any I/O touching it fails
  uint64_t eio_at_nth_io = 0;        // I/O number (1-based, all bios counted), 0 = off
  Ratio latent_read_error = kNever;  // chance per completed write that one of its sectors later
                                     // fails reads with EIO until rewritten, [0, 1]
};

struct FaultProfile {
  // Completion: each I/O's latency is drawn uniformly from [min, max].
  uint64_t latency_min_ns = 20'000;   // ns, >= 1
  uint64_t latency_max_ns = 200'000;  // ns, >= latency_min_ns, <= 1 s
  // Chance an I/O keeps its independently drawn latency (may overtake earlier ones); otherwise
  // it completes no earlier than every I/O submitted before it on the device (FIFO). [0, 1]
  Ratio reorder = Ratio{1, 2};
  bool write_cache = true;  // false: every write is durable when it completes
  // Chance an I/O stalls (a queue stall, an internal retry, a slow path of the device): its
  // latency is drawn from [latency_max_ns, slow_io_latency_max_ns] instead. Within the contract:
  // a device may take any time to complete an I/O. [0, 1]
  Ratio slow_io = kNever;
  uint64_t slow_io_latency_max_ns = 0;  // ns, >= latency_max_ns when slow_io is on, <= 1 s

  // Fate of each non-durable write at a crash: relative weights, sum > 0.
  uint32_t crash_keep_weight = 1;  // weight, the write landed whole
  uint32_t crash_drop_weight = 1;  // weight, the write never landed
  uint32_t crash_tear_weight = 1;  // weight, a subset of its sectors landed (sector-atomic)

  DeviceFaults origin;  // faults of the origin device
  DeviceFaults cow;     // faults of the COW device

  // Beyond the device contract.
  Ratio subsector_tear = kNever;      // chance per landed/torn write at a crash that one sector
                                      // lands only an 8-byte-aligned prefix, suffix or middle
                                      // run, [0, 1]
  Ratio lost_durable_write = kNever;  // chance per write made durable that it is silently lost
  Ratio misdirected_write = kNever;   // chance per completed write that it lands at another
                                      // sector (same length, in range), [0, 1]
  Ratio corrupted_sector = kNever;    // chance per write made durable that one of its sectors
                                      // is corrupted on the medium (seen after the crash)
  Ratio lying_flush = kNever;         // chance per FLUSH that it completes without making
                                      // anything durable, [0, 1]

  // libfiu points inside core/ (core/fault_points.h), decided by the run's fault stream.
  Ratio store_alloc_fail = kNever;     // chance per hit of alloc_area / alloc_callbacks that the
                                       // allocation fails (-ENOMEM), [0, 1]
  Ratio store_chunk_io_fail = kNever;  // chance per store chunk I/O that it fails with -EIO
                                       // before reaching the device, [0, 1]

  // True if any beyond-contract family is on.
  bool BreaksContract() const;
};

enum class FaultFamily : uint8_t {
  kReorder,
  kSlowIo,
  kCrashTear,
  kReadEio,
  kWriteEio,
  kRangeEio,
  kNthEio,
  kLatentReadError,
  kSubsectorTear,
  kLostDurableWrite,
  kMisdirectedWrite,
  kCorruptedSector,
  kLyingFlush,
  kStoreAllocFail,
  kStoreChunkIoFail,
  kCount,  // not a family
};

struct FaultFamilyInfo {
  FaultFamily family;
  std::string_view name;
  bool contract_breaking;
  // The probes that count the family's faults firing; unused slots are Probe::kCount.
  std::array<Probe, 2> probes;
};

inline constexpr Probe kNoProbe = Probe::kCount;

inline constexpr std::array<FaultFamilyInfo, static_cast<size_t>(FaultFamily::kCount)>
    kFaultFamilies = {{
        {FaultFamily::kReorder, "reorder", false, {Probe::kSchedReorderedCompletion, kNoProbe}},
        {FaultFamily::kSlowIo, "slow_io", false, {Probe::kSchedSlowIo, kNoProbe}},
        {FaultFamily::kCrashTear, "crash_tear", false, {Probe::kCrashWriteTorn, kNoProbe}},
        {FaultFamily::kReadEio, "read_eio", false, {Probe::kIoReadEio, kNoProbe}},
        {FaultFamily::kWriteEio, "write_eio", false, {Probe::kIoWriteEio, kNoProbe}},
        {FaultFamily::kRangeEio, "range_eio", false, {Probe::kIoRangeEio, kNoProbe}},
        {FaultFamily::kNthEio, "nth_eio", false, {Probe::kIoNthEio, kNoProbe}},
        {FaultFamily::kLatentReadError,
         "latent_read_error",
         false,
         {Probe::kIoLatentReadError, kNoProbe}},
        {FaultFamily::kSubsectorTear,
         "subsector_tear",
         true,
         {Probe::kBeyondSubsectorTear, kNoProbe}},
        {FaultFamily::kLostDurableWrite,
         "lost_durable_write",
         true,
         {Probe::kBeyondLostDurableWrite, kNoProbe}},
        {FaultFamily::kMisdirectedWrite,
         "misdirected_write",
         true,
         {Probe::kBeyondMisdirectedWrite, kNoProbe}},
        {FaultFamily::kCorruptedSector,
         "corrupted_sector",
         true,
         {Probe::kBeyondCorruptedSector, kNoProbe}},
        {FaultFamily::kLyingFlush, "lying_flush", true, {Probe::kBeyondLyingFlush, kNoProbe}},
        {FaultFamily::kStoreAllocFail,
         "store_alloc_fail",
         false,
         {Probe::kFiuAllocArea, Probe::kFiuAllocCallbacks}},
        {FaultFamily::kStoreChunkIoFail,
         "store_chunk_io_fail",
         false,
         {Probe::kFiuChunkIo, kNoProbe}},
    }};

const FaultFamilyInfo& FamilyInfo(FaultFamily family);
// Whether `family` is switched on in `profile`.
bool FamilyEnabled(const FaultProfile& profile, FaultFamily family);
// Every family switched on in `profile`, by index, in one walk of the knob table.
using FaultFamilySet = std::bitset<static_cast<size_t>(FaultFamily::kCount)>;
FaultFamilySet EnabledFamilies(const FaultProfile& profile);
// Switches every knob of `family` off; the profile stays valid (one crash fate stays possible).
void DisableFamily(FaultProfile& profile, FaultFamily family);
// Whether a beyond-contract family's probe counted a fault: such a run's findings are classed
// beyond the contract.
bool BeyondContractFaultFired(const Probes& probes);

// No faults: FIFO completions, write cache on, crash fates keep/drop/tear equally likely.
FaultProfile QuietProfile();

struct SwarmOptions {
  bool allow_beyond_contract = false;
  sector_t origin_sectors = 0;  // for placing an EIO range; 0 = no range faults on the origin
  sector_t cow_sectors = 0;     // likewise for the COW device
};

// Swarm testing: the seed turns whole families on or off and picks their rates.
FaultProfile SwarmProfile(Prng& prng, const SwarmOptions& options);

// OK, or InvalidArgument with one line naming the field, e.g.
// "fault_profile.latency_max_ns: 10 is below latency_min_ns 20".
absl::Status Validate(const FaultProfile& profile);

}  // namespace snapsim

#endif  // SNAPSIM_SIM_WORLD_FAULT_PROFILE_H_
