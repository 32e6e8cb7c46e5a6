// SPDX-License-Identifier: GPL-2.0-only
//
// Scheduler: simulated time and the one queue of future events.
//
// Invariants:
//  - Time (u64 nanoseconds) never goes backwards; now() is the time of the event being run.
//  - Events run in (time, sequence number) order, the sequence number being the order of
//    Schedule() calls. Nothing else (no pointer value, no hash order) decides the order.
//  - At most kMaxPendingEvents are pending; RunUntil nests at most kMaxNestingDepth deep.
//
// Contract:
//  - Re-entrant: an event callback may Schedule() and may call RunUntil() (a synchronous
//    metadata I/O waiting inside an event). The nested loop runs later events, never the one
//    already running.
//  - A crash is the exception SimulatedCrash, thrown from inside an event or a wait. It unwinds
//    every nested RunUntil to the run loop, which then calls Clear() and rebuilds the world.
//  - Callbacks hold references into the world (devices, store); destroy the world only after
//    Clear() or once the queue is idle.
#ifndef SNAPSIM_SIM_WORLD_SCHEDULER_H_
#define SNAPSIM_SIM_WORLD_SCHEDULER_H_

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/functional/function_ref.h"

namespace snapsim {

using SimTime = uint64_t;  // nanoseconds since the start of the run

// Thrown to simulate a power cut; caught by the run loop.
class SimulatedCrash : public std::runtime_error {
 public:
  explicit SimulatedCrash(const std::string& why) : std::runtime_error(why) {}
};

// Thrown when a wait can never be satisfied: the queue is idle (or the wait's event limit is
// reached) and the awaited flag is still false. A liveness failure, reported by the run loop.
class SimulationStuck : public std::runtime_error {
 public:
  explicit SimulationStuck(const std::string& why) : std::runtime_error(why) {}
};

class Scheduler {
 public:
  static constexpr size_t kMaxPendingEvents = size_t{1} << 20;
  static constexpr int kMaxNestingDepth = 16;
  // Events one RunUntil may run before it gives up (a livelock guard).
  static constexpr uint64_t kMaxEventsPerWait = uint64_t{1} << 32;

  using Callback = absl::AnyInvocable<void()>;

  Scheduler() = default;
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  SimTime now() const { return now_; }
  size_t pending() const { return heap_.size(); }
  bool idle() const { return heap_.empty(); }
  uint64_t events_run() const { return events_run_; }
  int nesting_depth() const { return depth_; }

  // Runs `callback` at now() + delay. REQUIRES: pending() < kMaxPendingEvents.
  void Schedule(SimTime delay, Callback callback);

  // Runs the earliest event. Returns false (and runs nothing) if the queue is idle.
  bool RunOne();
  // Runs events until predicate() holds (checked before each event). Returns true if it holds,
  // false if the queue went idle or max_events ran first.
  bool RunUntil(absl::FunctionRef<bool()> predicate, uint64_t max_events = kMaxEventsPerWait);
  // Runs events until the queue is idle or `limit` events ran; returns the number run.
  uint64_t RunUntilIdle(uint64_t limit);

  // Drops every pending event (after a crash). Time stays where it is.
  void Clear();

 private:
  struct Entry {
    SimTime time;
    uint64_t seq;
    uint32_t slot;  // index into callbacks_
  };
  static bool Later(const Entry& a, const Entry& b) {
    return a.time != b.time ? a.time > b.time : a.seq > b.seq;
  }

  SimTime now_ = 0;
  uint64_t next_seq_ = 0;
  uint64_t events_run_ = 0;
  int depth_ = 0;
  std::vector<Entry> heap_;           // binary min-heap on (time, seq)
  std::vector<Callback> callbacks_;   // by slot
  std::vector<uint32_t> free_slots_;  // reusable slots of callbacks_
};

}  // namespace snapsim

#endif  // SNAPSIM_SIM_WORLD_SCHEDULER_H_
