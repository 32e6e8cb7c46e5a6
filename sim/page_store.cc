// SPDX-License-Identifier: GPL-2.0-only
#include "sim/page_store.h"

#include <algorithm>
#include <cassert>
#include <cstring>
#include <fstream>
#include <vector>

namespace snapsim {

SectorGenerator ZeroContent() {
  return [](sector_t, uint8_t* out) { std::memset(out, 0, kSectorSize); };
}

PageStore::PageStore(sector_t size_sectors, SectorGenerator generator)
    : size_sectors_(size_sectors), generator_(std::move(generator)) {
  assert(generator_);
}

void PageStore::FillFromGenerator(uint64_t page_index, Page& page) const {
  const sector_t first = page_index * kSectorsPerPage;
  for (uint32_t i = 0; i < kSectorsPerPage; ++i) {
    // The last page of a device whose size is not a multiple of 8 sectors holds zeros past it.
    if (first + i < size_sectors_) {
      generator_(first + i, page.bytes.data() + i * kSectorSize);
    } else {
      std::memset(page.bytes.data() + i * kSectorSize, 0, kSectorSize);
    }
  }
}

Page& PageStore::MutablePage(uint64_t page_index, bool will_overwrite_all) {
  auto [it, inserted] = pages_.try_emplace(page_index);
  if (inserted) {
    auto page = std::make_shared<Page>();
    if (!will_overwrite_all) FillFromGenerator(page_index, *page);
    it->second = page;
    return *page;
  }
  if (it->second.use_count() != 1) {
    it->second = std::make_shared<Page>(*it->second);  // copy on write
  }
  // Sole owner of a page allocated non-const: updating it in place is sound.
  return const_cast<Page&>(*it->second);
}

void PageStore::Read(sector_t sector, uint64_t count, uint8_t* out) const {
  assert(sector <= size_sectors_ && count <= size_sectors_ - sector);
  while (count > 0) {
    const uint64_t page_index = sector / kSectorsPerPage;
    const uint32_t in_page = static_cast<uint32_t>(sector % kSectorsPerPage);
    const uint32_t n = static_cast<uint32_t>(std::min<uint64_t>(count, kSectorsPerPage - in_page));
    auto it = pages_.find(page_index);
    if (it != pages_.end()) {
      std::memcpy(out, it->second->bytes.data() + in_page * kSectorSize, n * kSectorSize);
    } else {
      for (uint32_t i = 0; i < n; ++i) generator_(sector + i, out + i * kSectorSize);
    }
    sector += n;
    count -= n;
    out += n * kSectorSize;
  }
}

void PageStore::Write(sector_t sector, uint64_t count, const uint8_t* data) {
  assert(sector <= size_sectors_ && count <= size_sectors_ - sector);
  while (count > 0) {
    const uint64_t page_index = sector / kSectorsPerPage;
    const uint32_t in_page = static_cast<uint32_t>(sector % kSectorsPerPage);
    const uint32_t n = static_cast<uint32_t>(std::min<uint64_t>(count, kSectorsPerPage - in_page));
    Page& page = MutablePage(page_index, n == kSectorsPerPage);
    std::memcpy(page.bytes.data() + in_page * kSectorSize, data, n * kSectorSize);
    sector += n;
    count -= n;
    data += n * kSectorSize;
  }
}

void PageStore::CopyFrom(const PageStore& other, sector_t sector, uint64_t count) {
  assert(other.size_sectors_ == size_sectors_);
  assert(sector <= size_sectors_ && count <= size_sectors_ - sector);
  uint8_t buffer[kPageSize];
  while (count > 0) {
    const uint64_t page_index = sector / kSectorsPerPage;
    const uint32_t in_page = static_cast<uint32_t>(sector % kSectorsPerPage);
    const uint32_t n = static_cast<uint32_t>(std::min<uint64_t>(count, kSectorsPerPage - in_page));
    auto theirs = other.pages_.find(page_index);
    if (n == kSectorsPerPage && theirs != other.pages_.end()) {
      pages_[page_index] = theirs->second;  // share the immutable page
    } else if (n == kSectorsPerPage) {
      pages_.erase(page_index);  // both read from the generator
    } else {
      other.Read(sector, n, buffer);
      Write(sector, n, buffer);
    }
    sector += n;
    count -= n;
  }
}

size_t PageStore::unshared_page_count() const {
  size_t n = 0;
  for (const auto& [index, page] : pages_) n += page.use_count() == 1;
  return n;
}

absl::Status PageStore::ExportToFile(const std::string& path) const {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) return absl::UnavailableError("cannot open " + path + " for writing");
  constexpr uint64_t kChunkSectors = 2048;  // 1 MiB at a time
  std::vector<uint8_t> buffer(kChunkSectors * kSectorSize);
  for (sector_t s = 0; s < size_sectors_; s += kChunkSectors) {
    const uint64_t n = std::min<uint64_t>(kChunkSectors, size_sectors_ - s);
    Read(s, n, buffer.data());
    out.write(reinterpret_cast<const char*>(buffer.data()),
              static_cast<std::streamsize>(n * kSectorSize));
    if (!out) return absl::UnavailableError("write to " + path + " failed");
  }
  out.close();
  if (!out) return absl::UnavailableError("close of " + path + " failed");
  return absl::OkStatus();
}

}  // namespace snapsim
