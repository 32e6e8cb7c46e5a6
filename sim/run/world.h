// SPDX-License-Identifier: GPL-2.0-only
//
// World: the simulated machine of one run, assembled from a scenario: the scheduler, the origin
// and COW devices (each behind an ObservedDevice), the snapshot target over them, the fault
// profile the devices obey and the bridge to core/'s libfiu points. The run (Simulation) drives
// it; the checker never touches it.
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
#include "core/kernel_log.h"
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

  // Builds the devices, blank or from crash images; `observers` watch both, in this order.
  void BuildDevices(std::optional<PageStore> origin_image, std::optional<PageStore> cow_image,
                    const std::vector<IoObserver*>& observers);
  // Creates the target over the devices (the dmsetup table load); traces "activate".
  absl::Status Activate(TargetKind kind);
  // Drops the target (dmsetup remove), with whatever it still had in flight.
  void Deactivate();
  // The power fails: every non-durable write meets a fate drawn from `crash_prng`, every
  // pending event is dropped and completions of bios in flight are never shown to observers.
  void PowerCut(Prng& crash_prng);
  // After a power cut: the target is dropped without a word (no trace, no I/O of its own).
  void AbandonTarget() { target_.reset(); }
  // After a power cut: the devices come back holding only their durable images.
  void PowerOn();
  // Writes the durable images to "<dir>/origin.img" and "<dir>/cow.img": both or neither, never
  // over an existing file.
  absl::Status ExportDurableImages(const std::string& dir) const;

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
  const CollectingLog& kernel_log() const { return kernel_log_; }
  const Trace& trace() const { return trace_; }
  SimDevice& origin_device() { return *origin_dev_; }
  SimDevice& cow_device() { return *cow_dev_; }
  BlockDevice& cow() { return *cow_; }
  SnapshotTarget* target() { return target_.get(); }
  const SnapshotTarget* target() const { return target_.get(); }
  TargetKind target_kind() const { return kind_; }

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
  std::unique_ptr<FiuBridge> fiu_;  // the core's fault points, while the workload runs
};

}  // namespace snapsim

#endif  // SNAPSIM_SIM_RUN_WORLD_H_
