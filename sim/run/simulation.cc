// SPDX-License-Identifier: GPL-2.0-only
#include "sim/run/simulation.h"

#include <algorithm>
#include <cassert>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <ostream>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/fault_points.h"
#include "sim/check/invariants.h"
#include "sim/workload/stamp.h"

namespace snapsim {

// A BlockDevice in front of a SimDevice that shows the simulation every bio going by: the model
// learns acknowledged area writes from it, and crash triggers fire on the I/O they name.
class ObservedDevice : public BlockDevice {
 public:
  ObservedDevice(Simulation& sim, SimDevice& device) : sim_(sim), device_(device) {}

  sector_t size_sectors() const override { return device_.size_sectors(); }
  uint32_t logical_block_size() const override { return device_.logical_block_size(); }
  std::string name() const override { return device_.name(); }

  void Submit(Bio bio) override {
    const DeviceRole role = device_.role();
    const BioOp op = bio.op;
    const sector_t sector = bio.sector;
    const uint32_t count = bio.sector_count;
    const bool preflush = bio.preflush;
    const bool fua = bio.fua;
    const uint8_t* data = bio.data;
    Simulation* sim = &sim_;
    const uint64_t generation = sim_.generation_;
    bio.end_io = [sim, generation, role, op, sector, count, preflush, fua, data,
                  inner = std::move(bio.end_io)](int error) mutable {
      if (generation == sim->generation_) {
        sim->OnComplete(role, op, sector, count, preflush, fua, data, error);
      }
      inner(error);
    };
    Bio copy_for_observer;
    copy_for_observer.op = op;
    copy_for_observer.sector = sector;
    copy_for_observer.sector_count = count;
    copy_for_observer.preflush = preflush;
    copy_for_observer.fua = fua;
    copy_for_observer.data = bio.data;
    device_.Submit(std::move(bio));
    sim_.OnSubmit(role, copy_for_observer);
  }
  void WaitFor(const bool& done) override { device_.WaitFor(done); }

