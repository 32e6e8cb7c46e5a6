// SPDX-License-Identifier: GPL-2.0-only
//
// Simulation, part two: the crash (a power cut at the armed trigger), the recovery that follows
// as after a reboot, and the checks, which the checker runs on reads this file serves.
#include <algorithm>
#include <cstring>
#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/format.h"
#include "core/inspect.h"
#include "sim/check/invariants.h"
#include "sim/run/simulation.h"
#include "util/assert.h"

namespace snapsim {

class Simulation::FurtherSnapshotReads : public CheckedWorld {
 public:
  FurtherSnapshotReads(Simulation& run, size_t index) : run_(run), index_(index) {}
  int ReadThroughTarget(View view, sector_t sector, uint32_t count, uint8_t* out) override {
    SNAPSIM_ASSERT(view == View::kSnapshot && "a further snapshot's checks read the snapshot");
    return run_.ReadThrough(View::kSnapshot, index_, sector, count, out);
  }
  void ReadOriginMedium(sector_t sector, uint8_t* out) override {
    run_.ReadOriginMedium(sector, out);
  }
  bool TargetValid() const override { return run_.world_->target(index_)->valid(); }

 private:
  Simulation& run_;
  const size_t index_;
};

namespace {

// The COW's table at one instant. Reading it through the device would run the world between
// the reads of its areas, and a merge of the first snapshot that goes on meanwhile copies into
// this one and commits: the model would learn an exception the table, read a moment before,
// cannot hold (a false no_lost_committed_exception, several-snapshots --option corrected seed 25
// while merges were added there). This device answers every read at once from the COW's current
// content (cache over medium, as a read would return it), so no event runs between two reads;
// latent read errors do not show here.
class CurrentContentReader final : public BlockDevice {
 public:
  explicit CurrentContentReader(const SimDevice& device) : device_(device) {}
  sector_t size_sectors() const override { return device_.size_sectors(); }
  uint32_t logical_block_size() const override { return device_.logical_block_size(); }
  std::string name() const override { return device_.name(); }
  void Submit(Bio bio) override {
    SNAPSIM_ASSERT(bio.op == BioOp::kRead && "a check only reads");
    SNAPSIM_ASSERT(bio.sector + bio.sector_count <= size_sectors());
    device_.ReadCurrent(bio.sector, bio.sector_count, bio.data);
    bio.end_io(0);
  }
  void WaitFor(const bool& done) override { SNAPSIM_ASSERT(done); }

