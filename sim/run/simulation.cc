// SPDX-License-Identifier: GPL-2.0-only
#include "sim/run/simulation.h"

#include <algorithm>
#include <utility>

#include "absl/container/btree_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/format.h"
#include "sim/check/invariants.h"
#include "sim/workload/stamp.h"
#include "util/assert.h"

namespace snapsim {

Simulation::Simulation(const Scenario& scenario, uint64_t seed, const RunOptions& options)
    : Simulation(scenario, seed, options, /*scratch=*/false) {}

Simulation::Simulation(const Scenario& scenario, uint64_t seed, const RunOptions& options,
                       bool scratch)
    : scenario_(ScenarioForSeed(scenario, seed)),
      seed_(seed),
      options_(options),
      scratch_(scratch),
      crash_prng_(Prng(seed).Split("crash")),
      verdicts_([this](Finding& f) { AnnounceFinding(f); }),
      checker_(model_, verdicts_),
      area_learner_(model_),
      buffer_stability_(verdicts_),
      world_(std::make_unique<World>(scenario_, EffectiveFaults(scenario, seed),
                                     Prng(seed).Split("devices"), Prng(seed).Split("fiu"),
                                     options.trace_out, scratch)),
      triggers_(world_->scheduler(), scratch ? 0 : options.crash_at_completion) {
  chunk_sectors_ = EffectiveChunkSectors(scenario.geometry);
  for (size_t i = 0; i < scenario_.further_snapshots.size(); ++i) {
    further_.push_back(std::make_unique<FurtherCheck>(verdicts_));
    triggers_.set_chunk_sectors(EffectiveChunkSectors(scenario_.further_snapshots[i]),
                                static_cast<uint32_t>(i + 1));
  }
}

Simulation::~Simulation() { world_.reset(); }

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

void Simulation::AnnounceFinding(Finding& f) {
  f.contract = BeyondContractFaultFired(world_->probes()) ? Contract::kBeyond : Contract::kWithin;
  f.scenario = scenario_.name;
  f.seed = seed_;
  f.crash_index = static_cast<uint32_t>(crashes_);
  f.crash_event = world_->scheduler().events_run();
  f.crash_point = last_crash_point_;
  f.replay_command = ReplayCommand();
  world_->RecordEvent("finding", f.invariant);
  Say(absl::StrFormat("  FINDING %s%s: expected %s; got %s", f.invariant,
                      OnSnapshot(f, scenario_.SnapshotCount()), f.expected, f.actual));
}

// ---------------------------------------------------------------------------------------------
// Activation

void Simulation::BuildWorld(std::optional<CrashImages> images) {
  // The model learns committed areas before a crash trigger may fire on the same completion.
  buffer_stability_.Forget();
  std::vector<std::vector<IoObserver*>> further_observers;
  for (const std::unique_ptr<FurtherCheck>& f : further_) {
    further_observers.push_back({&f->area_learner, &buffer_stability_, &triggers_});
  }
  const std::vector<IoObserver*> observers = {&area_learner_, &buffer_stability_, &triggers_};
  if (!images) {
    world_->BuildDevices(std::nullopt, std::nullopt, observers, {}, further_observers);
    return;
  }
  SNAPSIM_ASSERT(images->cows.size() == scenario_.SnapshotCount());
  std::vector<PageStore> further_cows;
  for (size_t i = 1; i < images->cows.size(); ++i)
    further_cows.push_back(std::move(images->cows[i]));
  world_->BuildDevices(std::move(images->origin), std::move(images->cows[0]), observers,
                       std::move(further_cows), further_observers);
}

absl::Status Simulation::Activate(TargetKind kind) {
  CheckNewInvalidations();  // the last activation's, judged against its own baseline
  absl::Status status = world_->Activate(kind);
  if (!status.ok()) return status;
  chunk_sectors_ = target().chunk_size();
  area_learner_.set_chunk_sectors(chunk_sectors_);
  triggers_.set_chunk_sectors(chunk_sectors_);
  triggers_.set_target_kind(kind);
  invalid_seq_.reset();  // this activation's validity is observed afresh
  error_faults_at_activation_ = ErrorFaultsFired(world_->probes());
  for (size_t index = 1; index < world_->snapshot_count(); ++index) {
    if (!FurtherActive(index)) continue;
    FurtherCheck& f = further(index);
    f.area_learner.set_chunk_sectors(world_->target(index)->chunk_size());
    f.invalid_seq.reset();
    f.error_faults_at_activation = error_faults_at_activation_;
  }
  // While checking, the merge resumes only after the table was read (CheckImages), so the
  // table the checks compare is the one the crash left.
  if (kind == TargetKind::kSnapshotMerge) {
    if (triggers_.checking()) {
      resume_pending_ = true;
    } else {
      target().Resume();
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
  const bool medium_fails = world_->CowMediumFails();
  verdicts_.Tally(invariant::kActivationSucceeds, medium_fails);
  if (medium_fails) {
    Say(absl::StrCat("  activation refused on a failing COW medium (", status.message(),
                     "): the run ends here"));
    return;
  }
  verdicts_.AddFinding(invariant::kActivationSucceeds, std::move(expected),
                       std::string(status.message()), std::move(detail));
}

absl::Status Simulation::ActivateRetryingFaults(TargetKind kind) {
  absl::Status s = Activate(kind);
  if (!s.ok() && world_->EioFaultsOn()) {
    // An injected I/O error or allocation failure may fail activation, as it would on a real
    // machine; the administrator retries once the device behaves.
    Say(absl::StrCat("  activation failed under injected faults (", s.message(),
                     "); retrying without faults"));
    world_->UseQuietFaults(true);
    s = Activate(kind);
    world_->UseQuietFaults(false);
  }
  return s;
}

void Simulation::ObserveValidity() {
  CheckNewInvalidations();
  const SnapshotTarget* target = world_->target();
  if (target != nullptr && !target->valid() && !invalid_seq_) {
    invalid_seq_ = model_.NextSeq();
    model_.SawInvalid();
    Say(absl::StrCat("  snapshot invalidated (status ", target->Status(), ")"));
  }
  for (size_t index = 1; index < world_->snapshot_count(); ++index) {
    if (!FurtherActive(index)) continue;
    const SnapshotTarget* further_target = world_->target(index);
    FurtherCheck& f = further(index);
    if (further_target->valid() || f.invalid_seq) continue;
    f.model.AdoptSeq(model_.seq());
    f.invalid_seq = f.model.NextSeq();
    model_.AdoptSeq(f.model.seq());
    f.model.SawInvalid();
    Say(absl::StrCat("  snapshot ", index, " invalidated (status ", further_target->Status(), ")"));
  }
}

void Simulation::CheckNewInvalidations() {
  for (size_t index = 0; index < world_->snapshot_count(); ++index) {
    CheckNewInvalidationsOf(index);
  }
}

void Simulation::CheckNewInvalidationsOf(size_t index) {
  const std::vector<CollectingLog::Entry>& lines = world_->kernel_log(index).entries();
  size_t& seen = index == 0 ? kernel_log_seen_ : further(index).kernel_log_seen;
  for (; seen < lines.size(); ++seen) {
    const std::optional<InvalidationReason> reason = InvalidationReasonOf(lines[seen].message);
    if (!reason) continue;
    const Model& model = index == 0 ? model_ : further(index).model;
    // A further snapshot's messages can only come from its target, which knows its chunk size.
    const uint32_t chunk_sectors =
        index == 0 ? chunk_sectors_ : world_->target(index)->chunk_size();
    absl::btree_set<chunk_t> chunks;
    for (sector_t sector : model.touched()) chunks.insert(sector / chunk_sectors);
    const chunk_t cow_chunks = world_->cow_device(index).size_sectors() / chunk_sectors;
    InvalidationEvidence evidence;
    evidence.distinct_chunks_written = chunks.size();
    evidence.cow_data_chunks = DataChunksBetween(ExceptionsPerArea(chunk_sectors), 0, cow_chunks);
    evidence.space_rule_applies = !model.merged();
    evidence.error_faults_since_activation =
        ErrorFaultsFired(world_->probes()) -
        (index == 0 ? error_faults_at_activation_ : further(index).error_faults_at_activation);
    verdicts_.set_snapshot(static_cast<uint32_t>(index));
    CheckInvalidationCause(*reason, evidence, verdicts_);
    verdicts_.set_snapshot(0);
  }
}

// ---------------------------------------------------------------------------------------------
// Several snapshots

bool Simulation::FurtherActive(size_t index) {
  return world_->snapshot_exists(index) && world_->target(index) != nullptr;
}

void Simulation::WithFurther(size_t index, absl::FunctionRef<void(FurtherCheck&)> check) {
  FurtherCheck& f = further(index);
  f.model.AdoptSeq(model_.seq());
  verdicts_.set_snapshot(static_cast<uint32_t>(index));
  check(f);
  verdicts_.set_snapshot(0);
  model_.AdoptSeq(f.model.seq());
}

void Simulation::StartFurtherModel(size_t index) {
  Model& model = further(index).model;
  model = Model();
  model.AdoptSeq(model_.seq());
  // The snapshot holds what the origin holds now; once merging, that is the merging image.
  model.StartSnapshotOf(model_.origin());
}

void Simulation::MakeFurtherSnapshot(uint32_t index) {
  if (world_->snapshot_exists(index) || world_->origin() == nullptr) return;
  if (model_.merged()) {
    Say(absl::StrCat("  snapshot ", index,
                     " not made: lvcreate refuses a snapshot of an origin that is merging"));
    return;
  }
  Drain("snapshot create");  // the origin is suspended to load the table: it must be idle
  StartFurtherModel(index);
  FurtherCheck& f = further(index);
  f.invalid_seq.reset();
  f.kernel_log_seen = world_->kernel_log(index).entries().size();
  f.error_faults_at_activation = ErrorFaultsFired(world_->probes());
  if (absl::Status s = world_->MakeSnapshot(index); !s.ok()) {
    // lvcreate failed (the COW could not be set up); the snapshot does not exist.
    Say(absl::StrCat("  snapshot ", index, " not made: ", s.message()));
    return;
  }
  f.area_learner.set_chunk_sectors(world_->target(index)->chunk_size());
  Say(absl::StrCat("  snapshot ", index, " made"));
}

void Simulation::RemoveFurtherSnapshot(uint32_t index) {
  if (!FurtherActive(index)) return;
  Drain("snapshot remove");
  CheckNewInvalidationsOf(index);
  world_->RemoveSnapshot(index);
  further(index).model = Model();
  Say(absl::StrCat("  snapshot ", index, " removed"));
}

// ---------------------------------------------------------------------------------------------
// Steps

void Simulation::WaitFor(const char* why, absl::FunctionRef<bool()> done) {
  if (done()) return;
  if (!world_->scheduler().RunUntil(done, kMaxDrainEvents)) {
    throw SimulationStuck(absl::StrCat(why, ": ", user_bios_.size(), " bios and ",
                                       world_->TargetsInFlight(),
                                       " target operations never completed"));
  }
}

void Simulation::Drain(const char* why) {
  WaitFor(why, [this] { return user_bios_.empty() && world_->TargetsInFlight() == 0; });
}

void Simulation::WaitForSlot() {
  const uint32_t limit = scenario_.workload.max_in_flight;
  WaitFor("waiting for a free bio slot", [this, limit] { return user_bios_.size() < limit; });
}

void Simulation::ExecuteStep(const Step& step) {
  if (step.delay_ns > 0) {
    bool slept = false;
    world_->scheduler().Schedule(step.delay_ns, [&slept] { slept = true; });
    WaitFor("think time", [&slept] { return slept; });
  }
  switch (step.kind) {
    case StepKind::kOriginWrite:
    case StepKind::kOriginRead:
    case StepKind::kSnapshotWrite:
    case StepKind::kSnapshotRead:
      // I/O to a further snapshot that is not made yet or removed (a minimized case may hold
      // one): there is no such device to submit to.
      if (step.snapshot != 0 && !FurtherActive(step.snapshot)) break;
      WaitForSlot();
      SubmitUserIo(step);
      break;
    case StepKind::kOriginFlush:
      WaitForSlot();
      SubmitUserFlush(View::kOrigin, 0);
      break;
    case StepKind::kSnapshotFlush:
      if (step.snapshot != 0 && !FurtherActive(step.snapshot)) break;  // no such device now
      WaitForSlot();
      SubmitUserFlush(View::kSnapshot, step.snapshot);
      break;
    case StepKind::kDrain:
      Drain("drain");
      if (model_.merged() && !target().merging() && !target().merge_failed()) {
        checker_.CheckMergedOrigin(*this, Settings());
      }
      CheckImages(/*after_crash=*/false);
      break;
    case StepKind::kReload: {
      Drain("reload");
      world_->Deactivate();
      absl::Status s = ActivateRetryingFaults(world_->target_kind());
      if (!s.ok()) {
        ActivationFailed(s, "the snapshot activates after a clean reload",
                         "A clean deactivate/reactivate failed.");
        return;
      }
      verdicts_.Tally(invariant::kActivationSucceeds, true);
      CheckImages(/*after_crash=*/false);
      break;
    }
    case StepKind::kStartMerge:
      if (model_.merged() || !target().valid()) break;  // one merge; an invalid one cannot merge
      Drain("merge start");
      // The drain may end in an invalidation: lvconvert --merge refuses an invalid snapshot.
      if (!target().valid()) break;
      world_->Deactivate();
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
      target().Suspend();
      Drain("merge interrupt");
      world_->Deactivate();
      if (absl::Status s = ActivateRetryingFaults(TargetKind::kSnapshotMerge); !s.ok()) {
        ActivationFailed(s, "the merge resumes after an interruption",
                         "Reloading the snapshot-merge table failed.");
        return;
      }
      break;
    case StepKind::kCrash:
      ArmCrash(step);
      WaitForArmedCrash(step);
      break;
    case StepKind::kMakeSnapshot:
      MakeFurtherSnapshot(step.snapshot);
      break;
    case StepKind::kRemoveSnapshot:
      RemoveFurtherSnapshot(step.snapshot);
      break;
  }
  ObserveValidity();
}

void Simulation::SubmitUserIo(const Step& step) {
  const bool origin = step.kind == StepKind::kOriginWrite || step.kind == StepKind::kOriginRead;
  const bool write = step.kind == StepKind::kOriginWrite || step.kind == StepKind::kSnapshotWrite;
  auto user = std::make_unique<UserBio>();
  user->view = origin ? View::kOrigin : View::kSnapshot;
  user->snapshot = origin ? 0 : step.snapshot;
  user->op = write ? BioOp::kWrite : BioOp::kRead;
  user->sector = step.sector;
  user->count = step.count;
  user->buffer.resize(size_t{step.count} << kSectorShift);
  user->submit_seq = model_.NextSeq();
  if (write) {
    user->write_id = model_.NextWriteId();  // unique across every snapshot's model
    const uint32_t device = origin ? kStampDeviceOrigin : kStampDeviceSnapshot;
    for (uint32_t i = 0; i < step.count; ++i) {
      FillStampedSector(Stamp{device, step.sector + i, user->write_id},
                        user->buffer.data() + (size_t{i} << kSectorShift));
    }
    Model& model = user->snapshot == 0 ? model_ : further(user->snapshot).model;
    model.AdoptSeq(model_.seq());
    model.view(user->view)
        .WriteSubmitted(step.sector, step.count, device, user->write_id, user->submit_seq);
    model.Touch(step.sector, step.count);
    // What an origin write changes, every further snapshot must have copied first.
    if (origin) {
      for (std::unique_ptr<FurtherCheck>& f : further_) f->model.Touch(step.sector, step.count);
    }
  }
  Bio bio;
  bio.op = user->op;
  bio.sector = step.sector;
  bio.sector_count = step.count;
  bio.data = user->buffer.data();
  SubmitUser(std::move(user), std::move(bio));
}

void Simulation::SubmitUserFlush(View view, uint32_t snapshot) {
  auto user = std::make_unique<UserBio>();
  user->view = view;
  user->snapshot = snapshot;
  user->op = BioOp::kWrite;
  user->flush = true;
  user->submit_seq = model_.NextSeq();
  Bio bio;
  bio.op = BioOp::kWrite;
  bio.preflush = true;
  SubmitUser(std::move(user), std::move(bio));
}

void Simulation::SubmitUser(std::unique_ptr<UserBio> user, Bio bio) {
  const uint64_t id = next_user_bio_++;
  const uint64_t generation = generation_;
  const View view = user->view;
  const uint32_t snapshot = user->snapshot;
  bio.end_io = [this, id, generation](int error) {
    if (generation == generation_) EndUserBio(id, error);
  };
  user_bios_.emplace(id, std::move(user));
  if (view == View::kOrigin) {
    world_->SubmitOrigin(std::move(bio));
  } else {
    world_->target(snapshot)->SubmitSnapshot(std::move(bio));
  }
}

void Simulation::EndUserBio(uint64_t id, int error) {
  auto it = user_bios_.find(id);
  SNAPSIM_ASSERT(it != user_bios_.end() && "a bio ended twice");
  std::unique_ptr<UserBio> user = std::move(it->second);
  user_bios_.erase(it);
  const uint64_t seq = model_.NextSeq();
  ObserveValidity();
  if (user->snapshot != 0) {
    EndFurtherSnapshotBio(*user, error, seq);
    return;
  }
  ViewModel& view = model_.view(user->view);
  if (user->flush) {
    // While merging, where a FLUSH goes depends on the chunk; be conservative and learn nothing.
    if (error != 0 || model_.merged()) return;
    const uint64_t oldest_read = OldestReadInFlight();
    view.FlushCompleted(user->submit_seq, oldest_read);
    // An origin FLUSH makes durable the origin writes a further snapshot's view took over.
    if (user->view == View::kOrigin) {
      for (std::unique_ptr<FurtherCheck>& f : further_) {
        f->model.snapshot().FlushCompleted(user->submit_seq, oldest_read, kStampDeviceOrigin);
      }
    }
    return;
  }
  if (user->op == BioOp::kWrite) {
    if (error == 0) view.WriteAcked(user->sector, user->count, user->write_id, seq);
    if (error == 0 && user->view == View::kOrigin && !model_.merged() && TargetValid()) {
      checker_.OriginWriteAcknowledged(user->sector, user->count, Settings());
    }
    if (error == 0 && user->view == View::kOrigin && !model_.merged()) {
      for (size_t index = 1; index < world_->snapshot_count(); ++index) {
        if (!FurtherActive(index) || !world_->target(index)->valid()) continue;
        const CheckSettings settings = SettingsOf(index);
        WithFurther(index, [&](FurtherCheck& f) {
          f.checker.OriginWriteAcknowledged(user->sector, user->count, settings);
        });
      }
    }
    checker_.UserWriteEnded(user->view, user->submit_seq, error, invalid_seq_);
    return;
  }
  checker_.UserReadEnded(user->view, user->sector, user->count, user->buffer.data(),
                         user->submit_seq, seq, error, invalid_seq_, Settings());
}

void Simulation::EndFurtherSnapshotBio(const UserBio& user, int error, uint64_t seq) {
  const size_t index = user.snapshot;
  // A removal drains first and a crash forgets every bio: the snapshot is still there.
  SNAPSIM_ASSERT(FurtherActive(index) && "a further snapshot's bio outlived its snapshot");
  const CheckSettings settings = SettingsOf(index);
  WithFurther(index, [&](FurtherCheck& f) {
    ViewModel& view = f.model.snapshot();
    if (user.flush) {
      // A snapshot's FLUSH goes to its COW alone: it makes the snapshot's own writes durable,
      // not the origin writes its view took over when it was made (still on the origin's
      // cache until an origin FLUSH).
      if (error == 0) {
        view.FlushCompleted(user.submit_seq, OldestReadInFlight(), kStampDeviceSnapshot);
      }
      return;
    }
    if (user.op == BioOp::kWrite) {
      if (error == 0) view.WriteAcked(user.sector, user.count, user.write_id, seq);
      f.checker.UserWriteEnded(View::kSnapshot, user.submit_seq, error, f.invalid_seq);
      return;
    }
    f.checker.UserReadEnded(View::kSnapshot, user.sector, user.count, user.buffer.data(),
                            user.submit_seq, seq, error, f.invalid_seq, settings);
  });
}

uint64_t Simulation::OldestReadInFlight() const {
  uint64_t oldest = kNeverAcked;
  for (const auto& [id, other] : user_bios_) {
    if (other->op == BioOp::kRead) oldest = std::min(oldest, other->submit_seq);
  }
  return oldest;
}

// ---------------------------------------------------------------------------------------------
// The run

void Simulation::Guarded(absl::FunctionRef<void()> action) {
  // SimulatedCrash, SimulationStuck and AssertionFailure are caught here and only here
  // (crash_triggers.h). The recovery after a crash runs outside the first handler, so what it
  // throws is caught too; it cannot crash again (no trigger fires while recovering).
  std::optional<std::string> crash_point;
  try {
    action();
  } catch (const SimulatedCrash& crash) {
    crash_point = crash.what();
  } catch (const SimulationStuck& stuck) {
    LivenessFailed(stuck);
  } catch (const AssertionFailure& failure) {
    AssertionFailedInRun(failure);
  }
  if (!crash_point) return;
  try {
    HandleCrash(*crash_point);
  } catch (const SimulationStuck& stuck) {
    LivenessFailed(stuck);
  } catch (const AssertionFailure& failure) {
    AssertionFailedInRun(failure);
  }
}

void Simulation::LivenessFailed(const SimulationStuck& stuck) {
  verdicts_.Tally(invariant::kLiveness, false);
  verdicts_.AddFinding(invariant::kLiveness, "every bio completes", stuck.what(),
                       "The world went quiet with bios still outstanding.");
}

void Simulation::AssertionFailedInRun(const AssertionFailure& failure) {
  verdicts_.Tally(invariant::kAssertionsHold, false);
  verdicts_.AddFinding(
      invariant::kAssertionsHold, "no assertion fires",
      absl::StrCat(failure.Location(), ": Assertion `", failure.condition(), "' failed"),
      absl::StrCat("SNAPSIM_ASSERT failed in ", failure.function(), " (", failure.Location(),
                   "): a promise the code makes to itself is broken. The run stopped there."));
  stop_ = true;
}

RunResult Simulation::Run(const std::vector<Step>& steps) {
  RunResult result;
  result.scenario = scenario_.name;
  result.seed = seed_;
  result.snapshots = static_cast<uint32_t>(scenario_.SnapshotCount());
  result.replay_command = ReplayCommand();
  Say(absl::StrFormat("snapsim run: scenario %s, seed %u, %u steps", scenario_.name, seed_,
                      steps.size()));
  BuildWorld(std::nullopt);
  world_->UseQuietFaults(false);
  absl::Status activated = absl::OkStatus();
  // A crash step that opens the run is armed before the snapshot's first activation, so it can
  // land inside the setup writes; it is that step, and the steps go on after it.
  const bool crash_in_setup = !steps.empty() && steps.front().kind == StepKind::kCrash;
  // Where the scenario fixes the chunk size, the setup's area writes are known before activation.
  triggers_.set_chunk_sectors(scenario_.geometry.chunk_sectors);
  Guarded([&] {
    if (crash_in_setup) ArmCrash(steps.front());
    activated = ActivateRetryingFaults(TargetKind::kSnapshot);
    if (crash_in_setup && activated.ok()) WaitForArmedCrash(steps.front());
  });
  if (!activated.ok()) {
    result.outcome = absl::StrCat("error: the snapshot does not activate: ", activated.message());
    return result;
  }
  for (size_t i = crash_in_setup ? 1 : 0; i < steps.size() && !stopped(); ++i) {
    Guarded([&] { ExecuteStep(steps[i]); });
  }
  if (!stopped()) {
    Guarded([&] {
      Drain("end of run");
      verdicts_.Tally(invariant::kLiveness, true);
      CheckImages(/*after_crash=*/false);
    });
  }
  result.trace_hash = world_->trace().hash();
  result.events = world_->scheduler().events_run();
  result.ios = triggers_.completions();
  result.crashes = crashes_;
  result.crash_states_checked = crash_states_checked_;
  result.recoveries = recoveries_;
  result.sim_time_ns = world_->scheduler().now();
  for (size_t i = 0; i < kProbeCount; ++i) {
    const Probe probe = static_cast<Probe>(i);
    result.probes[std::string(ProbeName(probe))] = world_->probes().count(probe);
  }
  result.verdicts = verdicts_.counts();
  result.findings = verdicts_.findings();
  result.outcome = verdicts_.findings().empty() ? "clean" : "findings";
  return result;
}

}  // namespace snapsim
