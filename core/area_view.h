// SPDX-License-Identifier: GPL-2.0-only
//
// AreaView: the one decoder of a metadata area (docs/format.md, "End of the table"), used by the
// store, inspect and the simulator's model alike.
//
// An area is one chunk of exceptions_per_area DiskException slots. Its table is the slots before
// the first whose new_chunk is 0, the terminator; an area without one is full and the table goes
// on in the next area. Slots past the terminator are stale when not all zero: a torn area write
// (sectors are atomic, a chunk is not) or a store that never zeroed them can leave them there,
// and 3.7.1 keeps them in its in-memory area, so they join the table once commits reach them.
//
// Contract: the view decodes lazily from the caller's buffer, which must hold
// exceptions_per_area slots and outlive the view; the terminator is found once, at construction.
#ifndef SNAPSIM_CORE_AREA_VIEW_H_
#define SNAPSIM_CORE_AREA_VIEW_H_

#include <cstdint>
#include <vector>

#include "core/format.h"
#include "util/assert.h"

namespace snapsim {

class AreaView {
 public:
  // REQUIRES: `bytes` holds exceptions_per_area slots (one chunk) and outlives the view.
  AreaView(const uint8_t* bytes, uint32_t exceptions_per_area)
      : bytes_(bytes), slots_(exceptions_per_area), entries_(exceptions_per_area) {
    SNAPSIM_ASSERT(bytes_ != nullptr);
    for (uint32_t slot = 0; slot < slots_; ++slot) {
      if (DecodeException(bytes_, slot).new_chunk == 0) {
        entries_ = slot;
        break;
      }
    }
  }

  uint32_t slot_count() const { return slots_; }
  // Slots before the terminator: the area's part of the table.
  uint32_t entry_count() const { return entries_; }
  // No terminator: the table continues in the next area.
  bool full() const { return entries_ == slots_; }
  // The terminator's slot, the next one the store fills. REQUIRES: !full().
  uint32_t terminator_slot() const {
    SNAPSIM_ASSERT(!full());
    return entries_;
  }
  // REQUIRES: slot < entry_count().
  DiskException entry(uint32_t slot) const {
    SNAPSIM_ASSERT(slot < entries_);
    return DecodeException(bytes_, slot);
  }
  // Slots past the terminator that are not all zero, in slot order.
  std::vector<uint32_t> StaleSlots() const {
    std::vector<uint32_t> stale;
    for (uint32_t slot = entries_ + (full() ? 0 : 1); slot < slots_; ++slot) {
      const DiskException e = DecodeException(bytes_, slot);
      if (e.old_chunk != 0 || e.new_chunk != 0) stale.push_back(slot);
    }
    return stale;
  }

 private:
  const uint8_t* bytes_;
  uint32_t slots_;
  uint32_t entries_;
};

}  // namespace snapsim

#endif  // SNAPSIM_CORE_AREA_VIEW_H_