 private:
  const SimDevice& device_;
};

InspectReport InspectCowAsItIsNow(const SimDevice& cow) {
  CurrentContentReader now(cow);
  return InspectCow(now);
}

}  // namespace

void Simulation::ArmCrash(const Step& step) {
  world_->RecordEvent("arm_crash", CrashTriggerName(step.trigger),
                      static_cast<int64_t>(step.count));
  triggers_.Arm(step.trigger, step.count);
}

void Simulation::WaitForArmedCrash(const Step& step) {
  // Run the world until the trigger fires; a world that goes quiet first crashes there.
  world_->scheduler().RunUntil([] { return false; }, kMaxDrainEvents);
  triggers_.Fire(absl::StrCat(CrashTriggerName(step.trigger), " (never came; crashed when idle)"));
}

void Simulation::HandleCrash(const std::string& point) {
  ++crashes_;
  last_crash_point_ = point;
  world_->RecordEvent("crash", point);
  size_t cow_writes_not_durable = 0;  // on every COW
  for (size_t index = 0; index < world_->snapshot_count(); ++index) {
    cow_writes_not_durable += world_->cow_device(index).NonDurableWrites().size();
  }
  Say(absl::StrFormat("crash %u at t=%uns: %s (%u + %u writes not durable)", crashes_,
                      world_->scheduler().now(), point,
                      world_->origin_device().NonDurableWrites().size(), cow_writes_not_durable));
  if (options_.on_crash_point) {
    world_->UseQuietFaults(true);  // the explorer's scratch simulations own libfiu now
    CrashPointContext context;
    context.crash_point = point;
    context.origin = &world_->origin_device();
    for (size_t index = 0; index < world_->snapshot_count(); ++index) {
      context.cows.push_back(&world_->cow_device(index));
    }
    context.check = [this](const CrashState& state) { return CheckCrashState(state); };
    context.states_recovered = &states_recovered_;
    options_.on_crash_point(context);
    reusable_scratches_.clear();  // they read through to the explorer's crash states
    stop_ = true;
    return;
  }
  world_->PowerCut(crash_prng_);
  buffer_stability_.Forget();  // the writes in flight are gone with the power
  ++generation_;
  user_bios_.clear();
  triggers_.Disarm();
  world_->AbandonTarget();
  if (!options_.export_dir.empty() && !exported_) {
    exported_ = true;
    absl::Status s = world_->ExportDurableImages(options_.export_dir);
    Say(s.ok() ? absl::StrCat("  crash state written to ", options_.export_dir)
               : absl::StrCat("  export failed: ", s.message()));
    if (options_.export_status != nullptr) *options_.export_status = s;
  }
  world_->PowerOn();
  RecoverFromCrash();
}

void Simulation::RecoverFromCrash() {
  // What the crash may have left is settled now: no FLUSH after it can make a lost write durable.
  model_.SettleAtCrash(crashes_);
  for (size_t index = 1; index < world_->snapshot_count(); ++index) {
    if (world_->snapshot_exists(index)) further(index).model.SettleAtCrash(crashes_);
  }
  ForgetFurtherSnapshotsNeverDurable();
  world_->UseQuietFaults(true);
  const TargetKind kind = model_.merged() ? TargetKind::kSnapshotMerge : TargetKind::kSnapshot;
  triggers_.set_checking(true);  // no crash trigger fires during recovery
  absl::Status status = Activate(kind);
  triggers_.set_checking(false);
  if (!status.ok()) {
    ActivationFailed(status, "the snapshot activates from the crashed devices",
                     "Activation after the crash failed, as after a reboot it would.");
    world_->UseQuietFaults(false);
    return;
  }
  verdicts_.Tally(invariant::kActivationSucceeds, true);
  ++recoveries_;
  ++crash_states_checked_;
  CheckImages(/*after_crash=*/true);
  FinishRecovery();
}

void Simulation::FinishRecovery() {
  // A snapshot that came back valid with the right data starts afresh.
  if (verdicts_.findings().empty() && target().valid()) model_.ClearSawInvalid();
  for (size_t index = 1; index < world_->snapshot_count(); ++index) {
    if (verdicts_.findings().empty() && FurtherActive(index) && world_->target(index)->valid()) {
      further(index).model.ClearSawInvalid();
    }
  }
  world_->UseQuietFaults(false);
  Say(absl::StrFormat(
      "  recovered: status %s; %s", target().Status(),
      verdicts_.findings().empty() ? "every invariant holds" : "FINDINGS (see below)"));
}

std::vector<Finding> Simulation::CheckCrashState(const CrashState& state) {
  ++crash_states_checked_;
  for (auto it = reusable_scratches_.begin(); it != reusable_scratches_.end(); ++it) {
    if (!(*it)->SameMetadata(state)) continue;
    std::rotate(reusable_scratches_.begin(), it, it + 1);  // the last used first
    Simulation& reused = *reusable_scratches_.front();
    std::vector<Finding> found = reused.RecheckViews(state);
    verdicts_.MergeCounts(reused.verdicts_.counts());
    return found;
  }
  ++states_recovered_;
  // A scratch simulation with this one's model and scenario, recovering from the given images.
  RunOptions scratch_options;
  scratch_options.replay_prefix = options_.replay_prefix;
  scratch_options.replay_prefix_is_complete = options_.replay_prefix_is_complete;
  scratch_options.check_reads = options_.check_reads;
  scratch_options.reuse_recovery = options_.reuse_recovery;
  std::unique_ptr<Simulation> scratch(
      new Simulation(scenario_, seed_, scratch_options, /*scratch=*/true));
  scratch->model_ = model_;
  scratch->checker_.ShareStampMemoWith(checker_);
  // So findings know whether beyond-contract faults fired.
  scratch->world_->probes().Merge(world_->probes());
  scratch->invalid_seq_ = invalid_seq_;
  scratch->crashes_ = crashes_;
  scratch->last_crash_point_ = last_crash_point_;
  for (size_t index = 1; index < world_->snapshot_count(); ++index) {
    scratch->further(index).model = further(index).model;
    scratch->further(index).checker.ShareStampMemoWith(further(index).checker);
    scratch->further(index).invalid_seq = further(index).invalid_seq;
  }
  // The scratch's devices read through to the state (CrashState says for how long).
  CrashImages images{PageStore::OverlayOn(*state.origin), {}};
  for (const DurableMedium* cow : state.cows) images.cows.push_back(PageStore::OverlayOn(*cow));
  scratch->BuildWorld(std::move(images));
  scratch->world_->CopyWhichSnapshotsExist(*world_);
  if (options_.reuse_recovery && options_.check_reads == CheckReads::kDirect &&
      world_->snapshot_count() == 1) {
    scratch->StartRecordingReads(state);
  }
  scratch->RecoverFromCrash();
  verdicts_.MergeCounts(scratch->verdicts_.counts());
  std::vector<Finding> found = scratch->verdicts_.findings();
  if (scratch->views_checkpoint_ != nullptr && scratch->views_checkpoint_->report) {
    if (reusable_scratches_.size() == kMaxReusableRecoveries) reusable_scratches_.pop_back();
    reusable_scratches_.insert(reusable_scratches_.begin(), std::move(scratch));
  }
  return found;
}

void Simulation::StartRecordingReads(const CrashState& state) {
  SNAPSIM_ASSERT(scratch_ && world_->snapshot_count() == 1 && state.cows.size() == 1);
  SNAPSIM_ASSERT(state.touched != nullptr && state.touched->size() == 2);
  views_checkpoint_ = std::make_unique<ViewsCheckpoint>();
  views_checkpoint_->origin_state = state.origin;
  views_checkpoint_->cow_state = state.cows[0];
  views_checkpoint_->origin_volatile = &(*state.touched)[0];
  views_checkpoint_->cow_volatile = &(*state.touched)[1];
  world_->origin_device().RecordReadsInto(&views_checkpoint_->origin_reads);
  world_->cow_device().RecordReadsInto(&views_checkpoint_->cow_reads);
  world_->origin_device().RecordCompletedWritesInto(&views_checkpoint_->origin_writes);
  world_->cow_device().RecordCompletedWritesInto(&views_checkpoint_->cow_writes);
}

void Simulation::KeepViewsCheckpoint(const InspectReport& report) {
  if (views_checkpoint_ == nullptr) return;
  world_->origin_device().RecordReadsInto(nullptr);
  world_->cow_device().RecordReadsInto(nullptr);
  world_->origin_device().RecordCompletedWritesInto(nullptr);
  world_->cow_device().RecordCompletedWritesInto(nullptr);
  // The views' checks must read straight from the devices (CanReadDirectly) and change nothing
  // but the verdicts, which the checkpoint keeps; what recovery did must depend on the bytes it
  // read alone: nothing in flight (every write it made completed, and is replayed), no merge.
  if (!WorldAllowsDirectReads() || resume_pending_) {
    views_checkpoint_.reset();
    return;
  }
  auto keep = [](const absl::btree_set<sector_t>& sectors, const DurableMedium& state,
                 std::vector<std::pair<sector_t, SectorBytes>>& bytes) {
    for (sector_t sector : sectors) {
      bytes.emplace_back(sector, SectorBytes{});
      state.Read(sector, 1, bytes.back().second.data());
    }
  };
  keep(views_checkpoint_->origin_reads, *views_checkpoint_->origin_state,
       views_checkpoint_->origin_metadata);
  keep(views_checkpoint_->cow_reads, *views_checkpoint_->cow_state,
       views_checkpoint_->cow_metadata);
  views_checkpoint_->report = report;
  views_checkpoint_->model_seq = model_.seq();
  views_checkpoint_->saw_invalid = model_.saw_invalid();
  views_checkpoint_->verdicts = verdicts_;
  checker_.KeepViewsAcrossStates();
}

bool Simulation::ReadIsStable(View view, sector_t sector, uint32_t count) const {
  if (views_checkpoint_ == nullptr || !views_checkpoint_->report) return false;
  if (!CanReadDirectly(view, 0, sector, count)) return false;
  const std::vector<sector_t>* volatile_sectors = views_checkpoint_->origin_volatile;
  sector_t at = sector;
  if (view == View::kSnapshot) {  // as ReadDirectly maps it
    const SnapshotTarget& snapshot = *world_->target();
    if (!snapshot.valid()) return true;  // fails with EIO in every state
    const uint32_t c = snapshot.chunk_size();
    if (std::optional<chunk_t> cow_chunk = snapshot.CompletedException(sector / c)) {
      volatile_sectors = views_checkpoint_->cow_volatile;
      at = *cow_chunk * c;
    }
  }
  auto it = std::lower_bound(volatile_sectors->begin(), volatile_sectors->end(), at);
  return it == volatile_sectors->end() || *it >= at + count;
}

bool Simulation::SameMetadata(const CrashState& state) const {
  SNAPSIM_ASSERT(views_checkpoint_ != nullptr && state.cows.size() == 1);
  SectorBytes now;
  auto same = [&](const std::vector<std::pair<sector_t, SectorBytes>>& metadata,
                  const DurableMedium& medium) {
    for (const auto& [sector, then] : metadata) {
      medium.Read(sector, 1, now.data());
      if (now != then) return false;
    }
    return true;
  };
  return same(views_checkpoint_->cow_metadata, *state.cows[0]) &&
         same(views_checkpoint_->origin_metadata, *state.origin);
}

std::vector<Finding> Simulation::RecheckViews(const CrashState& state) {
  SNAPSIM_ASSERT(views_checkpoint_ != nullptr && views_checkpoint_->report);
  // The devices read through to the state's media (CrashState): they hold this state now, under
  // what the recovery wrote.
  SNAPSIM_ASSERT(state.origin == views_checkpoint_->origin_state &&
                 state.cows[0] == views_checkpoint_->cow_state);
  if (!views_checkpoint_->origin_writes.empty()) {
    world_->origin_device().ReplayOverBase(views_checkpoint_->origin_writes);
  }
  if (!views_checkpoint_->cow_writes.empty()) {
    world_->cow_device().ReplayOverBase(views_checkpoint_->cow_writes);
  }
  // The views' checks left the model as the checkpoint found it (model_ends_with_check); only
  // the end of the last recovery may have cleared the invalid mark.
  SNAPSIM_ASSERT(model_.seq() == views_checkpoint_->model_seq);
  if (views_checkpoint_->saw_invalid) model_.SawInvalid();
  verdicts_.RestoreFrom(*views_checkpoint_->verdicts);
  world_->UseQuietFaults(true);
  triggers_.set_checking(true);
  const uint64_t events = world_->scheduler().events_run();
  CheckViewsOfEverySnapshot(*views_checkpoint_->report, /*after_crash=*/true);
  // Direct reads run no event: the world is as the checkpoint left it for the next state.
  SNAPSIM_ASSERT(world_->scheduler().events_run() == events);
  SNAPSIM_ASSERT(model_.seq() == views_checkpoint_->model_seq);
  triggers_.set_checking(false);
  FinishRecovery();
  return verdicts_.findings();
}

void Simulation::ForgetFurtherSnapshotsNeverDurable() {
  for (size_t index = 1; index < world_->snapshot_count(); ++index) {
    if (!world_->snapshot_exists(index)) continue;
    uint8_t header[kSectorSize];
    world_->cow_device(index).ReadCurrent(0, 1, header);
    if (DecodeHeader(header).magic != 0) continue;
    // Its header was still in a write cache: the store sets it up anew, a snapshot of the
    // origin as the crash left it (lvm2 committed the snapshot; the COW says it is new).
    StartFurtherModel(index);
    Say(absl::StrCat("  snapshot ", index, ": its header never became durable; made anew"));
  }
}

CheckSettings Simulation::SettingsOf(size_t index) {
  CheckSettings settings = Settings();
  if (index == 0) return settings;
  settings.chunk_sectors = world_->target(index)->chunk_size();
  settings.check_origin_view = false;
  return settings;
}

CheckSettings Simulation::Settings() const {
  CheckSettings settings;
  settings.chunk_sectors = chunk_sectors_;
  settings.origin_sectors = scenario_.geometry.origin_sectors;
  settings.eio_faults_on = world_->EioFaultsOn();
  settings.last_crash_point = last_crash_point_;
  settings.model_ends_with_check = scratch_;
  return settings;
}

void Simulation::CheckImages(bool after_crash) {
  // A check observes; it injects nothing (latent errors already on the medium still show).
  const bool was_quiet = world_->quiet();
  world_->UseQuietFaults(true);
  triggers_.set_checking(true);
  const CheckSettings settings = Settings();
  InspectReport report = InspectCow(world_->cow());
  checker_.CheckTable(report, after_crash, target().valid(), settings);
  if (after_crash) KeepViewsCheckpoint(report);
  if (resume_pending_) {
    resume_pending_ = false;
    target().Resume();
  }
  CheckViewsOfEverySnapshot(report, after_crash);
  triggers_.set_checking(false);
  world_->UseQuietFaults(was_quiet);
}

void Simulation::CheckViewsOfEverySnapshot(const InspectReport& report, bool after_crash) {
  checker_.CheckViews(*this, report, after_crash, Settings());
  for (size_t index = 1; index < world_->snapshot_count() && !verdicts_.stop_requested(); ++index) {
    if (!FurtherActive(index)) continue;
    const CheckSettings further_settings = SettingsOf(index);
    const InspectReport further_report = InspectCowAsItIsNow(world_->cow_device(index));
    FurtherSnapshotReads reads(*this, index);
    WithFurther(index, [&](FurtherCheck& f) {
      f.checker.CheckTable(further_report, after_crash, world_->target(index)->valid(),
                           further_settings);
      f.checker.CheckViews(reads, further_report, after_crash, further_settings);
    });
  }
}

int Simulation::ReadThroughTarget(View view, sector_t sector, uint32_t count, uint8_t* out) {
  return ReadThrough(view, 0, sector, count, out);
}

int Simulation::ReadThrough(View view, size_t index, sector_t sector, uint32_t count,
                            uint8_t* out) {
  if (CanReadDirectly(view, index, sector, count)) {
    return ReadDirectly(view, index, sector, count, out);
  }
  int error = 0;
  bool done = false;
  Bio bio;
  bio.op = BioOp::kRead;
  bio.sector = sector;
  bio.sector_count = count;
  bio.data = out;
  bio.end_io = [&done, &error](int e) {
    error = e;
    done = true;
  };
  if (view == View::kOrigin) {
    world_->SubmitOrigin(std::move(bio));
  } else {
    world_->target(index)->SubmitSnapshot(std::move(bio));
  }
  WaitFor("check read", [&done] { return done; });
  return error;
}

bool Simulation::CanReadDirectly(View view, size_t index, sector_t sector, uint32_t count) const {
  // A kept checkpoint found the world so (KeepViewsCheckpoint), and nothing changes it since.
  const bool world_allows = views_checkpoint_ != nullptr && views_checkpoint_->report;
  if (!world_allows && !WorldAllowsDirectReads()) return false;
  if (view == View::kOrigin) return true;
  // One piece of one chunk, as the target would map it (a COW whose header has another chunk
  // size than the scenario's splits the read: through the target then).
  const uint32_t c = world_->target(index)->chunk_size();
  return sector % c == 0 && count <= c;
}

bool Simulation::WorldAllowsDirectReads() const {
  if (!scratch_ || options_.check_reads != CheckReads::kDirect || !world_->quiet()) return false;
  if (world_->TargetsInFlight() != 0 || world_->origin_device().in_flight() != 0) return false;
  for (size_t i = 0; i < world_->snapshot_count(); ++i) {
    const SnapshotTarget* t = world_->target(i);
    if (t != nullptr && t->kind() != TargetKind::kSnapshot) return false;
    if (world_->cow_device(i).in_flight() != 0) return false;
  }
  return true;
}

int Simulation::ReadDirectly(View view, size_t index, sector_t sector, uint32_t count,
                             uint8_t* out) {
  const SimDevice* device = &world_->origin_device();
  sector_t at = sector;
  if (view == View::kSnapshot) {
    const SnapshotTarget& snapshot = *world_->target(index);
    if (!snapshot.valid()) return -EIO;  // snapshot_map fails every bio of an invalid snapshot
    const uint32_t c = snapshot.chunk_size();
    SNAPSIM_ASSERT(sector % c == 0 && count <= c);  // CanReadDirectly
    if (std::optional<chunk_t> cow_chunk = snapshot.CompletedException(sector / c)) {
      device = &world_->cow_device(index);
      at = *cow_chunk * c;
    }
  }
  return device->ReadAsQuietRead(at, count, out);
}

void Simulation::ReadOriginMedium(sector_t sector, uint8_t* out) {
  world_->origin_device().ReadCurrent(sector, 1, out);
}

bool Simulation::TargetValid() const { return world_->target()->valid(); }

}  // namespace snapsim
