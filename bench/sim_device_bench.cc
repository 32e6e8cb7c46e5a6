// SPDX-License-Identifier: GPL-2.0-only
//
// Simulated block I/Os per second on one core, on the reference profile: 4 KiB I/Os, a 64 MiB
// origin and a 16 MiB COW device, 32 I/Os in flight, random reads and writes with a FLUSH every
// 64 I/Os, and a crash of both devices every 300 I/Os. Aim: >= 1,000,000 I/Os per second in a
// Release build. A second benchmark reports what a 1 TiB origin costs in memory.
#include <array>
#include <memory>
#include <vector>

#include "benchmark/benchmark.h"
#include "sim/workload/stamp.h"
#include "sim/world/sim_device.h"

namespace snapsim {
namespace {

constexpr uint32_t kIoSectors = 8;  // 4 KiB
constexpr int kInFlight = 32;
constexpr uint64_t kFlushEvery = 64;
constexpr uint64_t kCrashEvery = 300;

class ReferenceWorld {
 public:
  explicit ReferenceWorld(uint64_t seed)
      : prng_(seed),
        device_prng_(prng_.Split("devices")),
        workload_(prng_.Split("workload")),
        crash_(prng_.Split("crash")),
        profile_(FaultProfile{}),
        origin_(SimDeviceConfig{"origin", DeviceRole::kOrigin, (64u << 20) / kSectorSize,
                                kSectorSize, InitialOriginContent()},
                scheduler_, device_prng_, profile_, probes_, nullptr),
        cow_(SimDeviceConfig{"cow", DeviceRole::kCow, (16u << 20) / kSectorSize, kSectorSize,
                             ZeroContent()},
             scheduler_, device_prng_, profile_, probes_, nullptr) {
    for (int i = 0; i < kInFlight; ++i) {
      FillStampedSector({kStampDeviceSpecial, 0, uint64_t(i) + 1}, buffers_[i].data());
    }
  }

  // Runs until `ios` I/Os completed; returns the number completed.
  uint64_t Run(uint64_t ios) {
    uint64_t done = 0;
    while (done < ios) {
      for (int slot = 0; slot < kInFlight; ++slot) SubmitOne(slot);
      while (completed_ < kCrashEvery && scheduler_.RunOne()) {
      }
      done += completed_;
      completed_ = 0;
      Crash();
    }
    return done;
  }

  const Probes& probes() const { return probes_; }

 private:
  void SubmitOne(int slot) {
    SimDevice& device = workload_.Chance({1, 2}) ? origin_ : cow_;
    Bio bio;
    const uint64_t n = ++submitted_;
    if (n % kFlushEvery == 0) {
      bio.op = BioOp::kWrite;
      bio.preflush = true;
    } else {
      bio.op = workload_.Chance({1, 2}) ? BioOp::kWrite : BioOp::kRead;
      bio.sector = workload_.UintLessThan(device.size_sectors() / kIoSectors) * kIoSectors;
      bio.sector_count = kIoSectors;
      bio.data = buffers_[slot].data();
    }
    bio.end_io = [this, slot](int) {
      ++completed_;
      if (completed_ + kInFlight <= kCrashEvery) SubmitOne(slot);
    };
    device.Submit(std::move(bio));
  }

  void Crash() {
    origin_.Crash(crash_);
    cow_.Crash(crash_);
    scheduler_.Clear();
    origin_.Restart();
    cow_.Restart();
  }

  Scheduler scheduler_;
  Prng prng_;
  Prng device_prng_;
  Prng workload_;
  Prng crash_;
  FaultProfile profile_;
  Probes probes_;
  SimDevice origin_;
  SimDevice cow_;
  std::array<std::array<uint8_t, kIoSectors * kSectorSize>, kInFlight> buffers_;
  uint64_t submitted_ = 0;
  uint64_t completed_ = 0;
};

void BM_ReferenceProfileIos(benchmark::State& state) {
  ReferenceWorld world(1);
  uint64_t ios = 0;
  for (auto _ : state) ios += world.Run(10'000);
  state.SetItemsProcessed(static_cast<int64_t>(ios));
  state.counters["ios_per_second"] =
      benchmark::Counter(static_cast<double>(ios), benchmark::Counter::kIsRate);
  state.counters["crash_writes_kept"] =
      static_cast<double>(world.probes().count(Probe::kCrashWriteKept));
}
BENCHMARK(BM_ReferenceProfileIos)->Unit(benchmark::kMillisecond);

// A 1 TiB origin with 4 KiB writes spread over it, flushed: the bytes held are the pages written
// (current and durable images), not the device size.
void BM_TebibyteOriginMemory(benchmark::State& state) {
  const uint64_t writes = static_cast<uint64_t>(state.range(0));
  uint64_t held = 0;
  for (auto _ : state) {
    Scheduler scheduler;
    Prng prng(2);
    const FaultProfile profile;
    Probes probes;
    SimDevice origin(SimDeviceConfig{"origin", DeviceRole::kOrigin, sector_t{1} << 31, kSectorSize,
                                     InitialOriginContent()},
                     scheduler, prng, profile, probes, nullptr);
    std::array<uint8_t, kIoSectors * kSectorSize> data{};
    for (uint64_t i = 0; i < writes; ++i) {
      const sector_t sector = prng.UintLessThan(origin.size_sectors() / kIoSectors) * kIoSectors;
      SyncIo(origin, BioOp::kWrite, sector, kIoSectors, data.data());
    }
    SyncIo(origin, BioOp::kWrite, 0, 0, nullptr, /*preflush=*/true);
    held = origin.current_image().bytes_held() + origin.medium().pristine().bytes_held();
  }
  state.counters["bytes_held"] = static_cast<double>(held);
  state.counters["device_bytes"] = static_cast<double>(uint64_t{1} << 40);
}
BENCHMARK(BM_TebibyteOriginMemory)->Arg(10'000)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace snapsim
