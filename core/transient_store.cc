// SPDX-License-Identifier: GPL-2.0-only
#include "core/transient_store.h"

#include <utility>

#include "absl/strings/str_format.h"
#include "util/assert.h"

namespace snapsim {

TransientStore::TransientStore(BlockDevice* cow, uint32_t chunk_size)
    : cow_(cow), chunk_size_(chunk_size) {
  SNAPSIM_ASSERT(cow_ != nullptr);
}

int TransientStore::PrepareException(Exception* e) {
  SNAPSIM_ASSERT(chunk_size_ != 0);
  if (cow_->size_sectors() < next_free_ + chunk_size_) return -1;
  e->new_chunk = next_free_ / chunk_size_;
  next_free_ += chunk_size_;
  return 0;
}

void TransientStore::CommitException(const Exception& e, CommitCallback callback) {
  // Nothing to write: the exception is as durable as it will ever be.
  std::move(callback)(true);
}

void TransientStore::CommitFailedException(const Exception& e, CommitCallback callback) {
  (void)e;
  std::move(callback)(false);
}

void TransientStore::Usage(sector_t* total_sectors, sector_t* sectors_allocated,
                           sector_t* metadata_sectors) const {
  *sectors_allocated = next_free_;
  *total_sectors = cow_->size_sectors();
  *metadata_sectors = 0;
}

std::string TransientStore::Status(StatusType type) const {
  if (type == StatusType::kTable) return absl::StrFormat(" N %u", chunk_size_);
  return "";
}

}  // namespace snapsim
