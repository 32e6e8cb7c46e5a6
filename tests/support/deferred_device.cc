// SPDX-License-Identifier: GPL-2.0-only
#include "tests/support/deferred_device.h"

#include <cassert>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <utility>

namespace snapsim::testing {

DeferredDevice::DeferredDevice(std::string name, sector_t size_sectors, uint32_t logical_block_size)
    : name_(std::move(name)),
      logical_block_size_(logical_block_size),
      bytes_(size_sectors << kSectorShift, 0) {}

void DeferredDevice::Submit(Bio bio) {
  Record record{bio.op,
                bio.sector,
                bio.sector_count,
                bio.preflush,
                bio.fua,
                sequence_ != nullptr ? ++*sequence_ : 0,
                0};
  records_.push_back(record);
  const size_t index = records_.size() - 1;
  if (auto_complete_) {
    Complete(std::move(bio), index, records_generation_);
    return;
  }
  queue_.push_back(Queued{record, index, records_generation_, std::move(bio)});
}

void DeferredDevice::Complete(Bio bio, size_t record_index, uint64_t generation) {
  if (generation == records_generation_ && record_index < records_.size()) {
    records_[record_index].end_seq = sequence_ != nullptr ? ++*sequence_ : 0;
  }
  int error = 0;
  if (bio.sector + bio.sector_count > size_sectors()) error = -5;  // -EIO
  for (const Failure& f : failures_) {
    if (f.op == bio.op && bio.sector_count > 0 && bio.sector < f.sector + f.count &&
        f.sector < bio.sector + bio.sector_count) {
      error = f.error;
    }
  }
  if (error == 0 && bio.sector_count > 0) {
    uint8_t* disk = SectorData(bio.sector);
    if (bio.is_write()) {
      std::memcpy(disk, bio.data, bio.bytes());
    } else {
      std::memcpy(bio.data, disk, bio.bytes());
    }
  }
  bio.end_io(error);
}

void DeferredDevice::WaitFor(const bool& done) {
  if (crash_in_wait_ && !done) throw SimulatedCrash{};
  for (size_t i = 0; !done; ++i) {
    if (queue_.empty() || i >= kMaxReleasesPerCall) {
      std::fprintf(stderr, "DeferredDevice %s: WaitFor with nothing left to release\n",
                   name_.c_str());
      std::abort();
    }
    ReleaseAt(0);
  }
}

void DeferredDevice::ReleaseAll() {
  for (size_t i = 0; !queue_.empty(); ++i) {
    assert(i < kMaxReleasesPerCall);
    if (i >= kMaxReleasesPerCall) std::abort();
    ReleaseAt(0);
  }
}

void DeferredDevice::ReleaseAt(size_t i) {
  assert(i < queue_.size());
  Queued q = std::move(queue_[i]);
  queue_.erase(queue_.begin() + static_cast<std::ptrdiff_t>(i));
  Complete(std::move(q.bio), q.record_index, q.generation);
}

void DeferredDevice::ReleaseReverse() {
  std::vector<Queued> now;
  while (!queue_.empty()) {
    now.push_back(std::move(queue_.back()));
    queue_.pop_back();
  }
  for (Queued& q : now) Complete(std::move(q.bio), q.record_index, q.generation);
}

void DeferredDevice::FailRange(BioOp op, sector_t sector, sector_t count, int error) {
  failures_.push_back(Failure{op, sector, count, error});
}

}  // namespace snapsim::testing
