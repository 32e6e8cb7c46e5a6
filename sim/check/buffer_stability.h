// SPDX-License-Identifier: GPL-2.0-only
//
// BufferStability: the write_buffer_stable invariant. A submitter promises not to touch a
// write's buffer until the write completes: a real device (DMA, a RAID layer computing parity,
// dm-crypt) may read it at any moment in between. The simulated device copies the payload at
// submission, so a buffer refilled while in flight would land intact and go unseen; this
// observer copies each write's payload at submission and compares it at completion.
//
// Bounded: one copy per write in flight on one device (the devices' own in-flight bound).
// Forget() after a crash: completions of bios from before it are never shown.
#ifndef SNAPSIM_SIM_CHECK_BUFFER_STABILITY_H_
#define SNAPSIM_SIM_CHECK_BUFFER_STABILITY_H_

#include <cstdint>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/container/btree_map.h"
#include "sim/check/verdicts.h"
#include "sim/workload/scenario.h"
#include "sim/world/observed_device.h"

namespace snapsim {

class BufferStability : public IoObserver {
 public:
  explicit BufferStability(Verdicts& verdicts) : verdicts_(verdicts) {}

  void OnSubmit(const ObservedBio& bio) override;
  void OnComplete(const ObservedBio& bio, int error) override;
  void Forget() { in_flight_.clear(); }

 private:
  Verdicts& verdicts_;
  // (device, submission number) -> the payload as submitted.
  // By device (role, whose COW) and the device's bio number.
  absl::btree_map<std::tuple<DeviceRole, uint32_t, uint64_t>, std::vector<uint8_t>> in_flight_;
};

}  // namespace snapsim

#endif  // SNAPSIM_SIM_CHECK_BUFFER_STABILITY_H_
