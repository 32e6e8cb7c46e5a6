// SPDX-License-Identifier: GPL-2.0-only
#include "sim/world/page_store.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "util/assert.h"
#include "util/atomic_file.h"

namespace snapsim {

SectorGenerator ZeroContent() {
  return [](sector_t, uint8_t* out) { std::memset(out, 0, kSectorSize); };
}

PageStore::PageStore(sector_t size_sectors, SectorGenerator generator)
    : size_sectors_(size_sectors), generator_(std::move(generator)) {
  SNAPSIM_ASSERT(generator_);
}

WriteBuffer::WriteBuffer(sector_t sector, uint64_t count, const uint8_t* data) : count_(count) {
  if (sector % kSectorsPerPage == 0 && count % kSectorsPerPage == 0 && count > 0) {
    pages_.reserve(count / kSectorsPerPage);
    for (uint64_t p = 0; p < count / kSectorsPerPage; ++p) {
      auto page = std::make_shared<Page>();
      std::memcpy(page->bytes.data(), data + p * kPageSize, kPageSize);
      pages_.push_back(std::move(page));
    }
  } else {
    bytes_.assign(data, data + count * kSectorSize);
  }
}

const uint8_t* WriteBuffer::sector_data(uint64_t i) const {
  SNAPSIM_ASSERT(i < count_);
  if (!paged()) return bytes_.data() + i * kSectorSize;
  return pages_[i / kSectorsPerPage]->bytes.data() + (i % kSectorsPerPage) * kSectorSize;
}

uint8_t* WriteBuffer::mutable_sector_data(uint64_t i) {
  SNAPSIM_ASSERT(i < count_);
  if (!paged()) return bytes_.data() + i * kSectorSize;
  std::shared_ptr<const Page>& page = pages_[i / kSectorsPerPage];
  if (page.use_count() != 1) page = std::make_shared<Page>(*page);
  // Sole owner of a page allocated non-const.
  return const_cast<Page&>(*page).bytes.data() + (i % kSectorsPerPage) * kSectorSize;
}

PageStore PageStore::OverlayOn(const SectorSource& base) {
  // The generator is never asked: every unwritten sector reads from the base.
  PageStore overlay(base.size_sectors(), ZeroContent());
  overlay.base_ = &base;
  return overlay;
}

void PageStore::ReadUnwritten(sector_t sector, uint32_t count, uint8_t* out) const {
  if (base_ != nullptr) {
    base_->Read(sector, count, out);
    return;
  }
  for (uint32_t i = 0; i < count; ++i) generator_(sector + i, out + i * kSectorSize);
}

void PageStore::FillFromGenerator(uint64_t page_index, Page& page) const {
  const sector_t first = page_index * kSectorsPerPage;
  if (base_ != nullptr) {
    const uint64_t n = std::min<uint64_t>(kSectorsPerPage, size_sectors_ - first);
    base_->Read(first, n, page.bytes.data());
    std::memset(page.bytes.data() + n * kSectorSize, 0, (kSectorsPerPage - n) * kSectorSize);
    return;
  }
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
  SNAPSIM_ASSERT(sector <= size_sectors_ && count <= size_sectors_ - sector);
  if (pages_.empty() && base_ != nullptr) {  // an overlay nothing was written to yet
    base_->Read(sector, count, out);
    return;
  }
  while (count > 0) {
    const uint64_t page_index = sector / kSectorsPerPage;
    const uint32_t in_page = static_cast<uint32_t>(sector % kSectorsPerPage);
    const uint32_t n = static_cast<uint32_t>(std::min<uint64_t>(count, kSectorsPerPage - in_page));
    auto it = pages_.find(page_index);
    if (it != pages_.end()) {
      std::memcpy(out, it->second->bytes.data() + in_page * kSectorSize, n * kSectorSize);
    } else {
      ReadUnwritten(sector, n, out);
    }
    sector += n;
    count -= n;
    out += n * kSectorSize;
  }
}

void PageStore::Write(sector_t sector, uint64_t count, const uint8_t* data) {
  SNAPSIM_ASSERT(sector <= size_sectors_ && count <= size_sectors_ - sector);
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

void PageStore::Write(sector_t sector, const WriteBuffer& data) {
  const uint64_t count = data.sector_count();
  SNAPSIM_ASSERT(sector <= size_sectors_ && count <= size_sectors_ - sector);
  if (!data.paged()) {
    if (count > 0) Write(sector, count, data.sector_data(0));
    return;
  }
  SNAPSIM_ASSERT(sector % kSectorsPerPage == 0);
  for (uint64_t p = 0; p < count / kSectorsPerPage; ++p) {
    pages_[sector / kSectorsPerPage + p] = data.page(p);  // shared, immutable
  }
}

size_t PageStore::unshared_page_count() const {
  size_t n = 0;
  for (const auto& [index, page] : pages_) n += page.use_count() == 1;
  return n;
}

absl::Status PageStore::ExportToFile(const std::string& path) const {
  // A new file, written whole or not at all: an image already there is not replaced, and a full
  // filesystem leaves no truncated image that would make a retry refuse.
  constexpr uint64_t kChunkSectors = 2048;  // 1 MiB at a time
  std::vector<uint8_t> buffer(kChunkSectors * kSectorSize);
  return WriteNewFileAtomically(path, [&](PieceWriter write) {
    for (sector_t s = 0; s < size_sectors_; s += kChunkSectors) {
      const uint64_t n = std::min<uint64_t>(kChunkSectors, size_sectors_ - s);
      Read(s, n, buffer.data());
      const std::string_view piece(reinterpret_cast<const char*>(buffer.data()), n * kSectorSize);
      if (absl::Status status = write(piece); !status.ok()) return status;
    }
    return absl::OkStatus();
  });
}

}  // namespace snapsim
