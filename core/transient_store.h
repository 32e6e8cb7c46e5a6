// SPDX-License-Identifier: GPL-2.0-only
//
// TransientStore: the 'N' exception store of dm-snap-transient.c. Nothing is kept on disk: the
// COW device is handed out chunk by chunk from sector 0 and the table lives only in memory.
// Invariant: next_free_ (in sectors) is a multiple of the chunk size and at most the COW size.
// Faithful detail: a full COW device makes PrepareException return -1, not -ENOSPC (the kernel's
// caller only tests for non-zero).
#ifndef SNAPSIM_CORE_TRANSIENT_STORE_H_
#define SNAPSIM_CORE_TRANSIENT_STORE_H_

#include <cstdint>
#include <string>

#include "core/block_device.h"
#include "core/exception_store.h"

namespace snapsim {

class TransientStore final : public ExceptionStore {
 public:
  // transient_ctr. REQUIRES: cow outlives the store.
  TransientStore(BlockDevice* cow, uint32_t chunk_size);

  const char* type_name() const override { return "transient"; }
  uint32_t chunk_size() const override { return chunk_size_; }
  int ReadMetadata(ExceptionCallback callback) override { return 0; }
  int PrepareException(Exception* e) override;
  void CommitException(const Exception& e, CommitCallback callback) override;
  void CommitFailedException(const Exception& e, CommitCallback callback) override;
  // The transient type has no merge: there is nothing to merge from.
  int PrepareMerge(chunk_t* last_old_chunk, chunk_t* last_new_chunk) override { return 0; }
  int CommitMerge(int nr_merged) override { return 0; }
  int DropSnapshot() override { return 0; }
  void Usage(sector_t* total_sectors, sector_t* sectors_allocated,
             sector_t* metadata_sectors) const override;
  std::string Status(StatusType type) const override;

 private:
  BlockDevice* const cow_;
  const uint32_t chunk_size_;
  sector_t next_free_ = 0;  // in sectors, as in the kernel
};

}  // namespace snapsim

#endif  // SNAPSIM_CORE_TRANSIENT_STORE_H_
