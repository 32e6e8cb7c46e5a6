// SPDX-License-Identifier: GPL-2.0-only
//
// Simulation: one run. It owns the world (sim/run/world.h), the reference model and the checker
// (sim/check/), the crash triggers, and executes the steps. sim/run/run.h is its public face;
// the exhaustive explorer uses CrashPointContext to check crash states one by one.
//
// Life of a run: activate a new snapshot, execute steps; a kCrash step arms a crash trigger and
// runs the world until it fires; the power cut draws a fate for every non-durable write, the
// target is abandoned with its I/O in flight, the devices restart from their durable images, the
// snapshot is re-activated from disk (and its merge resumed), and every invariant is checked
// against the model. Then the run goes on. The crash contract is in sim/run/crash_triggers.h.
//
// Files: simulation.cc (the run loop, activation, the steps and user bios), simulation_crash.cc
// (crash, recovery, the checks after each).
//
// Invariant: the checks see the store only through the target's public operations, the COW
// image decoded by core/inspect, and the I/O stream; never the store's private state.
#ifndef SNAPSIM_SIM_RUN_SIMULATION_H_
#define SNAPSIM_SIM_RUN_SIMULATION_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/btree_set.h"
#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "sim/check/area_writes.h"
#include "sim/check/buffer_stability.h"
#include "sim/check/checker.h"
#include "sim/check/finding.h"
#include "sim/check/invalidation_cause.h"
#include "sim/check/model.h"
#include "sim/check/verdicts.h"
#include "sim/run/crash_triggers.h"
#include "sim/run/run.h"
#include "sim/run/world.h"
#include "sim/workload/scenario.h"
#include "sim/workload/workload.h"
#include "util/assert.h"

namespace snapsim {

// One crash state: the image of the origin and of every COW (cows[0] the first snapshot's,
// cows[i] further snapshot i's, whether or not that snapshot exists).
struct CrashImages {
  PageStore origin;
  std::vector<PageStore> cows;
};

// One crash state as the explorer builds it (SimDevice::RebuildCrashImage): what the media hold,
// read through their faults (DurableMedium::Read), as CrashImages holds them flattened. The media
// stay at their addresses while the crash point's states are checked, and from one state to the
// next change only on the sectors a non-durable write of the point touches: a scratch check kept
// for reuse reads through to them.
struct CrashState {
  const DurableMedium* origin = nullptr;
  std::vector<const DurableMedium*> cows;  // as CrashImages::cows
  // Per device, the origin's then each COW's: the sectors a non-durable write of the point lands
  // on, in increasing order (the only ones where two of its states differ).
  const std::vector<std::vector<sector_t>>* touched = nullptr;
};

// A crash point of the exhaustive explorer: the devices just before the crash (their
// non-durable writes are the choices) and a function that recovers from one crash state and
// checks every invariant, returning the findings.
struct CrashPointContext {
  std::string crash_point;
  const SimDevice* origin = nullptr;
  std::vector<const SimDevice*> cows;  // as CrashImages::cows
  std::function<std::vector<Finding>(const CrashState& state)> check;
  // How many of the states `check` was given it recovered from scratch; the others reused an
  // earlier state's recovery (RunOptions::reuse_recovery).
  const uint64_t* states_recovered = nullptr;
};

class Simulation : private CheckedWorld {
 public:
  // Events a drain may run before the world counts as stuck (liveness).
  static constexpr uint64_t kMaxDrainEvents = uint64_t{1} << 26;
  // Recovered scratch checks a crash point keeps for reuse (RunOptions::reuse_recovery): the
  // states of a point cycle through a few metadata choices.
  static constexpr size_t kMaxReusableRecoveries = 8;

  Simulation(const Scenario& scenario, uint64_t seed, const RunOptions& options);
  ~Simulation() override;
  Simulation(const Simulation&) = delete;
  Simulation& operator=(const Simulation&) = delete;

  RunResult Run(const std::vector<Step>& steps);

 private:
  // A bio the workload submitted, until it ends.
  struct UserBio {
    View view = View::kOrigin;
    uint32_t snapshot = 0;  // View::kSnapshot: whose (0 the first, i further snapshot i)
    BioOp op = BioOp::kRead;
    bool flush = false;
    sector_t sector = 0;
    uint32_t count = 0;
    uint64_t write_id = 0;
    uint64_t submit_seq = 0;
    std::vector<uint8_t> buffer;
  };

  // Several snapshots: what the run keeps of further snapshot i >= 1 (the first snapshot's are
  // the Simulation's own model_, checker_, area_learner_). It lives for the whole run, because
  // its COW's observer must; `model` starts afresh each time the snapshot is made.
  struct FurtherCheck {
    explicit FurtherCheck(Verdicts& verdicts) : checker(model, verdicts), area_learner(model) {}
    Model model;  // its snapshot view (the origin when it was made) and its COW's areas
    Checker checker;
    AreaWriteLearner area_learner;
    std::optional<uint64_t> invalid_seq;  // when its target was first seen invalid
    size_t kernel_log_seen = 0;           // its kernel log lines CheckNewInvalidations has read
    uint64_t error_faults_at_activation = 0;
  };
  // The checker's reads of further snapshot `index`: through its target, the origin's medium.
  class FurtherSnapshotReads;

