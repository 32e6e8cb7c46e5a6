// SPDX-License-Identifier: GPL-2.0-only
#include "sim/world/durable_medium.h"

#include <algorithm>
#include <cstring>
#include <utility>
#include <vector>

#include "util/assert.h"

namespace snapsim {

DurableMedium::DurableMedium(PageStore pristine) : pristine_(std::move(pristine)) {}

void DurableMedium::Read(sector_t sector, uint64_t count, uint8_t* out) const {
  pristine_.Read(sector, count, out);
  for (auto it = damaged_.lower_bound(sector); it != damaged_.end() && it->first < sector + count;
       ++it) {
    std::memcpy(out + (it->first - sector) * kSectorSize, it->second.data(), kSectorSize);
  }
}

void DurableMedium::KeepCurrentContent(sector_t sector, uint64_t count) {
  SNAPSIM_ASSERT(sector <= size_sectors() && count <= size_sectors() - sector);
  for (uint64_t i = 0; i < count; ++i) {
    if (damaged_.contains(sector + i)) continue;  // already differs: keep what it holds
    SectorBytes bytes;
    pristine_.Read(sector + i, 1, bytes.data());
    damaged_.emplace(sector + i, bytes);
  }
}

void DurableMedium::Heal(sector_t sector, uint64_t count) {
  if (damaged_.empty()) return;  // the common case: no fault ever damaged this medium
  damaged_.erase(damaged_.lower_bound(sector), damaged_.lower_bound(sector + count));
}

void DurableMedium::Land(sector_t intended, sector_t actual, const WriteBuffer& data) {
  const uint64_t count = data.sector_count();
  if (intended == actual) {
    pristine_.Write(actual, data);  // shares the buffer's pages
    Heal(actual, count);
    return;
  }
  // The buffer's pages are aligned for `actual`; write `intended` sector by sector.
  KeepCurrentContent(intended, count);
  for (uint64_t i = 0; i < count; ++i) pristine_.Write(intended + i, 1, data.sector_data(i));
  for (uint64_t i = 0; i < count; ++i) Damage(actual + i, data.sector_data(i));
}

void DurableMedium::Land(sector_t intended, sector_t actual, uint64_t count, const uint8_t* data) {
  if (intended == actual) {
    pristine_.Write(actual, count, data);
    Heal(actual, count);
    return;
  }
  KeepCurrentContent(intended, count);
  pristine_.Write(intended, count, data);
  for (uint64_t i = 0; i < count; ++i) Damage(actual + i, data + i * kSectorSize);
}

void DurableMedium::LoseWrite(sector_t intended, const WriteBuffer& data) {
  const uint64_t count = data.sector_count();
  KeepCurrentContent(intended, count);
  for (uint64_t i = 0; i < count; ++i) pristine_.Write(intended + i, 1, data.sector_data(i));
}

void DurableMedium::Damage(sector_t sector, const uint8_t* bytes) {
  SNAPSIM_ASSERT(sector < size_sectors());
  SectorBytes& slot = damaged_[sector];
  std::memcpy(slot.data(), bytes, kSectorSize);
}

void DurableMedium::DropOverlayPages() {
  SNAPSIM_ASSERT(pristine_.is_overlay());
  pristine_.Clear();
  damaged_.clear();
  latent_errors_.clear();
}

void DurableMedium::CopySectorsFrom(const DurableMedium& from, sector_t sector, uint64_t count) {
  SNAPSIM_ASSERT(sector <= size_sectors() && count <= size_sectors() - sector);
  SNAPSIM_ASSERT(sector <= from.size_sectors() && count <= from.size_sectors() - sector);
  constexpr uint64_t kBatch = kSectorsPerPage;
  uint8_t bytes[kBatch * kSectorSize];
  for (uint64_t done = 0; done < count;) {
    const uint64_t n = std::min(kBatch, count - done);
    from.pristine_.Read(sector + done, n, bytes);
    pristine_.Write(sector + done, n, bytes);
    done += n;
  }
  if (!damaged_.empty() || !from.damaged_.empty()) {
    damaged_.erase(damaged_.lower_bound(sector), damaged_.lower_bound(sector + count));
    damaged_.insert(from.damaged_.lower_bound(sector), from.damaged_.lower_bound(sector + count));
  }
  if (!latent_errors_.empty() || !from.latent_errors_.empty()) {
    ClearLatentErrors(sector, count);
    latent_errors_.insert(from.latent_errors_.lower_bound(sector),
                          from.latent_errors_.lower_bound(sector + count));
  }
}

bool DurableMedium::HasLatentError(sector_t sector, uint64_t count) const {
  auto it = latent_errors_.lower_bound(sector);
  return it != latent_errors_.end() && *it < sector + count;
}

void DurableMedium::ClearLatentErrors(sector_t sector, uint64_t count) {
  latent_errors_.erase(latent_errors_.lower_bound(sector),
                       latent_errors_.lower_bound(sector + count));
}

PageStore DurableMedium::Flattened() const& { return DurableMedium(*this).Flattened(); }

PageStore DurableMedium::Flattened() && {
  PageStore image = std::move(pristine_);
  for (const auto& [sector, bytes] : damaged_) image.Write(sector, 1, bytes.data());
  damaged_.clear();
  return image;
}

}  // namespace snapsim
