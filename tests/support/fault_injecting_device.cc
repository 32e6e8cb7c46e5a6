// SPDX-License-Identifier: GPL-2.0-only
#include "tests/support/fault_injecting_device.h"

#include <cerrno>
#include <utility>

#include "absl/strings/str_format.h"

namespace snapsim::testing {

std::string BioRecord::ToString() const {
  return absl::StrFormat("%c %u+%u%s%s%s", is_write() ? 'W' : 'R', sector, sector_count,
                         preflush ? " FLUSH" : "", fua ? " FUA" : "", failed ? " (failed)" : "");
}

void FaultInjectingDevice::Submit(Bio bio) {
  BioRecord record;
  record.op = bio.op;
  record.sector = bio.sector;
  record.sector_count = bio.sector_count;
  record.preflush = bio.preflush;
  record.fua = bio.fua;
  const uint64_t index = records_.size() + 1;
  record.failed = index == fail_nth_ || (fail_when_ && fail_when_(record));
  records_.push_back(record);
  if (record.failed) {
    bio.end_io(-EIO);
    return;
  }
  inner_->Submit(std::move(bio));
}

}  // namespace snapsim::testing