  // `scratch`: an explorer's crash-state check (never enables libfiu).
  Simulation(const Scenario& scenario, uint64_t seed, const RunOptions& options, bool scratch);

  // Activation.
  // Blank devices, or those of a crash state (`images`).
  void BuildWorld(std::optional<CrashImages> images);
  absl::Status Activate(TargetKind kind);
  // Activate; if an injected fault failed it, once more with faults off.
  absl::Status ActivateRetryingFaults(TargetKind kind);
  // Activation failed: a finding, unless the COW medium itself fails (then the run just ends).
  void ActivationFailed(const absl::Status& status, std::string expected, std::string detail);
  void ObserveValidity();
  // The kernel log lines since the last call: an invalidation among them must have a cause.
  void CheckNewInvalidations();
  void CheckNewInvalidationsOf(size_t index);

  // Several snapshots (simulation.cc). Further snapshot `index` (>= 1) exists and is active.
  bool FurtherActive(size_t index);
  FurtherCheck& further(size_t index) { return *further_[index - 1]; }
  // Further snapshot `index`'s model starts afresh: a snapshot of the origin view as it is now.
  void StartFurtherModel(size_t index);
  // lvcreate -s / lvremove of a further snapshot on the live origin (kMakeSnapshot / kRemove).
  void MakeFurtherSnapshot(uint32_t index);
  void RemoveFurtherSnapshot(uint32_t index);
  // Runs `check` on further snapshot `index`'s checker with the run's clock, its findings
  // naming the snapshot.
  void WithFurther(size_t index, absl::FunctionRef<void(FurtherCheck&)> check);

  // Steps and user bios (simulation.cc).
  void ExecuteStep(const Step& step);
  void SubmitUserIo(const Step& step);
  void SubmitUserFlush(View view, uint32_t snapshot);
  void SubmitUser(std::unique_ptr<UserBio> user, Bio bio);
  void EndUserBio(uint64_t id, int error);
  // A bio of further snapshot `user.snapshot` ended: its model and checker learn of it.
  void EndFurtherSnapshotBio(const UserBio& user, int error, uint64_t seq);
  // The oldest submission among the reads in flight (kNeverAcked: none).
  uint64_t OldestReadInFlight() const;
  void WaitForSlot();
  void Drain(const char* why);
  void WaitFor(const char* why, absl::FunctionRef<bool()> done);

  // Crashes, recovery and checks (simulation_crash.cc).
  void ArmCrash(const Step& step);
  [[noreturn]] void WaitForArmedCrash(const Step& step);
  void HandleCrash(const std::string& point);
  void RecoverFromCrash();
  std::vector<Finding> CheckCrashState(const CrashState& state);
  // What a scratch check keeps to check further crash states with the same metadata bytes
  // (RunOptions::reuse_recovery): the sectors its recovery and table checks read, and the state
  // of the checks just before the views.
  struct ViewsCheckpoint {
    absl::btree_set<sector_t> origin_reads;
    absl::btree_set<sector_t> cow_reads;
    // What those sectors held in the crash state.
    std::vector<std::pair<sector_t, SectorBytes>> origin_metadata;
    std::vector<std::pair<sector_t, SectorBytes>> cow_metadata;
    // What the recovery wrote (a new snapshot's header and first area): the same again for every
    // state with those metadata bytes.
    std::vector<SimDevice::CompletedWrite> origin_writes;
    std::vector<SimDevice::CompletedWrite> cow_writes;
    // The explorer's media the devices read through to, and the sectors where they change from
    // state to state (CrashState).
    const DurableMedium* origin_state = nullptr;
    const DurableMedium* cow_state = nullptr;
    const std::vector<sector_t>* origin_volatile = nullptr;
    const std::vector<sector_t>* cow_volatile = nullptr;
    std::optional<InspectReport> report;  // set once kept
    uint64_t model_seq = 0;               // the views' checks leave the model alone
    bool saw_invalid = false;             // but the end of a recovery may clear this mark
    std::optional<Verdicts> verdicts;
  };
  // In a scratch check of `state`: record what recovery reads and writes, to keep a
  // ViewsCheckpoint.
  void StartRecordingReads(const CrashState& state);
  // In a scratch check, before the views are checked: keep a checkpoint if a later state may
  // reuse this recovery (nothing in flight, reads direct, no merge, one snapshot).
  void KeepViewsCheckpoint(const InspectReport& report);
  // The state holds the checkpoint's bytes on every sector its recovery read.
  bool SameMetadata(const CrashState& state) const;
  // Checks the views again on `state`, from the checkpoint. REQUIRES: SameMetadata(state), and
  // `state` is of the crash point whose volatile sectors the checkpoint holds.
  std::vector<Finding> RecheckViews(const CrashState& state);
  void CheckImages(bool after_crash);
  // CheckImages after the tables: every snapshot's views (and the further snapshots' tables).
  void CheckViewsOfEverySnapshot(const InspectReport& report, bool after_crash);
  // The end of RecoverFromCrash, once the checks ran.
  void FinishRecovery();
  CheckSettings Settings() const;
  CheckSettings SettingsOf(size_t index);
  // After a recovery: a further snapshot whose header never became durable is made anew from
  // the origin the crash left (a new, empty snapshot), as lvm2's activation then does.
  void ForgetFurtherSnapshotsNeverDurable();

