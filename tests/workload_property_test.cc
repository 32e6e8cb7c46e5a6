// SPDX-License-Identifier: GPL-2.0-only
//
// Properties over whole runs: rapidcheck generates step lists from a small alphabet (origin and
// snapshot reads and writes, flushes, drains, reloads, crashes with a trigger) on the small
// geometry of scenarios/explore-small, together with a fault profile (crash fate weights, reorder
// on or off), and runs them with RunSteps. A failing property shrinks to a short step list.
//
//  - The corrected store (every corrected option on) never shows a finding within the contract.
//  - A mutated target does, and rapidcheck shrinks the failure to a handful of steps: the test
//    runs the property itself and expects it to fail.
//
// Cases per property: kPropertyCases unless RC_PARAMS sets max_success (RC_PARAMS also takes
// seed=N to replay a failure rapidcheck reported).
#include <cstdlib>
#include <iostream>
#include <ostream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "gtest/gtest.h"
#include "sim/run/run.h"
#include "sim/workload/scenario.h"
#include "tests/support/corrected_scenario.h"
// After gtest: the glue uses its macros.
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

namespace snapsim {

// How rapidcheck prints a step in a counterexample (found by argument-dependent lookup).
void showValue(const Step& step, std::ostream& os) {
  os << StepKindName(step.kind);
  switch (step.kind) {
    case StepKind::kOriginWrite:
    case StepKind::kOriginRead:
    case StepKind::kSnapshotWrite:
    case StepKind::kSnapshotRead:
      os << absl::StrFormat("(%u+%u)", step.sector, step.count);
      break;
    case StepKind::kCrash:
      os << "(" << CrashTriggerName(step.trigger) << ", " << step.count << ")";
      break;
    default:
      break;
  }
}

namespace {

constexpr int kPropertyCases = 200;
// Generated runs hold at most this many steps, so a case runs in milliseconds.
constexpr int kMaxGeneratedSteps = 80;
constexpr uint32_t kMaxIoSectors = 4;
constexpr uint64_t kMaxCrashEvents = 60;
constexpr uint32_t kMaxFateWeight = 3;
// A shrunk counterexample is at most this long (they are usually 5 to 8 steps).
constexpr size_t kMaxShrunkSteps = 16;

Scenario LoadCorrected() {
  Scenario scenario = testing::LoadCorrectedScenario("explore-small");
  // One-sector chunks: 32 exceptions per area, so a generated run crosses area boundaries and
  // can fill the 32 KiB COW (overflow invalidates the snapshot).
  scenario.geometry.chunk_sectors = 1;
  return scenario;
}

rc::Gen<Step> GenIo(StepKind kind, sector_t device_sectors) {
  return rc::gen::map(rc::gen::pair(rc::gen::inRange<sector_t>(0, device_sectors),
                                    rc::gen::inRange<uint32_t>(1, kMaxIoSectors + 1)),
                      [kind, device_sectors](const std::pair<sector_t, uint32_t>& p) {
                        Step step{kind, p.first, p.second};
                        if (step.sector + step.count > device_sectors) {
                          step.count = static_cast<uint32_t>(device_sectors - step.sector);
                        }
                        return step;
                      });
}

rc::Gen<Step> GenCrash() {
  return rc::gen::map(rc::gen::pair(rc::gen::inRange<size_t>(0, kNumCrashTriggers),
                                    rc::gen::inRange<uint64_t>(0, kMaxCrashEvents + 1)),
                      [](const std::pair<size_t, uint64_t>& p) {
                        Step step{StepKind::kCrash};
                        step.trigger = static_cast<CrashTrigger>(p.first);
                        step.count = step.trigger == CrashTrigger::kAfterEvents
                                         ? static_cast<uint32_t>(p.second)
                                         : 0;
                        return step;
                      });
}

// Writes dominate; every other kind of the alphabet shows up in most lists of 20 steps.
rc::Gen<Step> GenStep(sector_t device_sectors) {
  return rc::gen::weightedOneOf<Step>({
      {8, GenIo(StepKind::kOriginWrite, device_sectors)},
      {2, GenIo(StepKind::kOriginRead, device_sectors)},
      {4, GenIo(StepKind::kSnapshotWrite, device_sectors)},
      {2, GenIo(StepKind::kSnapshotRead, device_sectors)},
      {2, rc::gen::just(Step{StepKind::kOriginFlush})},
      {1, rc::gen::just(Step{StepKind::kSnapshotFlush})},
      {1, rc::gen::just(Step{StepKind::kDrain})},
      {1, rc::gen::just(Step{StepKind::kReload})},
      {2, GenCrash()},
  });
}

std::vector<Step> GenSteps(const Scenario& scenario) {
  return *rc::gen::resize(kMaxGeneratedSteps, rc::gen::container<std::vector<Step>>(
                                                  GenStep(scenario.geometry.origin_sectors)))
              .as("steps");
}

// Crash fates, reordering and the seed (device latencies and fates are drawn from it).
void GenFaults(Scenario& scenario, uint64_t* seed) {
  FaultProfile& f = scenario.faults;
  f.crash_keep_weight = *rc::gen::inRange<uint32_t>(0, kMaxFateWeight + 1).as("keep weight");
  f.crash_drop_weight = *rc::gen::inRange<uint32_t>(0, kMaxFateWeight + 1).as("drop weight");
  f.crash_tear_weight = *rc::gen::inRange<uint32_t>(0, kMaxFateWeight + 1).as("tear weight");
  if (f.crash_keep_weight + f.crash_drop_weight + f.crash_tear_weight == 0) {
    f.crash_drop_weight = 1;  // a profile needs one fate
  }
  f.reorder = *rc::gen::arbitrary<bool>().as("reorder") ? Ratio{1, 2} : kNever;
  *seed = *rc::gen::inRange<uint64_t>(1, 1000).as("seed");
}

std::string FirstFindingWithinContract(const RunResult& r) {
  for (const Finding& f : r.findings) {
    if (f.contract == Contract::kWithin) {
      return absl::StrFormat("%s at %s: %s", f.invariant, f.crash_point, f.detail);
    }
  }
  return "";
}

rc::detail::TestParams PropertyParams() {
  rc::detail::TestParams params = rc::detail::configuration().testParams;
  const char* rc_params = std::getenv("RC_PARAMS");
  if (rc_params == nullptr || std::string(rc_params).find("max_success") == std::string::npos) {
    params.maxSuccess = kPropertyCases;
  }
  return params;
}

// Counts the shrinks rapidcheck accepted, and keeps an expected failure out of the
// "to reproduce, run with RC_PARAMS=..." message printed at exit.
class ShrinkCounter final : public rc::detail::TestListener {
 public:
  void onTestCaseFinished(const rc::detail::CaseDescription&) override {}
  void onShrinkTried(const rc::detail::CaseDescription&, bool accepted) override {
    if (accepted) ++accepted_;
  }
  void onTestFinished(const rc::detail::TestMetadata&, const rc::detail::TestResult&) override {}
  int accepted() const { return accepted_; }

