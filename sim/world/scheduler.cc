// SPDX-License-Identifier: GPL-2.0-only
#include "sim/world/scheduler.h"

#include <algorithm>
#include <utility>

#include "util/assert.h"

namespace snapsim {
namespace {

// Restores the nesting depth however the callback leaves (return or SimulatedCrash).
class DepthGuard {
 public:
  explicit DepthGuard(int& depth) : depth_(depth) { ++depth_; }
  ~DepthGuard() { --depth_; }
  DepthGuard(const DepthGuard&) = delete;
  DepthGuard& operator=(const DepthGuard&) = delete;

 private:
  int& depth_;
};

}  // namespace

void Scheduler::Schedule(SimTime delay, Callback callback) {
  SNAPSIM_ASSERT(heap_.size() < kMaxPendingEvents && "event queue full");
  SNAPSIM_ASSERT(delay <= UINT64_MAX - now_);
  uint32_t slot;
  if (!free_slots_.empty()) {
    slot = free_slots_.back();
    free_slots_.pop_back();
    callbacks_[slot] = std::move(callback);
  } else {
    slot = static_cast<uint32_t>(callbacks_.size());
    callbacks_.push_back(std::move(callback));
  }
  heap_.push_back(Entry{now_ + delay, next_seq_++, slot});
  std::push_heap(heap_.begin(), heap_.end(), Later);
}

bool Scheduler::RunOne() {
  if (heap_.empty()) return false;
  std::pop_heap(heap_.begin(), heap_.end(), Later);
  const Entry entry = heap_.back();
  heap_.pop_back();
  SNAPSIM_ASSERT(entry.time >= now_ && "time never goes backwards");
  now_ = entry.time;
  // Move the callback out first: it may Schedule() (growing callbacks_) or nest.
  Callback callback = std::move(callbacks_[entry.slot]);
  callbacks_[entry.slot] = nullptr;
  free_slots_.push_back(entry.slot);
  ++events_run_;
  callback();
  return true;
}

bool Scheduler::RunUntil(absl::FunctionRef<bool()> predicate, uint64_t max_events) {
  DepthGuard guard(depth_);
  SNAPSIM_ASSERT(depth_ <= kMaxNestingDepth && "RunUntil nested too deep");
  for (uint64_t ran = 0; ran < max_events; ++ran) {
    if (predicate()) return true;
    if (!RunOne()) return false;
  }
  return predicate();
}

uint64_t Scheduler::RunUntilIdle(uint64_t limit) {
  DepthGuard guard(depth_);
  SNAPSIM_ASSERT(depth_ <= kMaxNestingDepth && "RunUntilIdle nested too deep");
  uint64_t ran = 0;
  while (ran < limit && RunOne()) ++ran;
  return ran;
}

void Scheduler::Clear() {
  heap_.clear();
  callbacks_.clear();
  free_slots_.clear();
}

}  // namespace snapsim