 private:
  Simulation& sim_;
  SimDevice& device_;
};

struct Simulation::UserBio {
  View view;
  BioOp op;
  bool flush = false;
  sector_t sector = 0;
  uint32_t count = 0;
  uint64_t write_id = 0;
  uint64_t submit_seq = 0;
  std::vector<uint8_t> buffer;
};

namespace {

bool AllZero(const uint8_t* data, size_t bytes) {
  for (size_t i = 0; i < bytes; ++i) {
    if (data[i] != 0) return false;
  }
  return true;
}

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

std::string StampText(const std::optional<Stamp>& stamp) {
  if (!stamp) return "unrecognisable data (not a stamp: torn, corrupted or metadata)";
  if (stamp->write_id == 0) {
    return absl::StrFormat("initial origin data of sector %u", stamp->sector);
  }
  return absl::StrFormat("%s write #%u (meant for sector %u)",
                         stamp->device == kStampDeviceOrigin ? "origin" : "snapshot",
                         stamp->write_id, stamp->sector);
}

}  // namespace

Simulation::Simulation(const Scenario& scenario, uint64_t seed, const RunOptions& options)
    : scenario_(scenario),
      seed_(seed),
      options_(options),
      root_prng_(seed),
      device_prng_(root_prng_.Split("devices")),
      crash_prng_(root_prng_.Split("crash")),
      fiu_prng_(root_prng_.Split("fiu")),
      trace_(options.trace_out) {
  scenario_faults_ = EffectiveFaults(scenario, seed);
  active_faults_ = scenario_faults_;
  chunk_sectors_ = EffectiveChunkSectors(scenario.geometry);
}

Simulation::~Simulation() {
  // Pending events hold references into the world: drop them before the devices go.
  scheduler_.Clear();
  target_.reset();
}

std::string Simulation::ReplayCommand() const {
  if (options_.replay_prefix_is_complete) return options_.replay_prefix;
  std::string prefix = options_.replay_prefix.empty()
                           ? absl::StrCat("snapsim run --scenario ", scenario_.name)
                           : options_.replay_prefix;
  return absl::StrCat(prefix, " --seed ", seed_);
}

void Simulation::Say(const std::string& line) {
  if (options_.log_out != nullptr) *options_.log_out << line << "\n";
}

void Simulation::TraceWorld(std::string_view kind, std::string_view detail, int64_t result) {
  TraceEvent event;
  event.t = scheduler_.now();
  event.kind = kind;
  event.result = result;
  event.detail = detail;
  trace_.Record(event);
}

bool Simulation::EioFaultsOn() const {
  for (FaultFamily family : {FaultFamily::kReadEio, FaultFamily::kWriteEio, FaultFamily::kRangeEio,
                             FaultFamily::kNthEio, FaultFamily::kLatentReadError,
                             FaultFamily::kStoreAllocFail, FaultFamily::kStoreChunkIoFail}) {
    if (FamilyEnabled(scenario_faults_, family)) return true;
  }
  return scenario_faults_.BreaksContract();
}

// ---------------------------------------------------------------------------------------------
// World

void Simulation::BuildDevices(std::optional<PageStore> origin_image,
                              std::optional<PageStore> cow_image) {
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
  origin_ = std::make_unique<ObservedDevice>(*this, *origin_dev_);
  cow_ = std::make_unique<ObservedDevice>(*this, *cow_dev_);
}

absl::Status Simulation::Activate(TargetKind kind) {
  assert(target_ == nullptr);
  kind_ = kind;
  std::vector<std::string> args = {"origin", "cow", "P",
                                   std::to_string(scenario_.geometry.chunk_sectors)};
  auto target = SnapshotTarget::Create(kind, origin_.get(), cow_.get(), args, scenario_.target,
                                       scenario_.store, &kernel_log_);
  if (!target.ok()) {
    TraceWorld("activate", std::string(target.status().message()), -1);
    return target.status();
  }
  target_ = std::move(*target);
  chunk_sectors_ = target_->chunk_size();
  invalid_seq_.reset();  // this activation's validity is observed afresh
  TraceWorld("activate", kind == TargetKind::kSnapshot ? "snapshot" : "snapshot-merge");
  // While checking, the merge resumes only after the table was read (CheckImages), so the
  // table the checks compare is the one the crash left.
  if (kind == TargetKind::kSnapshotMerge) {
    if (checking_) {
      resume_pending_ = true;
    } else {
      target_->Resume();
    }
  }
  ObserveValidity();
  return absl::OkStatus();
}

void Simulation::ActivationFailed(const absl::Status& status, std::string expected,
                                  std::string detail) {
  stop_ = true;  // no target, no run
  // Metadata on a failing medium (latent read errors, a failing range) may be unreadable for
  // good; the kernel then refuses to activate, which is the right answer.
  const bool medium_fails =
      !cow_dev_->latent_errors().empty() || scenario_faults_.cow.eio_range_count > 0;
  Tally(invariant::kActivationSucceeds, medium_fails);
  if (medium_fails) {
    Say(absl::StrCat("  activation refused on a failing COW medium (", status.message(),
                     "): the run ends here"));
    return;
  }
  AddFinding(invariant::kActivationSucceeds, std::move(expected), std::string(status.message()),
             std::move(detail));
}

absl::Status Simulation::ActivateRetryingFaults(TargetKind kind) {
  absl::Status s = Activate(kind);
  if (!s.ok() && EioFaultsOn()) {
    // An injected I/O error or allocation failure may fail activation, as it would on a real
    // machine; the administrator retries once the device behaves.
    Say(absl::StrCat("  activation failed under injected faults (", s.message(),
                     "); retrying without faults"));
    UseQuietFaults(true);
    s = Activate(kind);
    UseQuietFaults(false);
  }
  return s;
}

void Simulation::Deactivate() {
  target_.reset();
  TraceWorld("deactivate", "");
}

void Simulation::UseQuietFaults(bool quiet) {
  quiet_ = quiet;
  active_faults_ = quiet ? QuietProfile() : scenario_faults_;
  // Checks must see the world as it is: no new faults, but the write cache stays as configured.
  if (quiet) active_faults_.write_cache = scenario_faults_.write_cache;
  // The core's libfiu points fire only while the workload runs, never in a scratch simulation
  // (libfiu is process-wide: the parent's bridge is off while a scratch one checks).
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
  assert(s.ok() && "the profile's ratios were validated");
}

void Simulation::ObserveValidity() {
  if (target_ != nullptr && !target_->valid() && !invalid_seq_) {
    invalid_seq_ = model_.NextSeq();
    model_.SawInvalid();
    Say(absl::StrCat("  snapshot invalidated (status ", target_->Status(), ")"));
  }
}

// ---------------------------------------------------------------------------------------------
// Steps

void Simulation::WaitFor(const char* why, absl::FunctionRef<bool()> done) {
  if (done()) return;
  if (!scheduler_.RunUntil(done, kMaxDrainEvents)) {
    throw SimulationStuck(absl::StrCat(why, ": ", user_bios_.size(), " bios and ",
                                       target_ ? target_->in_flight() : 0,
                                       " target operations never completed"));
  }
}

void Simulation::Drain(const char* why) {
  WaitFor(why, [this] {
    return user_bios_.empty() && (target_ == nullptr || target_->in_flight() == 0);
  });
}

void Simulation::WaitForSlot() {
  const uint32_t limit = scenario_.workload.max_in_flight;
  WaitFor("waiting for a free bio slot", [this, limit] { return user_bios_.size() < limit; });
}

void Simulation::ExecuteStep(const Step& step) {
  if (step.delay_ns > 0) {
    bool slept = false;
    scheduler_.Schedule(step.delay_ns, [&slept] { slept = true; });
    WaitFor("think time", [&slept] { return slept; });
  }
  switch (step.kind) {
    case StepKind::kOriginWrite:
    case StepKind::kOriginRead:
    case StepKind::kSnapshotWrite:
    case StepKind::kSnapshotRead:
      WaitForSlot();
      SubmitUserIo(step);
      break;
    case StepKind::kOriginFlush:
      WaitForSlot();
      SubmitUserFlush(View::kOrigin);
      break;
    case StepKind::kSnapshotFlush:
      WaitForSlot();
      SubmitUserFlush(View::kSnapshot);
      break;
    case StepKind::kDrain:
      Drain("drain");
      if (model_.merged() && !target_->merging() && !target_->merge_failed()) CheckMergedOrigin();
      CheckImages(/*after_crash=*/false);
      break;
    case StepKind::kReload: {
      Drain("reload");
      Deactivate();
      absl::Status s = ActivateRetryingFaults(kind_);
      if (!s.ok()) {
        ActivationFailed(s, "the snapshot activates after a clean reload",
                         "A clean deactivate/reactivate failed.");
        return;
      }
      Tally(invariant::kActivationSucceeds, true);
      CheckImages(/*after_crash=*/false);
      break;
    }
    case StepKind::kStartMerge:
      if (model_.merged() || !target_->valid()) break;  // one merge; an invalid one cannot merge
      Drain("merge start");
      Deactivate();
      model_.StartMerge();
      if (absl::Status s = ActivateRetryingFaults(TargetKind::kSnapshotMerge); !s.ok()) {
        ActivationFailed(s, "the snapshot-merge target activates",
                         "Loading the snapshot-merge table failed.");
        return;
      }
      Say("  merge started");
      break;
    case StepKind::kMergeInterrupt:
      if (!model_.merged()) break;
      target_->Suspend();
      Drain("merge interrupt");
      Deactivate();
      if (absl::Status s = ActivateRetryingFaults(TargetKind::kSnapshotMerge); !s.ok()) {
        ActivationFailed(s, "the merge resumes after an interruption",
                         "Reloading the snapshot-merge table failed.");
        return;
      }
      break;
    case StepKind::kCrash:
      ArmCrash(step);
      // Run the world until the trigger fires; a world that goes quiet first crashes there.
      scheduler_.RunUntil([] { return false; }, kMaxDrainEvents);
      FireCrash(absl::StrCat(CrashTriggerName(step.trigger), " (never came; crashed when idle)"));
  }
  ObserveValidity();
}

void Simulation::SubmitUserIo(const Step& step) {
  const bool origin = step.kind == StepKind::kOriginWrite || step.kind == StepKind::kOriginRead;
  const bool write = step.kind == StepKind::kOriginWrite || step.kind == StepKind::kSnapshotWrite;
  auto user = std::make_unique<UserBio>();
  user->view = origin ? View::kOrigin : View::kSnapshot;
  user->op = write ? BioOp::kWrite : BioOp::kRead;
  user->sector = step.sector;
  user->count = step.count;
  user->buffer.resize(size_t{step.count} << kSectorShift);
  user->submit_seq = model_.NextSeq();
  if (write) {
    user->write_id = model_.NextWriteId();
    const uint32_t device = origin ? kStampDeviceOrigin : kStampDeviceSnapshot;
    for (uint32_t i = 0; i < step.count; ++i) {
      FillStampedSector(Stamp{device, step.sector + i, user->write_id},
                        user->buffer.data() + (size_t{i} << kSectorShift));
    }
    model_.view(user->view)
        .WriteSubmitted(step.sector, step.count, device, user->write_id, user->submit_seq);
    model_.Touch(step.sector, step.count);
  }
  const uint64_t id = next_user_bio_++;
  const uint64_t generation = generation_;
  Bio bio;
  bio.op = user->op;
  bio.sector = step.sector;
  bio.sector_count = step.count;
  bio.data = user->buffer.data();
  bio.end_io = [this, id, generation](int error) {
    if (generation == generation_) EndUserBio(id, error);
  };
  user_bios_.emplace(id, std::move(user));
  if (origin) {
    target_->SubmitOrigin(std::move(bio));
  } else {
    target_->SubmitSnapshot(std::move(bio));
  }
}

void Simulation::SubmitUserFlush(View view) {
  auto user = std::make_unique<UserBio>();
  user->view = view;
  user->op = BioOp::kWrite;
  user->flush = true;
  user->submit_seq = model_.NextSeq();
  const uint64_t id = next_user_bio_++;
  const uint64_t generation = generation_;
  Bio bio;
  bio.op = BioOp::kWrite;
  bio.preflush = true;
  bio.end_io = [this, id, generation](int error) {
    if (generation == generation_) EndUserBio(id, error);
  };
  user_bios_.emplace(id, std::move(user));
  if (view == View::kOrigin) {
    target_->SubmitOrigin(std::move(bio));
  } else {
    target_->SubmitSnapshot(std::move(bio));
  }
}

void Simulation::EndUserBio(uint64_t id, int error) {
  auto it = user_bios_.find(id);
  assert(it != user_bios_.end() && "a bio ended twice");
  std::unique_ptr<UserBio> user = std::move(it->second);
  user_bios_.erase(it);
  const uint64_t seq = model_.NextSeq();
  ObserveValidity();
  ViewModel& view = model_.view(user->view);
  if (user->flush) {
    // While merging, where a FLUSH goes depends on the chunk; be conservative and learn nothing.
    if (error == 0 && !model_.merged()) {
      uint64_t oldest_read = kNeverAcked;
      for (const auto& [other_id, other] : user_bios_) {
        if (other->op == BioOp::kRead) oldest_read = std::min(oldest_read, other->submit_seq);
      }
      view.FlushCompleted(user->submit_seq, oldest_read);
    }
    return;
  }
  if (user->op == BioOp::kWrite) {
    if (error == 0) view.WriteAcked(user->sector, user->count, user->write_id, seq);
    if (error == 0 && user->view == View::kSnapshot && invalid_seq_ &&
        user->submit_seq > *invalid_seq_) {
      Tally(invariant::kValidFlagSticky, false);
      AddFinding(invariant::kValidFlagSticky, "snapshot writes fail with EIO once invalid",
                 "a snapshot write succeeded",
                 "The target accepted a snapshot write after it "
                 "had reported the snapshot invalid.");
    }
    return;
  }
  // A read: every sector must hold a value the model allows.
  if (error != 0) {
    const bool allowed = EioFaultsOn() || (user->view == View::kSnapshot && invalid_seq_);
    Tally(user->view == View::kOrigin ? invariant::kOriginImage : invariant::kSnapshotImage,
          allowed);
    if (!allowed) {
      AddFinding(user->view == View::kOrigin ? invariant::kOriginImage : invariant::kSnapshotImage,
                 "the read succeeds", absl::StrCat("error ", error),
                 absl::StrFormat("A %s read of sectors [%u, +%u) failed with no fault injected.",
                                 ViewName(user->view), user->sector, user->count));
    }
    return;
  }
  if (user->view == View::kSnapshot && invalid_seq_ && user->submit_seq > *invalid_seq_) {
    Tally(invariant::kValidFlagSticky, false);
    AddFinding(invariant::kValidFlagSticky, "snapshot reads fail with EIO once invalid",
               "a snapshot read succeeded",
               "The target returned data for a snapshot read after it had reported the "
               "snapshot invalid.");
    return;
  }
  if (user->view == View::kSnapshot && invalid_seq_) return;  // raced with the invalidation
  std::string_view name = model_.merged()               ? invariant::kMergeImage
                          : user->view == View::kOrigin ? invariant::kOriginImage
                                                        : invariant::kSnapshotImage;
  for (uint32_t i = 0; i < user->count; ++i) {
    const sector_t sector = user->sector + i;
    std::optional<Stamp> observed = DecodeStamp(user->buffer.data() + (size_t{i} << kSectorShift));
    const SectorHistory& history = view.History(sector);
    bool ok = history.AcceptableRead(sector, observed, user->submit_seq, seq);
    Tally(name, ok);
    if (!ok) {
      AddFinding(name, history.Describe(sector, false), StampText(observed),
                 absl::StrFormat("A %s read of sector %u during the run returned data the model "
                                 "does not allow.",
                                 ViewName(user->view), sector));
      return;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Crashes

void Simulation::ArmCrash(const Step& step) {
  crash_armed_ = true;
  crash_trigger_ = step.trigger;
  crash_at_event_ = scheduler_.events_run() + step.count;
  TraceWorld("arm_crash", CrashTriggerName(step.trigger), static_cast<int64_t>(step.count));
  if (step.trigger == CrashTrigger::kAfterEvents && step.count == 0) {
    FireCrash("at once");
  }
}

void Simulation::FireCrash(const std::string& point) {
  crash_armed_ = false;
  throw SimulatedCrash(point);
}

void Simulation::MaybeFireOnCompletion() {
  ++completions_;
  if (options_.crash_at_completion != 0 && completions_ == options_.crash_at_completion &&
      !checking_) {
    FireCrash(absl::StrCat("I/O completion #", completions_));
  }
  if (crash_armed_ && crash_trigger_ == CrashTrigger::kAfterEvents &&
      scheduler_.events_run() >= crash_at_event_) {
    FireCrash(absl::StrCat("after ", scheduler_.events_run(), " events"));
  }
}

void Simulation::OnSubmit(DeviceRole role, const Bio& bio) {
  if (!crash_armed_ || crash_trigger_ != CrashTrigger::kAreaWriteSubmitted) return;
  if (role != DeviceRole::kCow || !bio.is_write() || !bio.fua) return;
  const uint32_t c = chunk_sectors();
  const uint32_t e = ExceptionsPerArea(c);
  if (bio.sector % c == 0 && bio.sector_count == c && IsMetadataChunk(e, bio.sector / c) &&
      bio.sector != 0) {
    FireCrash(absl::StrFormat("area write to chunk %u queued, not complete", bio.sector / c));
  }
}

void Simulation::OnComplete(DeviceRole role, BioOp op, sector_t sector, uint32_t count,
                            bool preflush, bool fua, const uint8_t* data, int error) {
  const uint32_t c = chunk_sectors();
  const uint32_t e = ExceptionsPerArea(c);
  const bool cow_write = role == DeviceRole::kCow && op == BioOp::kWrite && count > 0;
  const bool at_area =
      cow_write && sector % c == 0 && count == c && sector != 0 && IsMetadataChunk(e, sector / c);
  if (at_area && error == 0 && fua) {
    // FUA: durable on completion. The model learns the committed table from it.
    const chunk_t area = (sector / c - kNumSnapshotHeaderChunks) / (chunk_t{e} + 1);
    model_.AreaWritten(area, data, e);
  }
  if (!checking_ && crash_armed_ && error == 0) {
    switch (crash_trigger_) {
      case CrashTrigger::kAreaWriteCompleted:
        if (at_area && fua) {
          FireCrash(
              absl::StrFormat("area write to chunk %u complete, callbacks not run", sector / c));
        }
        break;
      case CrashTrigger::kNextAreaZeroed:
        if (at_area && !fua && AllZero(data, size_t{count} << kSectorShift)) {
          FireCrash(absl::StrFormat("next area (chunk %u) zeroed", sector / c));
        }
        break;
      case CrashTrigger::kCopyCompleted:
        if (cow_write && !IsMetadataChunk(e, sector / c)) {
          FireCrash(absl::StrFormat("copy into COW chunk %u complete", sector / c));
        }
        break;
      case CrashTrigger::kMergeStep:
        if (role == DeviceRole::kOrigin && op == BioOp::kWrite && count > 0 &&
            kind_ == TargetKind::kSnapshotMerge) {
          FireCrash(absl::StrFormat("merge copy to origin sector %u complete", sector));
        }
        break;
      default:
        break;
    }
  }
  (void)preflush;
  if (!checking_) MaybeFireOnCompletion();
}

void Simulation::HandleCrash(const std::string& point) {
  ++crashes_;
  last_crash_point_ = point;
  TraceWorld("crash", point);
  Say(absl::StrFormat("crash %u at t=%uns: %s (%u + %u writes not durable)", crashes_,
                      scheduler_.now(), point, origin_dev_->NonDurableWrites().size(),
                      cow_dev_->NonDurableWrites().size()));
  if (options_.on_crash_point) {
    UseQuietFaults(true);  // the explorer's scratch simulations own libfiu now
    CrashPointContext context;
    context.crash_point = point;
    context.origin = origin_dev_.get();
    context.cow = cow_dev_.get();
    context.check = [this](PageStore origin_image, PageStore cow_image) {
      return CheckCrashState(std::move(origin_image), std::move(cow_image));
    };
    options_.on_crash_point(context);
    stop_ = true;
    return;
  }
  origin_dev_->Crash(crash_prng_);
  cow_dev_->Crash(crash_prng_);
  scheduler_.Clear();
  ++generation_;
  user_bios_.clear();
  crash_armed_ = false;
  target_.reset();
  if (!options_.export_dir.empty() && !exported_) {
    exported_ = true;
    std::filesystem::create_directories(options_.export_dir);
    absl::Status s = origin_dev_->durable_image().ExportToFile(options_.export_dir + "/origin.img");
    if (s.ok()) s = cow_dev_->durable_image().ExportToFile(options_.export_dir + "/cow.img");
    Say(s.ok() ? absl::StrCat("  crash state written to ", options_.export_dir)
               : absl::StrCat("  export failed: ", s.message()));
  }
  origin_dev_->Restart();
  cow_dev_->Restart();
  RecoverFromCrash();
}

void Simulation::RecoverFromCrash() {
  UseQuietFaults(true);
  const TargetKind kind = model_.merged() ? TargetKind::kSnapshotMerge : TargetKind::kSnapshot;
  checking_ = true;  // no crash trigger fires during recovery
  absl::Status status = Activate(kind);
  checking_ = false;
  if (!status.ok()) {
    ActivationFailed(status, "the snapshot activates from the crashed devices",
                     "Activation after the crash failed, as after a reboot it would.");
    UseQuietFaults(false);
    return;
  }
  Tally(invariant::kActivationSucceeds, true);
  ++recoveries_;
  ++crash_states_checked_;
  CheckImages(/*after_crash=*/true);
  // A snapshot that came back valid with the right data starts afresh.
  if (findings_.empty() && target_->valid()) model_.ClearSawInvalid();
  UseQuietFaults(false);
  Say(absl::StrFormat("  recovered: status %s; %s", target_->Status(),
                      findings_.empty() ? "every invariant holds" : "FINDINGS (see below)"));
}

std::vector<Finding> Simulation::CheckCrashState(PageStore origin_image, PageStore cow_image) {
  // A scratch simulation with this one's model and scenario, recovering from the given images.
  RunOptions scratch_options;
  scratch_options.replay_prefix = options_.replay_prefix;
  scratch_options.replay_prefix_is_complete = options_.replay_prefix_is_complete;
  Simulation scratch(scenario_, seed_, scratch_options);
  scratch.scratch_ = true;
  scratch.model_ = model_;
  scratch.probes_.Merge(probes_);  // so findings know whether beyond-contract faults fired
  scratch.invalid_seq_ = invalid_seq_;
  scratch.crashes_ = crashes_;
  scratch.last_crash_point_ = last_crash_point_;
  scratch.BuildDevices(std::move(origin_image), std::move(cow_image));
  scratch.RecoverFromCrash();
  ++crash_states_checked_;
  for (const auto& [name, verdict] : scratch.verdicts_) {
    verdicts_[name].checked += verdict.checked;
    verdicts_[name].failed += verdict.failed;
  }
  return scratch.findings_;
}

// ---------------------------------------------------------------------------------------------
// Checks

void Simulation::Tally(std::string_view invariant, bool held) {
  snapsim::Verdict& v = verdicts_[std::string(invariant)];
  ++v.checked;
  if (!held) ++v.failed;
}

void Simulation::AddFinding(std::string_view invariant, std::string expected, std::string actual,
                            std::string detail) {
  stop_ = true;
  for (const Finding& f : findings_) {
    if (f.invariant == invariant) return;  // one finding per invariant and run
  }
  if (findings_.size() >= kMaxFindingsPerRun) return;
  Finding f;
  f.invariant = std::string(invariant);
  const InvariantInfo* info = FindInvariant(invariant);
  f.severity = info != nullptr ? info->severity : FindingSeverity::kError;
  f.contract = BeyondContractFaultFired(probes_) ? Contract::kBeyond : Contract::kWithin;
  f.scenario = scenario_.name;
  f.seed = seed_;
  f.crash_index = static_cast<uint32_t>(crashes_);
  f.crash_event = scheduler_.events_run();
  f.crash_point = last_crash_point_;
  f.expected = std::move(expected);
  f.actual = std::move(actual);
  f.detail = std::move(detail);
  f.replay_command = ReplayCommand();
  TraceWorld("finding", f.invariant);
  Say(absl::StrFormat("  FINDING %s: expected %s; got %s", f.invariant, f.expected, f.actual));
  findings_.push_back(std::move(f));
}

std::vector<uint8_t> Simulation::ReadThroughTarget(View view, sector_t sector, uint32_t count,
                                                   int* error, uint64_t* submit_seq,
                                                   uint64_t* complete_seq) {
  std::vector<uint8_t> buffer(size_t{count} << kSectorShift);
  bool done = false;
  *submit_seq = model_.NextSeq();
  Bio bio;
  bio.op = BioOp::kRead;
  bio.sector = sector;
  bio.sector_count = count;
  bio.data = buffer.data();
  bio.end_io = [&done, error](int e) {
    *error = e;
    done = true;
  };
  if (view == View::kOrigin) {
    target_->SubmitOrigin(std::move(bio));
  } else {
    target_->SubmitSnapshot(std::move(bio));
  }
  WaitFor("check read", [&done] { return done; });
  *complete_seq = model_.NextSeq();
  return buffer;
}

void Simulation::CheckTable(const InspectReport& report, bool after_crash) {
  // A latent read error or failing medium can hide the table from the decoder; then there is
  // nothing to compare (the image checks still read what they can).
  if (EioFaultsOn()) {
    for (const Damage& d : report.damage) {
      if (d.kind == DamageKind::kAreaUnreadable || d.kind == DamageKind::kHeaderUnreadable) return;
    }
  }
  bool well_formed = true;
  for (const Damage& d : report.damage) {
    if (d.severity != Severity::kError) continue;
    well_formed = false;
    AddFinding(invariant::kTableWellFormed, "no damage in the on-disk table",
               absl::StrCat(DamageKindName(d.kind), ": ", d.message),
               "snapsim's inspect decoder found damage in the COW device after recovery.");
    break;
  }
  Tally(invariant::kTableWellFormed, well_formed);

  const bool disk_valid = report.loadable && (report.is_new || report.header.valid != 0);
  if (model_.saw_invalid_on_disk()) {
    Tally(invariant::kValidFlagSticky, !disk_valid);
    if (disk_valid) {
      AddFinding(invariant::kValidFlagSticky, "the header stays invalid",
                 "the header says valid again",
                 "An earlier recovery found the snapshot invalid on disk; now it is valid.");
    }
  }
  if (!disk_valid) {
    if (after_crash) model_.SawInvalidOnDisk();
    Tally(invariant::kValidFlagSticky, !target_->valid());
    if (target_->valid()) {
      AddFinding(invariant::kValidFlagSticky, "an invalid header activates an invalid snapshot",
                 "the target reports valid", "read_metadata must return 1 and load nothing.");
    }
    return;
  }

  const SnapshotTable table = SnapshotTableOf(report);
  bool none_lost = true;
  for (const auto& [area, image] : model_.committed_areas()) {
    for (const auto& [old_chunk, new_chunk] : image.entries) {
      auto it = table.find(old_chunk);
      if (it != table.end() && it->second == new_chunk) continue;
      none_lost = false;
      AddFinding(
          invariant::kNoLostCommittedException,
          absl::StrFormat("exception %u -> %u (area %u, acknowledged)", old_chunk, new_chunk, area),
          it == table.end() ? std::string("no mapping for that origin chunk")
                            : absl::StrFormat("%u -> %u", old_chunk, it->second),
          "An area write that completed with FUA recorded this exception; the table "
          "read back does not hold it.");
      break;
    }
    if (!none_lost) break;
  }
  Tally(invariant::kNoLostCommittedException, none_lost);

  if (model_.max_committed_new_chunk() > 0 && !model_.merged()) {
    const bool above = report.next_free > model_.max_committed_new_chunk();
    Tally(invariant::kNextFreeAboveCommitted, above);
    if (!above) {
      AddFinding(invariant::kNextFreeAboveCommitted,
                 absl::StrFormat("next_free > %u", model_.max_committed_new_chunk()),
                 absl::StrFormat("next_free = %u", report.next_free),
                 "After activation the store would hand out a chunk already holding data.");
    }
  }
  if (model_.last_next_free && !model_.merged()) {
    const bool monotonic = report.next_free >= *model_.last_next_free;
    Tally(invariant::kNextFreeMonotonic, monotonic);
    if (!monotonic) {
      AddFinding(invariant::kNextFreeMonotonic,
                 absl::StrFormat("next_free >= %u", *model_.last_next_free),
                 absl::StrFormat("next_free = %u", report.next_free),
                 "next_free went back between two activations without a merge.");
    }
  }
  model_.last_next_free = report.next_free;
  if (after_crash) {
    // The table read back is the truth from here on.
    absl::btree_map<chunk_t, AreaImage> areas;
    const uint32_t e = report.exceptions_per_area;
    for (size_t i = 0; i < report.exceptions.size(); ++i) {
      areas[i / e].entries.emplace_back(chunk_t{report.exceptions[i].old_chunk},
                                        chunk_t{report.exceptions[i].new_chunk});
    }
    model_.ResetAreas(std::move(areas));
  }
}

void Simulation::CheckImages(bool after_crash) {
  // A check observes; it injects nothing (latent errors already on the medium still show).
  const bool was_quiet = quiet_;
  UseQuietFaults(true);
  checking_ = true;
  InspectReport report = InspectCow(*cow_);
  CheckTable(report, after_crash);
  if (resume_pending_) {
    resume_pending_ = false;
    target_->Resume();
  }
  SnapshotTable table;
  if (report.loadable && report.header.valid != 0) table = SnapshotTableOf(report);
  absl::btree_set<chunk_t> mapped;
  for (const auto& [old_chunk, new_chunk] : table) mapped.insert(old_chunk);
  if (!stop_ && target_->valid()) CheckView(View::kSnapshot, after_crash, mapped, table);
  if (!stop_ && !model_.merged()) CheckView(View::kOrigin, after_crash, {}, table);
  checking_ = false;
  UseQuietFaults(was_quiet);
}

void Simulation::CheckView(View view, bool after_crash, const absl::btree_set<chunk_t>& extra,
                           const SnapshotTable& table) {
  ViewModel& model_view = model_.view(view);
  const uint32_t c = chunk_sectors();
  const sector_t device_sectors = scenario_.geometry.origin_sectors;
  absl::btree_set<chunk_t> chunks = extra;
  for (const auto& [sector, history] : model_view.sectors()) chunks.insert(sector / c);
  // The snapshot must show the point-in-time data wherever the origin moved on.
  if (view == View::kSnapshot) {
    for (sector_t sector : model_.touched()) chunks.insert(sector / c);
  }
  std::string_view fallback = model_.merged()         ? invariant::kMergeImage
                              : view == View::kOrigin ? invariant::kOriginImage
                                                      : invariant::kSnapshotImage;
  bool held = true;
  std::vector<std::pair<sector_t, std::optional<Stamp>>> observed_all;
  for (chunk_t chunk : chunks) {
    const sector_t first = chunk * c;
    if (first >= device_sectors) continue;
    const uint32_t count = static_cast<uint32_t>(std::min<sector_t>(c, device_sectors - first));
    int error = 0;
    uint64_t submit_seq = 0, complete_seq = 0;
    std::vector<uint8_t> data =
        ReadThroughTarget(view, first, count, &error, &submit_seq, &complete_seq);
    const bool is_mapped = view == View::kSnapshot && table.contains(chunk);
    std::string_view name =
        is_mapped && !model_.merged() ? invariant::kExceptionDataIntact : fallback;
    // An invalidated snapshot that came back valid (its invalid header was lost) and now reads
    // wrong data is the valid-flag promise broken, whatever chunk shows it.
    if (view == View::kSnapshot && after_crash && model_.saw_invalid()) {
      name = invariant::kValidFlagSticky;
    }
    if (error != 0 && EioFaultsOn()) continue;  // a latent error or a failed medium: allowed
    if (error != 0) {
      held = false;
      Tally(name, false);
      AddFinding(name, "the read succeeds", absl::StrCat("error ", error),
                 absl::StrFormat("Reading %s chunk %u after %s failed.", ViewName(view), chunk,
                                 after_crash ? "recovery" : "a drain"));
      break;
    }
    for (uint32_t i = 0; i < count; ++i) {
      const sector_t sector = first + i;
      std::optional<Stamp> observed = DecodeStamp(data.data() + (size_t{i} << kSectorShift));
      const SectorHistory& history = model_view.History(sector);
      const bool ok = after_crash
                          ? history.AcceptableAfterCrash(sector, observed)
                          : history.AcceptableRead(sector, observed, submit_seq, complete_seq);
      if (!ok) {
        held = false;
        AddFinding(name, history.Describe(sector, after_crash), StampText(observed),
                   absl::StrFormat(
                       "Sector %u (chunk %u%s) of the %s read back %s %s.", sector, chunk,
                       is_mapped ? absl::StrFormat(", mapped to COW chunk %u", table.at(chunk))
                                 : std::string(", not mapped"),
                       model_.merged() ? "merging snapshot" : ViewName(view),
                       after_crash ? "after recovery from crash point" : "at a quiescent point",
                       after_crash ? last_crash_point_ : std::string()));
        break;
      }
      if (after_crash) observed_all.emplace_back(sector, observed);
    }
    if (name != fallback) Tally(name, held);
    if (!held) break;
  }
  Tally(fallback, held);
  if (after_crash) {
    for (const auto& [sector, observed] : observed_all) {
      model_view.MutableHistory(sector).Rebase(observed);
    }
  }
}

void Simulation::CheckMergedOrigin() {
  // The merge finished: the origin device itself must now hold the snapshot image.
  const uint32_t c = chunk_sectors();
  std::vector<uint8_t> sector_bytes(kSectorSize);
  bool held = true;
  const uint64_t seq = model_.NextSeq();
  for (const auto& [sector, history] : model_.snapshot().sectors()) {
    origin_dev_->ReadCurrent(sector, 1, sector_bytes.data());
    std::optional<Stamp> observed = DecodeStamp(sector_bytes.data());
    if (!history.AcceptableRead(sector, observed, seq, seq)) {
      held = false;
      AddFinding(invariant::kMergeImage, history.Describe(sector, false), StampText(observed),
                 absl::StrFormat("After the merge completed, origin sector %u (chunk %u) does "
                                 "not hold the snapshot's data.",
                                 sector, sector / c));
      break;
    }
  }
  Tally(invariant::kMergeImage, held);
}

// ---------------------------------------------------------------------------------------------
// The run

RunResult Simulation::Run(const std::vector<Step>& steps) {
  RunResult result;
  result.scenario = scenario_.name;
  result.seed = seed_;
  result.replay_command = ReplayCommand();
  Say(absl::StrFormat("snapsim run: scenario %s, seed %u, %u steps", scenario_.name, seed_,
                      steps.size()));
  BuildDevices(std::nullopt, std::nullopt);
  UseQuietFaults(false);
  try {
    if (absl::Status s = ActivateRetryingFaults(TargetKind::kSnapshot); !s.ok()) {
      result.outcome = absl::StrCat("error: the snapshot does not activate: ", s.message());
      return result;
    }
  } catch (const SimulatedCrash& crash) {
    HandleCrash(crash.what());  // a crash while the new snapshot is being created
  }
  for (size_t i = 0; i < steps.size() && !stop_; ++i) {
    try {
      ExecuteStep(steps[i]);
    } catch (const SimulatedCrash& crash) {
      HandleCrash(crash.what());
    } catch (const SimulationStuck& stuck) {
      Tally(invariant::kLiveness, false);
      AddFinding(invariant::kLiveness, "every bio completes", stuck.what(),
                 "The world went quiet with bios still outstanding.");
    }
  }
  if (!stop_) {
    try {
      Drain("end of run");
      Tally(invariant::kLiveness, true);
      CheckImages(/*after_crash=*/false);
    } catch (const SimulatedCrash& crash) {
      HandleCrash(crash.what());
    } catch (const SimulationStuck& stuck) {
      Tally(invariant::kLiveness, false);
      AddFinding(invariant::kLiveness, "every bio completes", stuck.what(),
                 "The world went quiet with bios still outstanding.");
    }
  }
  result.trace_hash = trace_.hash();
  result.events = scheduler_.events_run();
  result.ios = completions_;
  result.crashes = crashes_;
  result.crash_states_checked = crash_states_checked_;
  result.recoveries = recoveries_;
  result.sim_time_ns = scheduler_.now();
  for (size_t i = 0; i < kProbeCount; ++i) {
    const Probe probe = static_cast<Probe>(i);
    result.probes[std::string(ProbeName(probe))] = probes_.count(probe);
  }
  result.verdicts = verdicts_;
  result.findings = findings_;
  result.outcome = findings_.empty() ? "clean" : "findings";
  return result;
}

}  // namespace snapsim
