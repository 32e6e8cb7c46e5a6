// SPDX-License-Identifier: GPL-2.0-only
//
// PageStore: the sparse, copy-on-write content of a simulated device.
//
// Invariants:
//  - A sector never written reads as generator(sector): the origin's initial content is a
//    function of the sector number, the COW device's is zeros. Only written pages take memory.
//  - Pages are 4 KiB, immutable once shared: copying a PageStore copies one pointer per written
//    page, and a later write to either copy allocates a fresh page (copy on write). A page held
//    by one store only is updated in place.
//  - Iteration is in page order (absl::btree_map): nothing depends on pointer or hash order.
#ifndef SNAPSIM_SIM_PAGE_STORE_H_
#define SNAPSIM_SIM_PAGE_STORE_H_

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/container/btree_map.h"
#include "absl/status/status.h"
#include "core/format.h"

namespace snapsim {

inline constexpr uint32_t kPageShift = 12;
inline constexpr uint32_t kPageSize = 1u << kPageShift;
inline constexpr uint32_t kSectorsPerPage = kPageSize / kSectorSize;
static_assert(kSectorsPerPage == 8);

struct Page {
  std::array<uint8_t, kPageSize> bytes;
};

// Writes the never-written content of `sector` (512 bytes) into `out`.
using SectorGenerator = std::function<void(sector_t sector, uint8_t* out)>;

// The generator of a device that starts zeroed.
SectorGenerator ZeroContent();

class PageStore {
 public:
  // REQUIRES: generator is callable.
  PageStore(sector_t size_sectors, SectorGenerator generator);

  sector_t size_sectors() const { return size_sectors_; }
  const SectorGenerator& generator() const { return generator_; }

  // REQUIRES: sector + count <= size_sectors().
  void Read(sector_t sector, uint64_t count, uint8_t* out) const;
  void Write(sector_t sector, uint64_t count, const uint8_t* data);
  // Copies `count` sectors' content from `other` (same size) into this store by sharing pages
  // where whole pages are covered.
  void CopyFrom(const PageStore& other, sector_t sector, uint64_t count);

  // Written pages and their bytes (what a crash state or a clone costs).
  size_t page_count() const { return pages_.size(); }
  uint64_t bytes_held() const { return uint64_t{pages_.size()} * kPageSize; }
  // Pages held by this store alone (not shared with a clone).
  size_t unshared_page_count() const;

  // Writes the whole content to `path` (size_sectors() * 512 bytes: for images of test size).
  absl::Status ExportToFile(const std::string& path) const;

 private:
  using PagePtr = std::shared_ptr<const Page>;

  // A page this store may modify: allocated (from the generator) or unshared first.
  Page& MutablePage(uint64_t page_index, bool will_overwrite_all);
  void FillFromGenerator(uint64_t page_index, Page& page) const;

  sector_t size_sectors_;
  SectorGenerator generator_;
  absl::btree_map<uint64_t, PagePtr> pages_;
};

}  // namespace snapsim

#endif  // SNAPSIM_SIM_PAGE_STORE_H_
