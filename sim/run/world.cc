// SPDX-License-Identifier: GPL-2.0-only
#include "sim/run/world.h"

#include <cstring>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
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
      trace_(trace_out),
      further_logs_(scenario.further_snapshots.size()) {}

World::~World() {
  // Pending events hold references into the world: drop them before the devices go.
  scheduler_.Clear();
  AbandonTarget();
}

void World::BuildDevices(std::optional<PageStore> origin_image, std::optional<PageStore> cow_image,
                         const std::vector<IoObserver*>& observers,
                         std::vector<PageStore> further_cow_images,
                         const std::vector<std::vector<IoObserver*>>& further_observers) {
  SNAPSIM_ASSERT(further_cow_images.empty() ||
                 further_cow_images.size() == scenario_.further_snapshots.size());
  SNAPSIM_ASSERT(further_observers.empty() ||
                 further_observers.size() == scenario_.further_snapshots.size());
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

  // Rebuilding over crash images keeps which further snapshots exist: that is not on a device.
  // On the first build, the snapshots made with the first exist.
  std::vector<bool> existed(scenario_.further_snapshots.size(), false);
  for (size_t i = 0; i < existed.size(); ++i) {
    existed[i] =
        further_.empty() ? scenario_.further_snapshots[i].create_at_step == 0 : further_[i].exists;
  }
  further_.clear();
  for (size_t i = 0; i < scenario_.further_snapshots.size(); ++i) {
    SimDeviceConfig config;
    config.name = absl::StrCat("cow-", i + 1);
    config.role = DeviceRole::kCow;
    config.size_sectors = scenario_.further_snapshots[i].cow_sectors;
    config.logical_block_size = kMinLogicalBlockBytes;
    config.initial_content = ZeroContent();
    FurtherSnapshotSlot slot;
    if (!further_cow_images.empty()) {
      slot.device =
          std::make_unique<SimDevice>(config, std::move(further_cow_images[i]), scheduler_,
                                      device_prng_, active_faults_, probes_, &trace_);
    } else {
      slot.device = std::make_unique<SimDevice>(config, scheduler_, device_prng_, active_faults_,
                                                probes_, &trace_);
    }
    slot.observed = std::make_unique<ObservedDevice>(
        *slot.device, further_observers.empty() ? std::vector<IoObserver*>{} : further_observers[i],
        static_cast<uint32_t>(i + 1));
    slot.exists = existed[i];
    further_.push_back(std::move(slot));
  }
}

void World::CopyWhichSnapshotsExist(const World& crashed) {
  SNAPSIM_ASSERT(further_.size() == crashed.further_.size() && origin_target_ == nullptr);
  for (size_t i = 0; i < further_.size(); ++i) {
    SNAPSIM_ASSERT(further_[i].target == nullptr);
    further_[i].exists = crashed.further_[i].exists;
  }
}

absl::StatusOr<std::unique_ptr<SnapshotTarget>> World::CreateFurtherTarget(size_t index) {
  SNAPSIM_ASSERT(index >= 1 && index <= further_.size());
  SNAPSIM_ASSERT(origin_target_ != nullptr && origin_target_->suspended());
  FurtherSnapshotSlot& slot = further_[index - 1];
  const std::vector<std::string> args = {
      "origin", slot.device->name(), "P",
      std::to_string(scenario_.further_snapshots[index - 1].chunk_sectors)};
  absl::StatusOr<std::unique_ptr<SnapshotTarget>> target =
      SnapshotTarget::Create(TargetKind::kSnapshot, origin_.get(), slot.observed.get(), args,
                             scenario_.target, scenario_.store, &further_logs_[index - 1]);
  if (target.ok()) origin_target_->AddSnapshot(target->get());
  return target;
}

absl::Status World::Activate(TargetKind kind) {
  SNAPSIM_ASSERT(target_ == nullptr);
  kind_ = kind;
  if (several_snapshots()) {
    // lvm2 after a reboot: every snapshot's table under a suspended origin, then its resume.
    origin_target_ = std::make_unique<Origin>(origin_.get());
    origin_target_->Suspend();
  }
  std::vector<std::string> args = {"origin", "cow", "P",
                                   std::to_string(scenario_.geometry.chunk_sectors)};
  auto target = SnapshotTarget::Create(kind, origin_.get(), cow_.get(), args, scenario_.target,
                                       scenario_.store, &kernel_log_);
  if (!target.ok()) {
    RecordEvent("activate", std::string(target.status().message()), -1);
    origin_target_.reset();
    return target.status();
  }
  target_ = std::move(*target);
  if (several_snapshots()) {
    origin_target_->AddSnapshot(target_.get());
    for (size_t index = 1; index < snapshot_count(); ++index) {
      if (!further_[index - 1].exists) continue;
      absl::StatusOr<std::unique_ptr<SnapshotTarget>> further = CreateFurtherTarget(index);
      if (!further.ok()) {
        const absl::Status status =
            absl::Status(further.status().code(),
                         absl::StrCat("snapshot ", index, ": ", further.status().message()));
        RecordEvent("activate", std::string(status.message()), -1);
        AbandonTarget();
        return status;
      }
      further_[index - 1].target = std::move(*further);
    }
    origin_target_->Resume();
  }
  RecordEvent("activate", kind == TargetKind::kSnapshot ? "snapshot" : "snapshot-merge");
  return absl::OkStatus();
}

