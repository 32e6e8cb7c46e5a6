// SPDX-License-Identifier: GPL-2.0-only
//
// ObservedDevice: a BlockDevice in front of a SimDevice that shows every bio going by to a fixed
// list of observers (the model learns committed areas from the COW stream; crash triggers fire
// on the I/O they name). The observers see the stream; they cannot change it.
//
// Contract:
//  - Observers are called in the order given, OnSubmit after the device accepted the bio,
//    OnComplete before the submitter's end_io runs.
//  - After ForgetInFlight() (a crash), completions of bios submitted before it are not shown.
//  - An observer may throw SimulatedCrash (sim/world/scheduler.h); the bio's end_io then does
//    not run, as with power lost at that instant.
#ifndef SNAPSIM_SIM_WORLD_OBSERVED_DEVICE_H_
#define SNAPSIM_SIM_WORLD_OBSERVED_DEVICE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "core/block_device.h"
#include "sim/world/sim_device.h"

namespace snapsim {

// One bio as an observer sees it. `data` stays valid until the bio's end_io has run.
struct ObservedBio {
  DeviceRole role = DeviceRole::kOrigin;
  BioOp op = BioOp::kRead;
  sector_t sector = 0;
  uint32_t sector_count = 0;
  bool preflush = false;
  bool fua = false;
  const uint8_t* data = nullptr;
  uint64_t number = 0;  // this device's submissions, counted from 1: names the bio across calls
  // Whose COW (several snapshots): 0 the first snapshot's (and the origin), i further snapshot i.
  uint32_t snapshot = 0;

  bool is_write() const { return op == BioOp::kWrite; }
};

class IoObserver {
 public:
  virtual ~IoObserver() = default;
  virtual void OnSubmit(const ObservedBio& bio) {}
  virtual void OnComplete(const ObservedBio& bio, int error) {}
};

class ObservedDevice : public BlockDevice {
 public:
  static constexpr size_t kMaxObservers = 4;

  // REQUIRES: observers.size() <= kMaxObservers; they outlive this device. `snapshot`: whose
  // COW this is (ObservedBio::snapshot).
  ObservedDevice(SimDevice& device, std::vector<IoObserver*> observers, uint32_t snapshot = 0);

  sector_t size_sectors() const override { return device_.size_sectors(); }
  uint32_t logical_block_size() const override { return device_.logical_block_size(); }
  std::string name() const override { return device_.name(); }
  void Submit(Bio bio) override;
  void WaitFor(const bool& done) override { device_.WaitFor(done); }

  // A crash: bios in flight now are never shown completing.
  void ForgetInFlight() { ++generation_; }

 private:
  SimDevice& device_;
  const std::vector<IoObserver*> observers_;
  const uint32_t snapshot_;
  uint64_t generation_ = 0;
  uint64_t submissions_ = 0;
};

}  // namespace snapsim

#endif  // SNAPSIM_SIM_WORLD_OBSERVED_DEVICE_H_
