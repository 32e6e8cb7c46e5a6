// SPDX-License-Identifier: GPL-2.0-only
// dm_exception_store_create: the "<P|N> <chunk_size>" part of a snapshot table line.
#include "core/exception_store.h"

#include <cctype>
#include <memory>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "core/chunk_size.h"
#include "core/persistent_store.h"
#include "core/transient_store.h"
#include "util/assert.h"

namespace snapsim {

std::string UsageStatusLine(sector_t total_sectors, sector_t sectors_allocated,
                            sector_t metadata_sectors) {
  return absl::StrCat(sectors_allocated, "/", total_sectors, " ", metadata_sectors);
}

absl::StatusOr<std::unique_ptr<ExceptionStore>> CreateExceptionStore(
    const std::vector<std::string>& args, BlockDevice* origin, BlockDevice* cow,
    const StoreOptions& options, KernelLog* log) {
  SNAPSIM_ASSERT(origin != nullptr && cow != nullptr);
  if (args.size() < 2) {
    return absl::InvalidArgumentError("Insufficient exception store arguments");
  }
  // As the kernel does, only the first character of the flag is looked at, case-insensitively:
  // "P" and the type name "persistent" both pick the persistent store.
  const char flag = args[0].empty()
                        ? '\0'
                        : static_cast<char>(std::toupper(static_cast<unsigned char>(args[0][0])));
  if (flag != 'P' && flag != 'N') {
    return absl::InvalidArgumentError("Persistent flag is not P or N");
  }
  absl::StatusOr<uint32_t> chunk_size =
      ChunkSizeFromTable(args[1], origin->logical_block_size(), cow->logical_block_size());
  if (!chunk_size.ok()) return chunk_size.status();

  if (flag == 'P') {
    return std::make_unique<PersistentStore>(origin, cow, *chunk_size, options, log);
  }
  return std::make_unique<TransientStore>(cow, *chunk_size);
}

}  // namespace snapsim