void World::Deactivate() {
  AbandonTarget();
  RecordEvent("deactivate", "");
}

void World::AbandonTarget() {
  // The Origin never touches its snapshots when it goes, nor they it.
  origin_target_.reset();
  target_.reset();
  for (FurtherSnapshotSlot& slot : further_) slot.target.reset();
}

absl::Status World::MakeSnapshot(size_t index) {
  SNAPSIM_ASSERT(several_snapshots() && index >= 1 && index <= further_.size());
  SNAPSIM_ASSERT(!further_[index - 1].exists && origin_target_ != nullptr);
  origin_target_->Suspend();
  absl::StatusOr<std::unique_ptr<SnapshotTarget>> target = CreateFurtherTarget(index);
  origin_target_->Resume();
  if (!target.ok()) {
    RecordEvent("make_snapshot", absl::StrCat(index, ": ", target.status().message()), -1);
    return target.status();
  }
  further_[index - 1].target = std::move(*target);
  further_[index - 1].exists = true;
  RecordEvent("make_snapshot", absl::StrCat(index));
  return absl::OkStatus();
}

void World::RemoveSnapshot(size_t index) {
  SNAPSIM_ASSERT(several_snapshots() && index >= 1 && index <= further_.size());
  FurtherSnapshotSlot& slot = further_[index - 1];
  SNAPSIM_ASSERT(slot.exists && slot.target != nullptr && origin_target_ != nullptr);
  origin_target_->Suspend();
  origin_target_->RemoveSnapshot(slot.target.get());
  slot.target.reset();
  slot.exists = false;
  origin_target_->Resume();
  RecordEvent("remove_snapshot", absl::StrCat(index));
}

uint64_t World::TargetsInFlight() const {
  uint64_t in_flight = target_ != nullptr ? target_->in_flight() : 0;
  if (origin_target_ != nullptr) in_flight += origin_target_->in_flight();
  for (const FurtherSnapshotSlot& slot : further_) {
    if (slot.target != nullptr) in_flight += slot.target->in_flight();
  }
  return in_flight;
}

void World::SubmitOrigin(Bio bio) {
  if (origin_target_ != nullptr) {
    origin_target_->Submit(std::move(bio));
  } else {
    target_->SubmitOrigin(std::move(bio));
  }
}

SimDevice& World::cow_device(size_t index) {
  SNAPSIM_ASSERT(index < snapshot_count());
  return index == 0 ? *cow_dev_ : *further_[index - 1].device;
}

const SimDevice& World::cow_device(size_t index) const {
  SNAPSIM_ASSERT(index < snapshot_count());
  return index == 0 ? *cow_dev_ : *further_[index - 1].device;
}

BlockDevice& World::cow(size_t index) {
  SNAPSIM_ASSERT(index < snapshot_count());
  return index == 0 ? static_cast<BlockDevice&>(*cow_) : *further_[index - 1].observed;
}

SnapshotTarget* World::target(size_t index) {
  SNAPSIM_ASSERT(index < snapshot_count());
  return index == 0 ? target_.get() : further_[index - 1].target.get();
}

const SnapshotTarget* World::target(size_t index) const {
  return const_cast<World*>(this)->target(index);
}

const CollectingLog& World::kernel_log(size_t index) const {
  SNAPSIM_ASSERT(index < snapshot_count());
  return index == 0 ? kernel_log_ : further_logs_[index - 1];
}

bool World::snapshot_exists(size_t index) const {
  SNAPSIM_ASSERT(index < snapshot_count());
  return index == 0 || further_[index - 1].exists;
}

void World::PowerCut(Prng& crash_prng) {
  origin_dev_->Crash(crash_prng);
  cow_dev_->Crash(crash_prng);
  for (FurtherSnapshotSlot& slot : further_) slot.device->Crash(crash_prng);
  scheduler_.Clear();
  origin_->ForgetInFlight();
  cow_->ForgetInFlight();
  for (FurtherSnapshotSlot& slot : further_) slot.observed->ForgetInFlight();
}

void World::PowerOn() {
  origin_dev_->Restart();
  cow_dev_->Restart();
  for (FurtherSnapshotSlot& slot : further_) slot.device->Restart();
}

absl::Status World::ExportDurableImages(const std::string& dir) const {
  std::error_code error;
  std::filesystem::create_directories(dir, error);
  if (error) return absl::InternalError(dir + ": " + error.message());
  absl::Status s = origin_dev_->durable_image().ExportToFile(dir + "/origin.img");
  std::vector<std::string> written;
  if (s.ok()) {
    written.push_back(dir + "/origin.img");
    s = cow_dev_->durable_image().ExportToFile(dir + "/cow.img");
  }
  if (s.ok()) written.push_back(dir + "/cow.img");
  for (size_t i = 0; i < further_.size() && s.ok(); ++i) {
    const std::string path = absl::StrCat(dir, "/cow-", i + 1, ".img");
    s = further_[i].device->durable_image().ExportToFile(path);
    if (s.ok()) written.push_back(path);
  }
  // All images or none: a partial set would make the retry refuse to overwrite it.
  if (!s.ok()) {
    for (const std::string& path : written) std::filesystem::remove(path, error);
  }
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
  if (scenario_faults_.cow.eio_range_count > 0) return true;
  for (size_t index = 0; index < snapshot_count(); ++index) {
    if (!cow_device(index).latent_errors().empty()) return true;
  }
  return false;
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
