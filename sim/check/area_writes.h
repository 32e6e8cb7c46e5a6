// SPDX-License-Identifier: GPL-2.0-only
//
// Area writes seen in the COW device's I/O stream, and the observer that teaches the model the
// committed table from them.
//
// The store writes a metadata area as one whole-chunk write at the area's chunk; FUA makes it
// durable on completion, so a completed FUA area write is a committed area (SPEC section 3).
#ifndef SNAPSIM_SIM_CHECK_AREA_WRITES_H_
#define SNAPSIM_SIM_CHECK_AREA_WRITES_H_

#include <cstdint>
#include <optional>

#include "core/format.h"
#include "sim/check/model.h"
#include "sim/world/observed_device.h"

namespace snapsim {

// The area index a COW write lands on if it is exactly one metadata area chunk (the header chunk
// is no area); nullopt otherwise.
std::optional<chunk_t> AreaOfCowWrite(const ObservedBio& bio, uint32_t chunk_sectors);

// Teaches the model every committed area: a COW write at an area that completed with FUA. A FUA
// area write in flight may land or not at a crash: the model requires only what the committed
// and the submitted image agree on (a merge's commit drops entries).
class AreaWriteLearner : public IoObserver {
 public:
  explicit AreaWriteLearner(Model& model) : model_(model) {}

  // The chunk size of the store now active (it may differ from the scenario's default).
  void set_chunk_sectors(uint32_t chunk_sectors) { chunk_sectors_ = chunk_sectors; }
  void OnSubmit(const ObservedBio& bio) override;
  void OnComplete(const ObservedBio& bio, int error) override;

 private:
  Model& model_;
  uint32_t chunk_sectors_ = 0;
};

}  // namespace snapsim

#endif  // SNAPSIM_SIM_CHECK_AREA_WRITES_H_
