// SPDX-License-Identifier: GPL-2.0-only
#include "sim/world/scheduler.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "util/assert.h"

namespace snapsim {
namespace {

TEST(Scheduler, RunsEventsInTimeThenScheduleOrder) {
  Scheduler scheduler;
  std::string order;
  scheduler.Schedule(20, [&] { order += 'c'; });
  scheduler.Schedule(10, [&] { order += 'a'; });
  scheduler.Schedule(10, [&] { order += 'b'; });  // same time: scheduled later runs later
  scheduler.Schedule(0, [&] { order += '0'; });
  EXPECT_EQ(scheduler.RunUntilIdle(100), 4u);
  EXPECT_EQ(order, "0abc");
  EXPECT_EQ(scheduler.now(), 20u);
}

TEST(Scheduler, TimeAdvancesToEachEventAndEventsMayScheduleMore) {
  Scheduler scheduler;
  std::vector<SimTime> times;
  scheduler.Schedule(5, [&] {
    times.push_back(scheduler.now());
    scheduler.Schedule(7, [&] { times.push_back(scheduler.now()); });
  });
  scheduler.RunUntilIdle(10);
  EXPECT_EQ(times, (std::vector<SimTime>{5, 12}));
}

TEST(Scheduler, RunOneOnIdleQueueReturnsFalse) {
  Scheduler scheduler;
  EXPECT_FALSE(scheduler.RunOne());
  EXPECT_TRUE(scheduler.idle());
}

TEST(Scheduler, RunUntilStopsWhenPredicateHoldsAndReportsIdle) {
  Scheduler scheduler;
  int count = 0;
  for (int i = 0; i < 10; ++i) scheduler.Schedule(i, [&] { ++count; });
  EXPECT_TRUE(scheduler.RunUntil([&] { return count == 3; }));
  EXPECT_EQ(count, 3);
  EXPECT_FALSE(scheduler.RunUntil([&] { return count == 100; }));
  EXPECT_EQ(count, 10);
}

TEST(Scheduler, NestedRunUntilInsideAnEventRunsLaterEvents) {
  Scheduler scheduler;
  std::string order;
  bool inner_done = false;
  int inner_depth = 0;
  scheduler.Schedule(1, [&] {
    order += 'A';
    scheduler.Schedule(5, [&] {
      order += 'I';
      inner_depth = scheduler.nesting_depth();
      inner_done = true;
    });
    // A synchronous wait inside an event: runs B (t=3) and I (t=6) before returning.
    EXPECT_TRUE(scheduler.RunUntil([&] { return inner_done; }));
    order += 'a';
  });
  scheduler.Schedule(3, [&] { order += 'B'; });
  scheduler.Schedule(9, [&] { order += 'C'; });
  scheduler.RunUntil([] { return false; });
  EXPECT_EQ(order, "ABIaC");
  EXPECT_EQ(inner_depth, 2);  // the outer RunUntil and the nested one
  EXPECT_EQ(scheduler.nesting_depth(), 0);
}

TEST(Scheduler, CrashExceptionUnwindsNestedWaitsAndClearDropsPendingEvents) {
  Scheduler scheduler;
  int ran_after = 0;
  scheduler.Schedule(1, [&] {
    scheduler.Schedule(1, [] { throw SimulatedCrash("power cut"); });
    scheduler.RunUntil([] { return false; });  // nested wait interrupted by the crash
    ADD_FAILURE() << "the crash must unwind through the nested wait";
  });
  scheduler.Schedule(50, [&] { ++ran_after; });
  EXPECT_THROW(scheduler.RunUntilIdle(100), SimulatedCrash);
  EXPECT_EQ(scheduler.nesting_depth(), 0);
  EXPECT_EQ(scheduler.pending(), 1u);
  scheduler.Clear();
  EXPECT_TRUE(scheduler.idle());
  EXPECT_EQ(scheduler.RunUntilIdle(100), 0u);
  EXPECT_EQ(ran_after, 0);
  // The scheduler is usable again after the crash.
  scheduler.Schedule(1, [&] { ++ran_after; });
  scheduler.RunUntilIdle(10);
  EXPECT_EQ(ran_after, 1);
}

TEST(Scheduler, RunUntilGivesUpAfterMaxEvents) {
  Scheduler scheduler;
  std::function<void()> tick = [&] { scheduler.Schedule(1, [&] { tick(); }); };
  tick();
  EXPECT_FALSE(scheduler.RunUntil([] { return false; }, 100));
  EXPECT_EQ(scheduler.events_run(), 100u);
  scheduler.Clear();
}

// A broken bound is an AssertionFailure naming it, in every build type.
template <typename Body>
void ExpectAssertion(Body body, const char* text) {
  try {
    body();
    ADD_FAILURE() << "no assertion fired; expected one saying " << text;
  } catch (const AssertionFailure& failure) {
    EXPECT_THAT(failure.what(), ::testing::HasSubstr(text));
  }
}

TEST(SchedulerAssertions, NestingBeyondTheLimitAsserts) {
  Scheduler scheduler;
  std::function<void()> nest = [&] {
    scheduler.Schedule(1, [&] { nest(); });
    scheduler.RunUntil([] { return false; });
  };
  ExpectAssertion(nest, "nested too deep");
  scheduler.Clear();
}

TEST(SchedulerAssertions, QueueBeyondItsBoundAsserts) {
  Scheduler scheduler;
  ExpectAssertion(
      [&] {
        for (size_t i = 0; i <= Scheduler::kMaxPendingEvents; ++i) scheduler.Schedule(1, [] {});
      },
      "event queue full");
  scheduler.Clear();
}

}  // namespace
}  // namespace snapsim
