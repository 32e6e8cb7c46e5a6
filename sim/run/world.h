// SPDX-License-Identifier: GPL-2.0-only
//
// World: the simulated machine of one run, assembled from a scenario: the scheduler, the origin
// and COW devices (each behind an ObservedDevice), the snapshot target over them, the fault
// profile the devices obey and the bridge to core/'s libfiu points. The run (Simulation) drives
// it; the checker never touches it.
//
// Several snapshots (the scenario lists further snapshots, [[snapshots]]): one more COW device per
// further snapshot ("cow-1", "cow-2", ...), each with its own SnapshotTarget while the snapshot
// exists, and an Origin (core/origin.h) over every existing snapshot, which takes the origin's
// bios. A power cut hits the origin and every COW at once. Snapshot 0 is the first ([geometry]'s
// COW), snapshot i > 0 is further_snapshots[i - 1]. With one snapshot there is no Origin: the
// target takes the origin's bios itself, as it always did (the pinned trace hashes).
//
// Fault profile: the devices always obey active_faults(): the scenario's profile while the
// workload runs, a quiet one (no new faults, same write cache) while the run checks or
// recovers. libfiu points are enabled only while the workload runs, and never in a scratch
// world (libfiu is process-wide: the explorer's scratch worlds must not steal the parent's).
#ifndef SNAPSIM_SIM_RUN_WORLD_H_
#define SNAPSIM_SIM_RUN_WORLD_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/kernel_log.h"
#include "core/origin.h"
#include "core/snapshot_target.h"
#include "sim/workload/scenario.h"
#include "sim/world/fault_profile.h"
#include "sim/world/fiu_bridge.h"
#include "sim/world/observed_device.h"
#include "sim/world/page_store.h"
#include "sim/world/prng.h"
#include "sim/world/probes.h"
#include "sim/world/scheduler.h"
#include "sim/world/sim_device.h"
#include "sim/world/trace.h"

namespace snapsim {

class World {
 public:
  // `scratch`: an explorer's crash-state check, which never enables libfiu.
  World(const Scenario& scenario, FaultProfile faults, Prng device_prng, Prng fiu_prng,
        std::ostream* trace_out, bool scratch);
  ~World();
  World(const World&) = delete;
  World& operator=(const World&) = delete;

  // Builds the devices, blank or from crash images; `observers` watch the origin and the first
  // COW, in this order. The further COWs (several snapshots) start blank, or from
  // `further_cow_images` (one per further snapshot when given), each watched by the observers
  // of its entry in `further_observers` (one per further snapshot when given, else none).
  void BuildDevices(std::optional<PageStore> origin_image, std::optional<PageStore> cow_image,
                    const std::vector<IoObserver*>& observers,
                    std::vector<PageStore> further_cow_images = {},
                    const std::vector<std::vector<IoObserver*>>& further_observers = {});
  // After BuildDevices over crash images in a scratch world: the further snapshots that exist
  // are those that exist in `crashed`, the world the images came from (lvm2's metadata says so,
  // not the devices). REQUIRES: no target active, the same scenario.
  void CopyWhichSnapshotsExist(const World& crashed);
  // Creates the target over the devices (the dmsetup table load); traces "activate". With several
  // snapshots, lvm2's order after a reboot: the origin suspended, every existing snapshot's table
  // loaded (registered with the origin) in index order, snapshot 0 as `kind` and the others as
  // plain snapshots, then the origin resumed (its split is now the smallest chunk size).
  absl::Status Activate(TargetKind kind);
  // Drops the target (dmsetup remove), with whatever it still had in flight; with several
  // snapshots every snapshot's and the origin's. REQUIRES (several): every target idle.
  void Deactivate();
  // lvcreate -s of further snapshot `index` (>= 1) on the live origin: the origin suspended, the
  // snapshot's table loaded over its COW (a new snapshot: the COW is zeroed first), the origin
  // resumed. REQUIRES: several snapshots, the origin idle, snapshot `index` absent.
  absl::Status MakeSnapshot(size_t index);
  // lvremove of further snapshot `index` (>= 1): the origin suspended, the snapshot unregistered
  // and dropped, the origin resumed. REQUIRES: several snapshots, the origin and it idle.
  void RemoveSnapshot(size_t index);
  // The power fails: every non-durable write meets a fate drawn from `crash_prng`, every
  // pending event is dropped and completions of bios in flight are never shown to observers.
  void PowerCut(Prng& crash_prng);
  // After a power cut: the targets (and the Origin) are dropped without a word (no trace, no I/O
  // of their own). A further snapshot that existed still exists: its COW says so.
  void AbandonTarget();
  // After a power cut: the devices come back holding only their durable images.
  void PowerOn();
  // Writes the durable images to "<dir>/origin.img" and "<dir>/cow.img", and with several
  // snapshots "<dir>/cow-<i>.img" for each further snapshot i: all or none, never over an
  // existing file.
  absl::Status ExportDurableImages(const std::string& dir) const;
  // Operations in flight in every target and the Origin (0: the world is idle).
  uint64_t TargetsInFlight() const;
  // A bio to the origin device: through the Origin with several snapshots, else the target.
  void SubmitOrigin(Bio bio);

