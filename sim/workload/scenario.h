// SPDX-License-Identifier: GPL-2.0-only
//
// Scenario: everything one simulated run needs besides its seed, as plain data: the schema and
// its validation. scenario_toml.h reads it from and writes it to the TOML files in scenarios/
// (the format, field by field, is docs/scenarios.md).
//
// Invariant: a Scenario returned by LoadScenarioFile / ParseScenario has passed ValidateScenario:
// geometry obeys the kernel's chunk size rules and the COW holds a header, an area and a chunk;
// weights and ranges are within the bounds below; the fault profile passes Validate().
//
// Contract: nothing here draws from a Prng: `faults.swarm` only says the run should replace the
// fault profile with SwarmProfile(prng, ...) of its own fault stream.
#ifndef SNAPSIM_SIM_WORKLOAD_SCENARIO_H_
#define SNAPSIM_SIM_WORKLOAD_SCENARIO_H_

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/exception_store.h"
#include "core/format.h"
#include "core/snapshot_target.h"
#include "sim/workload/workload.h"
#include "sim/world/fault_profile.h"

namespace snapsim {

// Bounds, each checked by ValidateScenario.
inline constexpr sector_t kMaxDeviceSectors = sector_t{1} << 32;  // 2 TiB
inline constexpr uint32_t kMinLogicalBlockBytes = 512;
inline constexpr uint32_t kMaxLogicalBlockBytes = 4096;
inline constexpr uint32_t kMaxStepsPerCycle = 10'000;
inline constexpr uint32_t kMaxCycles = 100;
inline constexpr uint32_t kMaxInFlightLimit = 256;
inline constexpr uint32_t kMaxWeight = 1'000'000;
inline constexpr uint64_t kMaxThinkNs = 1'000'000'000;  // 1 s
inline constexpr uint64_t kMaxCrashEvents = 1'000'000;
inline constexpr size_t kMaxCtestSeeds = 64;
// Snapshots of the origin in one scenario: the first ([geometry]) and up to three further ones.
inline constexpr size_t kMaxScenarioSnapshots = 4;

// What the COW device holds before the snapshot is created.
enum class CowInitial : uint8_t {
  kZero,     // all zeros: a fresh device
  kGarbage,  // chunk 0 zero (lvcreate wipes the start), every later chunk leftover data
};

enum class AccessPattern : uint8_t {
  kSequential,  // a cursor walks the chunks in order, wrapping at the end
  kRandom,      // every chunk equally likely
  kHotspot,     // hotspot_percent of the I/O goes to hotspot_chunks chunks at a drawn place
};

// The enums' names in a scenario file, indexed by value.
inline constexpr std::array<const char*, 2> kCowInitialNames = {"zero", "garbage"};
inline constexpr std::array<const char*, 3> kAccessPatternNames = {"sequential", "random",
                                                                   "hotspot"};

const char* CowInitialName(CowInitial value);
const char* AccessPatternName(AccessPattern value);

struct Geometry {
  uint32_t chunk_sectors = 0;         // sectors, power of two <= kMaxBioSectors; 0 = store default
  sector_t origin_sectors = 0;        // sectors, required
  sector_t cow_sectors = 0;           // sectors, required
  uint32_t origin_block_bytes = 512;  // bytes, power of two in 512..4096
  uint32_t cow_block_bytes = 512;     // bytes, power of two in 512..4096
  CowInitial cow_initial = CowInitial::kZero;

  friend bool operator==(const Geometry&, const Geometry&) = default;
};

// The chunk size the store will use: chunk_sectors, or for 0 max(32, COW block in sectors).
uint32_t EffectiveChunkSectors(const Geometry& geometry);
// The larger logical block, in sectors: every generated I/O is a multiple of it.
uint32_t IoBlockSectors(const Geometry& geometry);

// Relative weights of the step kinds the generator draws (0 = never).
struct OpWeights {
  uint32_t origin_write = 40;
  uint32_t origin_read = 10;
  uint32_t snapshot_write = 10;
  uint32_t snapshot_read = 10;
  uint32_t origin_flush = 4;
  uint32_t snapshot_flush = 4;
  uint32_t drain = 4;
  uint32_t reload = 2;
  uint32_t merge_start = 0;
  uint32_t merge_interrupt = 0;

  friend bool operator==(const OpWeights&, const OpWeights&) = default;
};

// Relative weights of the shapes of reads and writes.
struct ShapeWeights {
  uint32_t partial_chunk = 4;  // 1..C-1 sectors inside one chunk
  uint32_t whole_chunk = 4;    // exactly one chunk, aligned
  uint32_t spanning = 2;       // crosses at least one chunk boundary

