// SPDX-License-Identifier: GPL-2.0-only
//
// Fuzz target: the bytes of a COW image, as `snapsim inspect` reads them from a file, through
// InspectCow over a MemoryDevice, with an origin so that every check runs. The snapshot's table
// and status are then derived as `inspect` prints them.
//
// Speed: inputs are small images (a 512-byte chunk size gives a header, an area of 32 entries
// and data chunks in 2 KiB), and an input longer than kMaxImageBytes is skipped: libFuzzer runs
// with -max_len, so that thousands of images a second are decoded.
#include <cstdint>
#include <vector>

#include "core/format.h"
#include "core/inspect.h"
#include "core/memory_device.h"
#include "fuzz/fuzz_target.h"

namespace {

constexpr size_t kMaxImageBytes = 1 << 20;
constexpr snapsim::sector_t kOriginSectors = 64;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace snapsim;
  if (size > kMaxImageBytes) return 0;
  // A file that is not a whole number of sectors reads as its whole sectors, as a loop device
  // over it would: the tail is dropped.
  std::vector<uint8_t> bytes(data, data + (size & ~size_t{kSectorSize - 1}));
  MemoryDevice cow = MemoryDevice::FromBytes(std::move(bytes), kSectorSize, "fuzz.img");
  // Inspect only looks at the origin's size and block size, never at its data.
  static const MemoryDevice origin(kOriginSectors);
  InspectOptions options;
  options.origin = &origin;
  options.decode_invalid_table = true;  // as `snapsim inspect` does
  const InspectReport report = InspectCow(cow, options);

  FuzzCheck(report.status.empty() || report.loadable, "a status line only for a loadable COW");
  FuzzCheck(!report.has_errors() || !report.damage.empty(), "errors are damage records");
  FuzzCheck(report.table_loaded || !report.has_errors(),
            "a table the kernel does not load has no error (exit status as without it)");
  if (report.loadable && !report.is_new) {
    FuzzCheck(report.chunk_sectors == report.header.chunk_size,
              "a loaded COW uses its header's chunk size");
  }
  if (report.loadable && report.header.valid != 0) {
    FuzzCheck(report.next_free >= kNumSnapshotHeaderChunks + 1, "next_free is past area 0");
  }
  const SnapshotTable table = SnapshotTableOf(report);
  FuzzCheck(table.size() <= report.exceptions.size(), "the table maps at most every exception");
  return 0;
}
