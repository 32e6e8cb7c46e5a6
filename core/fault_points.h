// SPDX-License-Identifier: GPL-2.0-only
//
// The libfiu fault points compiled into core/. Each name is a constant so tests, the simulator
// and scenario files agree on the spelling. A point that is not enabled costs one check. Enable
// them with fiu_enable / fiu_enable_external after fiu_init(0); libfiu's registry is global to
// the process, so only one simulation may use them at a time.
#ifndef SNAPSIM_CORE_FAULT_POINTS_H_
#define SNAPSIM_CORE_FAULT_POINTS_H_

namespace snapsim::fault_points {

// alloc_area's buffers (area, zero area, header) cannot be allocated: read_metadata fails with
// -ENOMEM, as a failed vmalloc does. Hit before the header read and again after an on-disk chunk
// size replaces the table's.
inline constexpr const char kStoreAllocArea[] = "snapsim/store/alloc_area";
// The commit callback array of read_metadata cannot be allocated: -ENOMEM.
inline constexpr const char kStoreAllocCallbacks[] = "snapsim/store/alloc_callbacks";
// One store chunk I/O (header, area or zero-area read/write) fails with -EIO without reaching
// the device.
inline constexpr const char kStoreChunkIo[] = "snapsim/store/chunk_io";

}  // namespace snapsim::fault_points

#endif  // SNAPSIM_CORE_FAULT_POINTS_H_
