// SPDX-License-Identifier: GPL-2.0-only
//
// FaultInjectingDevice: a BlockDevice wrapper for unit tests. It records every bio submitted
// through it (op, sector, count, FLUSH, FUA, whether it was failed) and can fail chosen I/Os with
// -EIO instead of passing them down: the N-th I/O (1-based), or every I/O a predicate picks.
// A failed bio never reaches the wrapped device, so a failed write leaves its bytes untouched.
//
// Contract: the wrapped device outlives the wrapper. Completion comes from the wrapped device
// (or at once, for a failed bio); WaitFor is forwarded.
#ifndef SNAPSIM_TESTS_SUPPORT_FAULT_INJECTING_DEVICE_H_
#define SNAPSIM_TESTS_SUPPORT_FAULT_INJECTING_DEVICE_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/block_device.h"

namespace snapsim::testing {

struct BioRecord {
  BioOp op = BioOp::kRead;
  sector_t sector = 0;
  uint32_t sector_count = 0;
  bool preflush = false;
  bool fua = false;
  bool failed = false;  // completed with -EIO by the wrapper

  bool is_write() const { return op == BioOp::kWrite; }
  // Readable form for failure messages: "W 8+8 FLUSH FUA".
  std::string ToString() const;
};

class FaultInjectingDevice final : public BlockDevice {
 public:
  using Predicate = std::function<bool(const BioRecord&)>;

  explicit FaultInjectingDevice(BlockDevice* inner) : inner_(inner) {}

  sector_t size_sectors() const override { return inner_->size_sectors(); }
  uint32_t logical_block_size() const override { return inner_->logical_block_size(); }
  std::string name() const override { return inner_->name(); }
  void Submit(Bio bio) override;
  void WaitFor(const bool& done) override { inner_->WaitFor(done); }

  // Fails the I/O whose 1-based index among all I/Os submitted (counting from construction or
  // the last ClearRecords) is `n`. 0 disarms.
  void FailNth(uint64_t n) { fail_nth_ = n; }
  // Fails every I/O for which `predicate` is true. An empty predicate disarms.
  void FailWhen(Predicate predicate) { fail_when_ = std::move(predicate); }

  const std::vector<BioRecord>& records() const { return records_; }
  // Forgets the records and restarts the I/O count for FailNth.
  void ClearRecords() { records_.clear(); }

 private:
  BlockDevice* const inner_;
  uint64_t fail_nth_ = 0;
  Predicate fail_when_;
  std::vector<BioRecord> records_;
};

}  // namespace snapsim::testing

#endif  // SNAPSIM_TESTS_SUPPORT_FAULT_INJECTING_DEVICE_H_
