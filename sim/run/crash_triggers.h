// SPDX-License-Identifier: GPL-2.0-only
//
// CrashTriggers: decides when the power fails. A kCrash step arms one trigger (after N events,
// at the next area write, copy, zeroing or merge copy); the explorer crashes at the N-th I/O
// completion. Watching the devices' I/O stream, the armed trigger fires by throwing
// SimulatedCrash.
//
// Crash contract (where SimulatedCrash is thrown and caught):
//  - Thrown only here, from an I/O observer callback (inside a device completion or submission,
//    so possibly deep inside the store's nested wait in a commit) or from Fire() at the step
//    level; caught only by Simulation's run loop.
//  - Unwinding may leave core/ objects (store, target, pending exceptions) mid-update. That is
//    safe because the catcher never touches them again: it clears the scheduler (dropping every
//    event that refers to them), abandons the target, forgets every bio in flight and rebuilds
//    the world from the devices' durable images alone, as a reboot would.
//  - While the run checks or recovers (set_checking(true)) no trigger fires and completions are
//    not counted, so a check never crashes.
#ifndef SNAPSIM_SIM_RUN_CRASH_TRIGGERS_H_
#define SNAPSIM_SIM_RUN_CRASH_TRIGGERS_H_

#include <array>
#include <cstdint>
#include <string>

#include "core/snapshot_target.h"
#include "sim/workload/scenario.h"
#include "sim/workload/workload.h"
#include "sim/world/observed_device.h"
#include "sim/world/scheduler.h"
#include "util/assert.h"

namespace snapsim {

class CrashTriggers : public IoObserver {
 public:
  // crash_at_completion: crash at that I/O completion (1-based; 0: never), the explorer's mode.
  CrashTriggers(const Scheduler& scheduler, uint64_t crash_at_completion)
      : scheduler_(scheduler), crash_at_completion_(crash_at_completion) {}

  // Arms `trigger`; kAfterEvents fires after `count` more scheduler events (0: now).
  void Arm(CrashTrigger trigger, uint64_t count);
  void Disarm() { armed_ = false; }
  // Fires now (a trigger that never came). Never returns.
  [[noreturn]] void Fire(const std::string& point);

  void set_checking(bool checking) { checking_ = checking; }
  bool checking() const { return checking_; }
  // The chunk size of snapshot `snapshot`'s COW (0: not known yet), by which the triggers tell
  // area writes and copies apart on that COW.
  void set_chunk_sectors(uint32_t chunk_sectors, uint32_t snapshot = 0) {
    SNAPSIM_ASSERT(snapshot < chunk_sectors_.size());
    chunk_sectors_[snapshot] = chunk_sectors;
  }
  void set_target_kind(TargetKind kind) { kind_ = kind; }

  // I/O completions seen outside checks.
  uint64_t completions() const { return completions_; }

  void OnSubmit(const ObservedBio& bio) override;
  void OnComplete(const ObservedBio& bio, int error) override;

 private:
  void CountCompletion();

  const Scheduler& scheduler_;
  const uint64_t crash_at_completion_;
  bool armed_ = false;
  CrashTrigger trigger_ = CrashTrigger::kAfterEvents;
  uint64_t fire_at_event_ = 0;
  uint64_t completions_ = 0;
  bool checking_ = false;
  // By ObservedBio::snapshot; the origin's bios count as snapshot 0's.
  std::array<uint32_t, kMaxScenarioSnapshots> chunk_sectors_{};
  TargetKind kind_ = TargetKind::kSnapshot;
};

}  // namespace snapsim

#endif  // SNAPSIM_SIM_RUN_CRASH_TRIGGERS_H_