  // Quiet faults while checking or recovering (see the header comment).
  void UseQuietFaults(bool quiet);
  bool quiet() const { return quiet_; }
  // I/O errors or allocation failures are injected, or the contract is broken: failed reads and
  // an unreadable table are then the medium's doing, not the store's.
  bool EioFaultsOn() const;
  // The COW medium itself fails (latent read errors or a failing range): metadata may be
  // unreadable for good, so a refused activation is the right answer.
  bool CowMediumFails() const;

  void RecordEvent(std::string_view kind, std::string_view detail, int64_t result = 0);

  Scheduler& scheduler() { return scheduler_; }
  const Scheduler& scheduler() const { return scheduler_; }
  Probes& probes() { return probes_; }
  // The kernel messages of the first snapshot's target (and, with several snapshots, of the
  // Origin); kernel_log(i) those of further snapshot i >= 1. Kept for the whole run.
  const CollectingLog& kernel_log() const { return kernel_log_; }
  const CollectingLog& kernel_log(size_t index) const;
  const Trace& trace() const { return trace_; }
  SimDevice& origin_device() { return *origin_dev_; }
  const SimDevice& origin_device() const { return *origin_dev_; }
  SimDevice& cow_device() { return *cow_dev_; }
  BlockDevice& cow() { return *cow_; }
  SnapshotTarget* target() { return target_.get(); }
  const SnapshotTarget* target() const { return target_.get(); }
  TargetKind target_kind() const { return kind_; }

  // Several snapshots: snapshot 0 is target() over cow_device(); i > 0 the further ones.
  size_t snapshot_count() const { return 1 + further_.size(); }
  bool several_snapshots() const { return !further_.empty(); }
  SimDevice& cow_device(size_t index);
  const SimDevice& cow_device(size_t index) const;
  BlockDevice& cow(size_t index);
  // Null while snapshot `index` does not exist (not made yet, removed, or after a power cut).
  SnapshotTarget* target(size_t index);
  const SnapshotTarget* target(size_t index) const;
  // Snapshot `index` exists: made and not removed (it survives power cuts).
  bool snapshot_exists(size_t index) const;
  // The origin side over every existing snapshot; null with one snapshot or while deactivated.
  Origin* origin() { return origin_target_.get(); }

 private:
  const Scenario& scenario_;
  const bool scratch_;
  Prng device_prng_;
  Prng fiu_prng_;
  FaultProfile scenario_faults_;
  FaultProfile active_faults_;  // what the devices see: scenario_faults_, or quiet
  const bool eio_faults_on_;    // of scenario_faults_, which never change
  bool quiet_ = false;

  Scheduler scheduler_;
  Probes probes_;
  Trace trace_;
  CollectingLog kernel_log_;
  std::unique_ptr<SimDevice> origin_dev_;
  std::unique_ptr<SimDevice> cow_dev_;
  std::unique_ptr<ObservedDevice> origin_;
  std::unique_ptr<ObservedDevice> cow_;
  std::unique_ptr<SnapshotTarget> target_;
  TargetKind kind_ = TargetKind::kSnapshot;

  // A further snapshot: its COW device for the whole run, its target while it is active.
  struct FurtherSnapshotSlot {
    std::unique_ptr<SimDevice> device;
    std::unique_ptr<ObservedDevice> observed;
    std::unique_ptr<SnapshotTarget> target;
    bool exists = false;  // made and not removed
  };
  // Registers `target` with the origin (register_snapshot): the Origin must be suspended.
  absl::StatusOr<std::unique_ptr<SnapshotTarget>> CreateFurtherTarget(size_t index);
  std::vector<FurtherSnapshotSlot> further_;  // index i - 1 holds snapshot i
  std::vector<CollectingLog> further_logs_;   // index i - 1: snapshot i's messages, never rebuilt
  std::unique_ptr<Origin> origin_target_;     // several snapshots, while activated
  std::unique_ptr<FiuBridge> fiu_;            // the core's fault points, while the workload runs
};

}  // namespace snapsim

#endif  // SNAPSIM_SIM_RUN_WORLD_H_