 private:
  int accepted_ = 0;
};

// Runs `property` like RC_GTEST_PROP would, with PropertyParams().
template <typename Property>
rc::detail::TestResult CheckProperty(const std::string& name, Property property,
                                     rc::detail::TestListener* listener = nullptr) {
  rc::detail::TestMetadata metadata;
  metadata.id = "WorkloadPropertyTest/" + name;
  metadata.description = name;
  if (listener == nullptr) {
    return rc::detail::checkTestable(std::move(property), metadata, PropertyParams());
  }
  return rc::detail::checkProperty(rc::detail::toProperty(std::move(property)), metadata,
                                   PropertyParams(), *listener);
}

std::string Describe(const rc::detail::TestResult& result) {
  std::ostringstream out;
  rc::detail::printResultMessage(result, out);
  return out.str();
}

TEST(WorkloadPropertyTest, CorrectedStoreHoldsOnRandomWorkloadsAndFaults) {
  const Scenario base = LoadCorrected();
  uint64_t crash_states = 0, ios = 0;
  const rc::detail::TestResult result =
      CheckProperty("CorrectedStoreHolds", [&base, &crash_states, &ios] {
        Scenario scenario = base;
        uint64_t seed = 1;
        GenFaults(scenario, &seed);
        const std::vector<Step> steps = GenSteps(scenario);
        const RunResult r = RunSteps(scenario, seed, steps);
        crash_states += r.crash_states_checked;
        ios += r.ios;
        RC_CLASSIFY(r.crashes > 0, "crashed");
        RC_CLASSIFY(r.probes.contains("crash.write_torn") && r.probes.at("crash.write_torn") > 0,
                    "tore a write");
        RC_ASSERT(FirstFindingWithinContract(r) == "");
        RC_ASSERT(r.outcome.rfind("error", 0) != 0);
      });
  EXPECT_TRUE(result.is<rc::detail::SuccessResult>()) << Describe(result);
  std::cout << absl::StrFormat("%u crash states checked, %u I/Os\n", crash_states, ios)
            << Describe(result) << "\n";
  EXPECT_GT(crash_states, 0u) << "the generated runs crashed and recovered";
}

// Origin writes released before their exception is committed: a crash between the two leaves
// the snapshot reading the new origin data. The property must fail, and shrink.
TEST(WorkloadPropertyTest, MutatedTargetFailsAndShrinksToAFewSteps) {
  Scenario base = LoadCorrected();
  base.target.mutation = TargetMutation::kReleaseOriginBeforeCommit;
  size_t last_failing_steps = 0;
  ShrinkCounter shrinks;
  const rc::detail::TestResult result = CheckProperty(
      "MutatedTargetFails",
      [&base, &last_failing_steps] {
        Scenario scenario = base;
        uint64_t seed = 1;
        GenFaults(scenario, &seed);
        const std::vector<Step> steps = GenSteps(scenario);
        const RunResult r = RunSteps(scenario, seed, steps);
        // Shrinking ends on the last failing input: remember its length.
        if (!FirstFindingWithinContract(r).empty()) last_failing_steps = steps.size();
        RC_ASSERT(FirstFindingWithinContract(r) == "");
      },
      &shrinks);
  ASSERT_TRUE(result.is<rc::detail::FailureResult>())
      << "the mutation survived " << kPropertyCases << " cases: " << Describe(result);
  const auto& failure = result.get<rc::detail::FailureResult>();
  std::cout << "shrunk counterexample (" << last_failing_steps << " steps, " << shrinks.accepted()
            << " shrinks):\n";
  for (const auto& [name, value] : failure.counterExample) {
    std::cout << "  " << name << ": " << value << "\n";
  }
  EXPECT_GT(shrinks.accepted(), 0) << "rapidcheck shrank the first failing case";
  EXPECT_GT(last_failing_steps, 0u);
  EXPECT_LE(last_failing_steps, kMaxShrunkSteps) << "shrinking leaves a short case";
}

}  // namespace
}  // namespace snapsim
