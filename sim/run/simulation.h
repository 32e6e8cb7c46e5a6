// SPDX-License-Identifier: GPL-2.0-only
//
// Simulation: the world of one run (scheduler, simulated origin and COW devices, the snapshot
// target over them) together with the reference model and the checks. sim/run/run.h is its public
// face; the exhaustive explorer uses CrashPointContext to check crash states one by one.
//
// Life of a run: activate a new snapshot, execute steps; a kCrash step arms a crash trigger and
// runs the world until it fires; the crash draws a fate for every non-durable write, the world is
// torn down (target and store dropped with I/O in flight, as a power cut does) and rebuilt from
// the durable images, the snapshot re-activated from disk (and its merge resumed), and every
// invariant checked against the model. Then the run goes on.
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

#include "absl/container/btree_map.h"
#include "absl/container/btree_set.h"
#include "core/inspect.h"
#include "core/kernel_log.h"
#include "core/snapshot_target.h"
#include "sim/world/fault_profile.h"
#include "sim/check/finding.h"
#include "sim/world/fiu_bridge.h"
#include "sim/check/model.h"
#include "sim/world/page_store.h"
#include "sim/world/prng.h"
#include "sim/world/probes.h"
#include "sim/run/run.h"
#include "sim/workload/scenario.h"
#include "sim/world/scheduler.h"
#include "sim/world/sim_device.h"
#include "sim/world/trace.h"
#include "sim/workload/workload.h"

namespace snapsim {

class ObservedDevice;

// A crash point of the exhaustive explorer: the devices just before the crash (their
// non-durable writes are the choices) and a function that recovers from a pair of crash images
// and checks every invariant, returning the findings.
struct CrashPointContext {
  std::string crash_point;
  const SimDevice* origin = nullptr;
  const SimDevice* cow = nullptr;
  std::function<std::vector<Finding>(PageStore origin_image, PageStore cow_image)> check;
};

class Simulation {
 public:
  // Bios a check reads at once when it scans the images.
  static constexpr uint32_t kMaxCheckReadsInFlight = 32;
  // Events a drain may run before the world counts as stuck (liveness).
  static constexpr uint64_t kMaxDrainEvents = uint64_t{1} << 26;
  static constexpr size_t kMaxFindingsPerRun = 64;

  Simulation(const Scenario& scenario, uint64_t seed, const RunOptions& options);
  ~Simulation();
  Simulation(const Simulation&) = delete;
  Simulation& operator=(const Simulation&) = delete;

  RunResult Run(const std::vector<Step>& steps);

 private:
  friend class ObservedDevice;
  struct UserBio;

  // World.
  void BuildDevices(std::optional<PageStore> origin_image, std::optional<PageStore> cow_image);
  absl::Status Activate(TargetKind kind);
  void Deactivate();
  // Activate; if an injected fault failed it, once more with faults off.
  absl::Status ActivateRetryingFaults(TargetKind kind);
  // Activation failed: a finding, unless the COW medium itself fails (then the run just ends).
  void ActivationFailed(const absl::Status& status, std::string expected, std::string detail);
  void UseQuietFaults(bool quiet);

  // Steps.
  void ExecuteStep(const Step& step);
  void SubmitUserIo(const Step& step);
  void SubmitUserFlush(View view);
  void EndUserBio(uint64_t id, int error);
  void WaitForSlot();
  void Drain(const char* why);
  void WaitFor(const char* why, absl::FunctionRef<bool()> done);
  void ObserveValidity();

  // Crashes.
  void ArmCrash(const Step& step);
  [[noreturn]] void FireCrash(const std::string& point);
  void MaybeFireOnCompletion();
  void HandleCrash(const std::string& point);
  void RecoverFromCrash();
  std::vector<Finding> CheckCrashState(PageStore origin_image, PageStore cow_image);

  // I/O stream observation (ObservedDevice calls these).
  void OnSubmit(DeviceRole role, const Bio& bio);
  void OnComplete(DeviceRole role, BioOp op, sector_t sector, uint32_t count, bool preflush,
                  bool fua, const uint8_t* data, int error);

  // Checks.
  void CheckTable(const InspectReport& report, bool after_crash);
  void CheckImages(bool after_crash);
  void CheckView(View view, bool after_crash, const absl::btree_set<chunk_t>& extra_chunks,
                 const SnapshotTable& table);
  void CheckMergedOrigin();
  std::vector<uint8_t> ReadThroughTarget(View view, sector_t sector, uint32_t count, int* error,
                                         uint64_t* submit_seq, uint64_t* complete_seq);
  void Tally(std::string_view invariant, bool held);
  void AddFinding(std::string_view invariant, std::string expected, std::string actual,
                  std::string detail);
  void Say(const std::string& line);
  void TraceWorld(std::string_view kind, std::string_view detail, int64_t result = 0);
  bool EioFaultsOn() const;
  uint32_t chunk_sectors() const { return chunk_sectors_; }
  std::string ReplayCommand() const;

  const Scenario scenario_;
  const uint64_t seed_;
  const RunOptions options_;
  Prng root_prng_;
  Prng device_prng_;
  Prng crash_prng_;
  Prng fiu_prng_;
  FaultProfile scenario_faults_;
  FaultProfile active_faults_;  // what the devices see: scenario_faults_, or quiet while checking

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
  uint32_t chunk_sectors_ = 0;

  Model model_;
  std::map<uint64_t, std::unique_ptr<UserBio>> user_bios_;  // by id, in flight
  uint64_t next_user_bio_ = 1;
  uint64_t generation_ = 0;  // bumped at every crash: completions of older bios are ignored
  std::optional<uint64_t> invalid_seq_;  // model seq when the target was first seen invalid

  // Crash trigger.
  bool crash_armed_ = false;
  CrashTrigger crash_trigger_ = CrashTrigger::kAfterEvents;
  uint64_t crash_at_event_ = 0;
  uint64_t completions_ = 0;
  std::string last_crash_point_;
  bool exported_ = false;

  // Results.
  uint64_t crashes_ = 0;
  uint64_t recoveries_ = 0;
  uint64_t crash_states_checked_ = 0;
  std::map<std::string, snapsim::Verdict> verdicts_;
  std::vector<Finding> findings_;
  bool stop_ = false;  // a finding or a stuck world ends the run
  bool checking_ = false;
  bool resume_pending_ = false;
  bool quiet_ = false;              // faults off (recovery and checks)
  bool scratch_ = false;            // a crash-state check of the explorer: never enables libfiu
  std::unique_ptr<FiuBridge> fiu_;  // the core's fault points, while the workload runs  // a
                                    // snapshot-merge activated during recovery, not yet resumed
};

}  // namespace snapsim

#endif  // SNAPSIM_SIM_RUN_SIMULATION_H_