  // CheckedWorld: the reads the checker asks for.
  int ReadThroughTarget(View view, sector_t sector, uint32_t count, uint8_t* out) override;
  void ReadOriginMedium(sector_t sector, uint8_t* out) override;
  // A check read of the origin (kOrigin) or of snapshot `index`, once it completed.
  int ReadThrough(View view, size_t index, sector_t sector, uint32_t count, uint8_t* out);
  // A scratch check with options_.check_reads kDirect, and this read returns what the devices
  // hold: nothing in flight on any device or target, every target a plain snapshot (no merge),
  // quiet faults, and a snapshot read is one piece of one chunk.
  bool CanReadDirectly(View view, size_t index, sector_t sector, uint32_t count) const;
  // The world part of CanReadDirectly: a scratch check reading directly, quiet faults, nothing in
  // flight anywhere, every target a plain snapshot.
  bool WorldAllowsDirectReads() const;
  // The read CheckReads::kDirect describes.
  int ReadDirectly(View view, size_t index, sector_t sector, uint32_t count, uint8_t* out);
  bool TargetValid() const override;
  // With a kept ViewsCheckpoint: the read is direct and touches no volatile sector.
  bool ReadIsStable(View view, sector_t sector, uint32_t count) const override;

  // Runs `action`; a crash is handled (power cut, recovery, checks), a stuck world or a failed
  // assertion becomes its finding.
  void Guarded(absl::FunctionRef<void()> action);
  void LivenessFailed(const SimulationStuck& stuck);
  // An assertion fired inside the run: the finding assertions_hold; the run ends.
  void AssertionFailedInRun(const AssertionFailure& failure);
  // Completes a finding with this run's context, traces and logs it.
  void AnnounceFinding(Finding& finding);
  void Say(const std::string& line);
  std::string ReplayCommand() const;
  bool stopped() const { return stop_ || verdicts_.stop_requested(); }
  SnapshotTarget& target() { return *world_->target(); }

  const Scenario scenario_;
  const uint64_t seed_;
  const RunOptions options_;
  const bool scratch_;  // an explorer's crash-state check: recovers and checks, nothing more
  Prng crash_prng_;

  Model model_;
  Verdicts verdicts_;
  Checker checker_;
  AreaWriteLearner area_learner_;
  BufferStability buffer_stability_;
  std::vector<std::unique_ptr<FurtherCheck>> further_;  // index i - 1: snapshot i
  std::unique_ptr<World> world_;  // its devices point at the observers: destroyed first
  CrashTriggers triggers_;
  uint32_t chunk_sectors_ = 0;

  // Explorer (RunOptions::reuse_recovery): in a scratch check, what its recovery read while
  // recording, and the checkpoint kept for later states; in the run, the last (at most
  // kMaxReusableRecoveries) scratch checks of this crash point that kept one.
  std::unique_ptr<ViewsCheckpoint> views_checkpoint_;
  std::vector<std::unique_ptr<Simulation>> reusable_scratches_;  // the last used first
  uint64_t states_recovered_ = 0;  // crash states checked by a new scratch check

  std::map<uint64_t, std::unique_ptr<UserBio>> user_bios_;  // by id, in flight
  uint64_t next_user_bio_ = 1;
  uint64_t generation_ = 0;  // bumped at every crash: completions of older bios are ignored
  std::optional<uint64_t> invalid_seq_;  // model seq when the target was first seen invalid
  size_t kernel_log_seen_ = 0;           // kernel log lines CheckNewInvalidations has read
  uint64_t error_faults_at_activation_ = 0;

  std::string last_crash_point_;
  bool exported_ = false;
  uint64_t crashes_ = 0;
  uint64_t recoveries_ = 0;
  uint64_t crash_states_checked_ = 0;
  bool stop_ = false;            // a stuck world or a failed activation ends the run
  bool resume_pending_ = false;  // a snapshot-merge activated during recovery, not yet resumed
};

}  // namespace snapsim

#endif  // SNAPSIM_SIM_RUN_SIMULATION_H_
