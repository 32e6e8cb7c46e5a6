// SPDX-License-Identifier: GPL-2.0-only
#include "sim/run/world.h"

#include <cstring>
#include <filesystem>
#include <utility>

#include "core/fault_points.h"
#include "sim/workload/stamp.h"
#include "util/assert.h"

namespace snapsim {
namespace {

// A COW device with leftovers: chunk 0 zero (lvcreate wipes the start), the rest noise.
SectorGenerator GarbageCowContent(uint32_t zero_sectors) {
  return [zero_sectors](sector_t sector, uint8_t* out) {
    if (sector < zero_sectors) {
      std::memset(out, 0, kSectorSize);
      return;
    }
    uint64_t state = Mix64(sector ^ 0x9e3779b97f4a7c15ULL);
    for (uint32_t i = 0; i < kSectorSize; i += 8) {
      uint64_t word = SplitMix64(state);
      std::memcpy(out + i, &word, 8);
    }
  };
}

// I/O errors or allocation failures are injected, or the contract is broken.
bool AnyEioFaultFamily(const FaultProfile& faults) {
  const FaultFamilySet on = EnabledFamilies(faults);
  for (FaultFamily family : {FaultFamily::kReadEio, FaultFamily::kWriteEio, FaultFamily::kRangeEio,
                             FaultFamily::kNthEio, FaultFamily::kLatentReadError,
                             FaultFamily::kStoreAllocFail, FaultFamily::kStoreChunkIoFail}) {
    if (on.test(static_cast<size_t>(family))) return true;
  }
  for (const FaultFamilyInfo& info : kFaultFamilies) {
    if (info.contract_breaking && on.test(static_cast<size_t>(info.family))) return true;
  }
  return false;
}

}  // namespace

World::World(const Scenario& scenario, FaultProfile faults, Prng device_prng, Prng fiu_prng,
             std::ostream* trace_out, bool scratch)
    : scenario_(scenario),
      scratch_(scratch),
      device_prng_(std::move(device_prng)),
      fiu_prng_(std::move(fiu_prng)),
      scenario_faults_(faults),
      active_faults_(faults),
      eio_faults_on_(AnyEioFaultFamily(faults)),
      trace_(trace_out) {}

World::~World() {
  // Pending events hold references into the world: drop them before the devices go.
  scheduler_.Clear();
  target_.reset();
}

void World::BuildDevices(std::optional<PageStore> origin_image, std::optional<PageStore> cow_image,
                         const std::vector<IoObserver*>& observers) {
  const Geometry& g = scenario_.geometry;
  SimDeviceConfig origin_config;
  origin_config.name = "origin";
  origin_config.role = DeviceRole::kOrigin;
  origin_config.size_sectors = g.origin_sectors;
  origin_config.logical_block_size = g.origin_block_bytes;
  origin_config.initial_content = InitialOriginContent();
  SimDeviceConfig cow_config;
  cow_config.name = "cow";
  cow_config.role = DeviceRole::kCow;
  cow_config.size_sectors = g.cow_sectors;
  cow_config.logical_block_size = g.cow_block_bytes;
  cow_config.initial_content = g.cow_initial == CowInitial::kGarbage
                                   ? GarbageCowContent(EffectiveChunkSectors(g))
                                   : ZeroContent();
  if (origin_image) {
    origin_dev_ = std::make_unique<SimDevice>(origin_config, std::move(*origin_image), scheduler_,
                                              device_prng_, active_faults_, probes_, &trace_);
  } else {
    origin_dev_ = std::make_unique<SimDevice>(origin_config, scheduler_, device_prng_,
                                              active_faults_, probes_, &trace_);
  }
  if (cow_image) {
    cow_dev_ = std::make_unique<SimDevice>(cow_config, std::move(*cow_image), scheduler_,
                                           device_prng_, active_faults_, probes_, &trace_);
  } else {
    cow_dev_ = std::make_unique<SimDevice>(cow_config, scheduler_, device_prng_, active_faults_,
                                           probes_, &trace_);
  }
  origin_ = std::make_unique<ObservedDevice>(*origin_dev_, observers);
  cow_ = std::make_unique<ObservedDevice>(*cow_dev_, observers);
}

absl::Status World::Activate(TargetKind kind) {
  SNAPSIM_ASSERT(target_ == nullptr);
  kind_ = kind;
  std::vector<std::string> args = {"origin", "cow", "P",
                                   std::to_string(scenario_.geometry.chunk_sectors)};
  auto target = SnapshotTarget::Create(kind, origin_.get(), cow_.get(), args, scenario_.target,
                                       scenario_.store, &kernel_log_);
  if (!target.ok()) {
    RecordEvent("activate", std::string(target.status().message()), -1);
    return target.status();
  }
  target_ = std::move(*target);
  RecordEvent("activate", kind == TargetKind::kSnapshot ? "snapshot" : "snapshot-merge");
  return absl::OkStatus();
}

void World::Deactivate() {
  target_.reset();
  RecordEvent("deactivate", "");
}

void World::PowerCut(Prng& crash_prng) {
  origin_dev_->Crash(crash_prng);
  cow_dev_->Crash(crash_prng);
  scheduler_.Clear();
  origin_->ForgetInFlight();
  cow_->ForgetInFlight();
}

void World::PowerOn() {
  origin_dev_->Restart();
  cow_dev_->Restart();
}

absl::Status World::ExportDurableImages(const std::string& dir) const {
  std::error_code error;
  std::filesystem::create_directories(dir, error);
  if (error) return absl::InternalError(dir + ": " + error.message());
  absl::Status s = origin_dev_->durable_image().ExportToFile(dir + "/origin.img");
  if (!s.ok()) return s;
  s = cow_dev_->durable_image().ExportToFile(dir + "/cow.img");
  // Both images or neither: an origin.img alone would make the retry refuse to overwrite it.
  if (!s.ok()) std::filesystem::remove(dir + "/origin.img", error);
  return s;
}

void World::UseQuietFaults(bool quiet) {
  quiet_ = quiet;
  active_faults_ = quiet ? QuietProfile() : scenario_faults_;
  // Checks must see the world as it is: no new faults, but the write cache stays as configured.
  if (quiet) active_faults_.write_cache = scenario_faults_.write_cache;
  if (quiet || scratch_) {
    fiu_.reset();
    return;
  }
  const bool alloc = !scenario_faults_.store_alloc_fail.never();
  const bool chunk_io = !scenario_faults_.store_chunk_io_fail.never();
  if (fiu_ != nullptr || (!alloc && !chunk_io)) return;
  fiu_ = std::make_unique<FiuBridge>(fiu_prng_, probes_);
  absl::Status s = absl::OkStatus();
  if (alloc) {
    s.Update(fiu_->Enable(fault_points::kStoreAllocArea, scenario_faults_.store_alloc_fail));
    s.Update(fiu_->Enable(fault_points::kStoreAllocCallbacks, scenario_faults_.store_alloc_fail));
  }
  if (chunk_io) {
    s.Update(fiu_->Enable(fault_points::kStoreChunkIo, scenario_faults_.store_chunk_io_fail));
  }
  SNAPSIM_ASSERT(s.ok() && "the profile's ratios were validated");
}

bool World::EioFaultsOn() const { return eio_faults_on_; }

bool World::CowMediumFails() const {
  return !cow_dev_->latent_errors().empty() || scenario_faults_.cow.eio_range_count > 0;
}

void World::RecordEvent(std::string_view kind, std::string_view detail, int64_t result) {
  snapsim::TraceEvent event;
  event.t = scheduler_.now();
  event.kind = kind;
  event.result = result;
  event.detail = detail;
  trace_.Record(event);
}

}  // namespace snapsim
