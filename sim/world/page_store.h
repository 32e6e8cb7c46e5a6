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
//  - An overlay store (OverlayOn) holds only the pages written to it and reads every other page
//    from its base (any SectorSource), which must outlive it and keep its address: the simulated
//    device's "current" content is an overlay of its cache writes on its durable medium
//    (durable_medium.h), so a crash costs the pages written since the last one, not the
//    device's.
//  - Pages are found by hash (absl::flat_hash_map, for speed); nothing iterates them in an
//    order that could leak into a run (reads and exports go by sector number).
#ifndef SNAPSIM_SIM_WORLD_PAGE_STORE_H_
#define SNAPSIM_SIM_WORLD_PAGE_STORE_H_

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
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

// Anything that reads as sectors: a PageStore, or a durable medium with its faults applied.
class SectorSource {
 public:
  virtual ~SectorSource() = default;
  virtual sector_t size_sectors() const = 0;
  // REQUIRES: sector + count <= size_sectors().
  virtual void Read(sector_t sector, uint64_t count, uint8_t* out) const = 0;
};

// Writes the never-written content of `sector` (512 bytes) into `out`.
using SectorGenerator = std::function<void(sector_t sector, uint8_t* out)>;

// The generator of a device that starts zeroed.
SectorGenerator ZeroContent();

// The data of one write. When it covers whole aligned pages it is held as shared immutable pages,
// so the cache entry, the current image and the durable image share one copy; otherwise as
// bytes. Built by copying the submitter's buffer once.
class WriteBuffer {
 public:
  WriteBuffer() = default;
  // `sector` is where the data will land (it decides page alignment).
  WriteBuffer(sector_t sector, uint64_t count, const uint8_t* data);

  uint64_t sector_count() const { return count_; }
  bool paged() const { return !pages_.empty(); }
  const uint8_t* sector_data(uint64_t i) const;
  // Unshares the page holding sector i first.
  uint8_t* mutable_sector_data(uint64_t i);
  const std::shared_ptr<const Page>& page(uint64_t page_number) const {
    return pages_[page_number];
  }

 private:
  uint64_t count_ = 0;
  std::vector<uint8_t> bytes_;
  std::vector<std::shared_ptr<const Page>> pages_;
};

class PageStore final : public SectorSource {
 public:
  // REQUIRES: generator is callable.
  PageStore(sector_t size_sectors, SectorGenerator generator);

  // A store reading through to `base` wherever it holds no page of its own.
  static PageStore OverlayOn(const SectorSource& base);

  sector_t size_sectors() const override { return size_sectors_; }
  bool is_overlay() const { return base_ != nullptr; }

  // REQUIRES: sector + count <= size_sectors().
  void Read(sector_t sector, uint64_t count, uint8_t* out) const override;
  void Write(sector_t sector, uint64_t count, const uint8_t* data);
  // Writes a whole buffer at `sector`; a paged buffer's pages are shared, not copied.
  // REQUIRES: if data.paged(), sector is page aligned.
  void Write(sector_t sector, const WriteBuffer& data);
  // Drops every page: reads return the generator's (or the base's) content again.
  void Clear() { pages_.clear(); }

  // Written pages and their bytes (what a crash state or a clone costs).
  size_t page_count() const { return pages_.size(); }
  uint64_t bytes_held() const { return uint64_t{pages_.size()} * kPageSize; }
  // Pages held by this store alone (not shared with a clone).
  size_t unshared_page_count() const;

  // Writes the whole content to a new file `path` (size_sectors() * 512 bytes: for images of
  // test size), whole or not at all; refuses (AlreadyExists) when something is at `path`.
  absl::Status ExportToFile(const std::string& path) const;

 private:
  using PagePtr = std::shared_ptr<const Page>;

  // A page this store may modify: allocated (from the generator) or unshared first.
  Page& MutablePage(uint64_t page_index, bool will_overwrite_all);
  void FillFromGenerator(uint64_t page_index, Page& page) const;
  // Never-written sectors: from the base store if any, else from the generator.
  void ReadUnwritten(sector_t sector, uint32_t count, uint8_t* out) const;

  sector_t size_sectors_;
  SectorGenerator generator_;
  const SectorSource* base_ = nullptr;
  absl::flat_hash_map<uint64_t, PagePtr> pages_;
};

}  // namespace snapsim

#endif  // SNAPSIM_SIM_WORLD_PAGE_STORE_H_
