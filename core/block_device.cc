// SPDX-License-Identifier: GPL-2.0-only
#include "core/block_device.h"

namespace snapsim {

int SyncIo(BlockDevice& device, BioOp op, sector_t sector, uint32_t sector_count, uint8_t* data,
           bool preflush, bool fua) {
  bool done = false;
  int result = 0;
  Bio bio;
  bio.op = op;
  bio.sector = sector;
  bio.sector_count = sector_count;
  bio.preflush = preflush;
  bio.fua = fua;
  bio.data = data;
  bio.end_io = [&done, &result](int error) {
    result = error;
    done = true;
  };
  device.Submit(std::move(bio));
  device.WaitFor(done);
  return result;
}

}  // namespace snapsim
