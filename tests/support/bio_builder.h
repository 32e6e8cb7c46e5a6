// SPDX-License-Identifier: GPL-2.0-only
//
// A data bio in one expression, for tests that submit many of them.
#ifndef SNAPSIM_TESTS_SUPPORT_BIO_BUILDER_H_
#define SNAPSIM_TESTS_SUPPORT_BIO_BUILDER_H_

#include <utility>

#include "core/block_device.h"

namespace snapsim::testing {

// A READ or WRITE of `count` sectors at `sector` over `data` (owned by the caller until end_io).
inline Bio MakeBio(BioOp op, sector_t sector, uint32_t count, uint8_t* data, BioEndIo end_io) {
  Bio bio;
  bio.op = op;
  bio.sector = sector;
  bio.sector_count = count;
  bio.data = data;
  bio.end_io = std::move(end_io);
  return bio;
}

}  // namespace snapsim::testing

#endif  // SNAPSIM_TESTS_SUPPORT_BIO_BUILDER_H_