  friend bool operator==(const ShapeWeights&, const ShapeWeights&) = default;
};

struct WorkloadSpec {
  uint32_t steps_per_cycle = 64;  // steps, 1..kMaxStepsPerCycle, the crash step not counted
  uint32_t cycles = 2;            // crash-recover cycles per run, 1..kMaxCycles
  uint32_t max_in_flight = 16;    // bios, 1..256: the run waits before submitting more
  OpWeights ops;
  ShapeWeights shapes;
  AccessPattern pattern = AccessPattern::kRandom;
  uint32_t hotspot_chunks = 4;    // chunks, >= 1 (kHotspot only)
  uint32_t hotspot_percent = 80;  // percent of I/O inside the hotspot, 0..100
  uint64_t think_min_ns = 0;      // ns, delay before each step drawn from [min, max]
  uint64_t think_max_ns = 0;      // ns, >= think_min_ns, <= kMaxThinkNs

  friend bool operator==(const WorkloadSpec&, const WorkloadSpec&) = default;
};

struct CrashPolicy {
  // Relative weight of each trigger, indexed by CrashTrigger. Default: only kAfterEvents.
  std::array<uint32_t, kNumCrashTriggers> trigger_weights = {1, 0, 0, 0, 0, 0, 0};
  uint64_t events_min = 0;     // scheduler events, kAfterEvents count drawn from [min, max]
  uint64_t events_max = 200;   // >= events_min, <= kMaxCrashEvents
  bool end_with_crash = true;  // false: the last cycle ends without a crash
  // Chance that a cycle's crash step lands at a random position of its cycle instead of its end.
  // Position 0 of the first cycle arms the crash before the snapshot is first activated, so it
  // can land inside the new snapshot's setup writes.
  Ratio anywhere = kNever;

  friend bool operator==(const CrashPolicy&, const CrashPolicy&) = default;
};

// A snapshot of the origin besides the first (whose COW is [geometry]'s), a [[snapshots]] entry:
// its own COW device and chunk size, and where in the run's steps it exists. Steps are counted
// over the whole run from 0, crash steps included: the snapshot is made just before step
// `create_at_step` runs and removed just before step `remove_at_step` runs.
struct FurtherSnapshot {
  static constexpr uint32_t kNeverRemoved = UINT32_MAX;

  uint32_t chunk_sectors = 0;               // sectors, as geometry.chunk_sectors; 0 = store default
  sector_t cow_sectors = 0;                 // sectors, required; 512-byte logical blocks, zeroed
  uint32_t create_at_step = 0;              // step index; 0 = with the first snapshot
  uint32_t remove_at_step = kNeverRemoved;  // step index > create_at_step, or never

  friend bool operator==(const FurtherSnapshot&, const FurtherSnapshot&) = default;
};

struct Scenario {
  std::string name;         // required, [a-z0-9-]+, equal to the file's stem
  std::string description;  // required; its first line is the summary
  std::string source_file;  // where it was loaded from (not written by ScenarioToToml)

  Geometry geometry;  // the origin and the first snapshot's COW
  // The further snapshots of the origin, in the order they were listed (0..3 of them). Empty for
  // the one-snapshot scenarios, whose files and runs are as before they existed.
  std::vector<FurtherSnapshot> further_snapshots;
  WorkloadSpec workload;
  FaultProfile faults;
  bool swarm = false;  // the run draws the fault profile with SwarmProfile instead
  CrashPolicy crash;
  StoreOptions store;
  TargetOptions target;

  std::vector<uint64_t> ctest_seeds = {1, 2, 3, 4};  // seeds ctest runs, 1..kMaxCtestSeeds
  std::string expect = "clean";  // "clean" or the invariant name of a known finding

  // How many snapshots of the origin the run has: the first and the further ones.
  size_t SnapshotCount() const { return 1 + further_snapshots.size(); }
  // Steps a generated run contains (crash steps included).
  uint64_t StepCount() const {
    return uint64_t{workload.steps_per_cycle} * workload.cycles + CrashCount();
  }
  // Crash steps a generated run contains.
  uint32_t CrashCount() const { return workload.cycles - (crash.end_with_crash ? 0 : 1); }
};

bool operator==(const Scenario& a, const Scenario& b);  // every field but source_file

// Switches on every corrected behaviour answering a known finding of the faithful 3.7.1 store
// (docs/findings.md): what `--option corrected` means (the rows of core/named_options.h).
void ApplyCorrectedOptions(Scenario& scenario);

// The chunk size a further snapshot's store will use (0 means the store default, 32 sectors).
uint32_t EffectiveChunkSectors(const FurtherSnapshot& snapshot);

// OK, or InvalidArgument "<field>: <problem>" (no file or line: the struct has none).
absl::Status ValidateScenario(const Scenario& scenario);

// [a-z0-9-]+: a scenario's name and file stem.
bool IsScenarioName(std::string_view name);

// $SNAPSIM_SCENARIO_DIR if set and non-empty, else the source tree's scenarios/.
std::string DefaultScenarioDir();

}  // namespace snapsim

#endif  // SNAPSIM_SIM_WORKLOAD_SCENARIO_H_
