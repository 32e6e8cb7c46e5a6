// SPDX-License-Identifier: GPL-2.0-only
#include "sim/world/observed_device.h"

#include <utility>

#include "util/assert.h"

namespace snapsim {

ObservedDevice::ObservedDevice(SimDevice& device, std::vector<IoObserver*> observers,
                               uint32_t snapshot)
    : device_(device), observers_(std::move(observers)), snapshot_(snapshot) {
  SNAPSIM_ASSERT(observers_.size() <= kMaxObservers);
}

void ObservedDevice::Submit(Bio bio) {
  ObservedBio seen;
  seen.role = device_.role();
  seen.snapshot = snapshot_;
  seen.op = bio.op;
  seen.sector = bio.sector;
  seen.sector_count = bio.sector_count;
  seen.preflush = bio.preflush;
  seen.fua = bio.fua;
  seen.data = bio.data;
  seen.number = ++submissions_;
  bio.end_io = [this, seen, generation = generation_,
                inner = std::move(bio.end_io)](int error) mutable {
    if (generation == generation_) {
      for (IoObserver* observer : observers_) observer->OnComplete(seen, error);
    }
    inner(error);
  };
  device_.Submit(std::move(bio));
  for (IoObserver* observer : observers_) observer->OnSubmit(seen);
}

}  // namespace snapsim
