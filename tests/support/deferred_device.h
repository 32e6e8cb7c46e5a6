// SPDX-License-Identifier: GPL-2.0-only
//
// DeferredDevice: a BlockDevice test double over an in-memory byte vector whose completions wait
// in a queue until the test releases them, so a test decides the order in which I/O finishes.
//
// Contract:
//  - Submit records the bio (op, sector, count, preflush, fua) and queues it. Nothing moves until
//    it is released: then the data is transferred (reads copy out, writes copy in) and end_io
//    runs. A bio overlapping a failed range (FailRange) ends with that error and moves no data.
//  - WaitFor(done) releases queued bios in FIFO order until done, so SyncIo works; it aborts if
//    the queue empties first (the test would otherwise hang).
//  - With set_auto_complete(true) every bio is released inside Submit.
//  - With set_crash_in_wait(true) WaitFor throws SimulatedCrash instead of waiting.
#ifndef SNAPSIM_TESTS_SUPPORT_DEFERRED_DEVICE_H_
#define SNAPSIM_TESTS_SUPPORT_DEFERRED_DEVICE_H_

#include <cstdint>
#include <deque>
#include <string>
#include <vector>

#include "core/block_device.h"
#include "core/format.h"

namespace snapsim::testing {

// Thrown by WaitFor in crash mode: how the simulator abandons a world from inside a wait.
struct SimulatedCrash {};

// Releases in one call (ReleaseAll) before it gives up: a bound on I/O that keeps causing I/O.
inline constexpr size_t kMaxReleasesPerCall = 1u << 20;

class DeferredDevice final : public BlockDevice {
 public:
  struct Record {
    BioOp op;
    sector_t sector;
    uint32_t sector_count;
    bool preflush;
    bool fua;
    uint64_t seq;      // from the shared sequence counter at submission, 0 without one
    uint64_t end_seq;  // from the same counter when it ended, 0 until then
  };

  DeferredDevice(std::string name, sector_t size_sectors, uint32_t logical_block_size = 512);

  sector_t size_sectors() const override { return bytes_.size() >> kSectorShift; }
  uint32_t logical_block_size() const override { return logical_block_size_; }
  std::string name() const override { return name_; }
  void Submit(Bio bio) override;
  void WaitFor(const bool& done) override;

  // Every bio submitted so far, in submission order.
  const std::vector<Record>& records() const { return records_; }
  void ClearRecords() {
    records_.clear();
    ++records_generation_;
  }
  // Bios submitted and not yet released.
  size_t queued() const { return queue_.size(); }
  const Record& QueuedRecord(size_t i) const { return queue_.at(i).record; }

  // Releases the oldest queued bio, including any queued while releasing, until none is left.
  void ReleaseAll();
  // Releases the i-th queued bio (0 = oldest).
  void ReleaseAt(size_t i);
  // Releases the bios queued now, newest first (bios they cause stay queued).
  void ReleaseReverse();

  // Numbers records from `counter` (shared by several devices to see the order across them).
  void set_sequence(uint64_t* counter) { sequence_ = counter; }
  void set_auto_complete(bool on) { auto_complete_ = on; }
  void set_crash_in_wait(bool on) { crash_in_wait_ = on; }
  // Every later bio overlapping [sector, sector + count) of this op ends with `error`.
  void FailRange(BioOp op, sector_t sector, sector_t count, int error);
  void ClearFailures() { failures_.clear(); }

  std::vector<uint8_t>& bytes() { return bytes_; }
  const std::vector<uint8_t>& bytes() const { return bytes_; }
  uint8_t* SectorData(sector_t sector) { return bytes_.data() + (sector << kSectorShift); }

 private:
  struct Queued {
    Record record;
    size_t record_index;  // into records_, unless ClearRecords dropped it
    uint64_t generation;  // records_generation_ at submission
    Bio bio;
  };
  struct Failure {
    BioOp op;
    sector_t sector;
    sector_t count;
    int error;
  };
  void Complete(Bio bio, size_t record_index, uint64_t generation);

  std::string name_;
  uint32_t logical_block_size_;
  std::vector<uint8_t> bytes_;
  std::vector<Record> records_;
  std::deque<Queued> queue_;
  std::vector<Failure> failures_;
  bool auto_complete_ = false;
  bool crash_in_wait_ = false;
  uint64_t* sequence_ = nullptr;
  uint64_t records_generation_ = 0;
};

}  // namespace snapsim::testing

#endif  // SNAPSIM_TESTS_SUPPORT_DEFERRED_DEVICE_H_
