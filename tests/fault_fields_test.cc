// SPDX-License-Identifier: GPL-2.0-only
//
// kFaultFields covers every knob of FaultProfile and DeviceFaults, and everything that walks it
// (the TOML reader and writer, FamilyEnabled, DisableFamily, the beyond-contract test) agrees.
#include "sim/world/fault_fields.h"

#include <set>
#include <string>
#include <type_traits>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "sim/workload/scenario.h"
#include "sim/workload/scenario_toml.h"
#include "sim/world/probes.h"

namespace snapsim {
namespace {

// Every knob set away from its default, each to its own value, and still a valid profile.
FaultProfile EveryKnobSet() {
  FaultProfile p;
  uint32_t k = 0;
  ForEachFaultKnob(p, [&](std::string_view, const FaultField&, auto& value) {
    using Value = std::remove_reference_t<decltype(value)>;
    ++k;
    if constexpr (std::is_same_v<Value, Ratio>) {
      value = Ratio{k, 1000 + k};
    } else if constexpr (std::is_same_v<Value, bool>) {
      value = !value;
    } else {
      value = 1000 + 7 * k;  // increasing, so latency_max_ns stays above latency_min_ns
    }
  });
  return p;
}

Scenario ScenarioWith(const FaultProfile& faults) {
  Scenario s;
  s.name = "every-knob";
  s.description = "every fault knob set";
  s.geometry.origin_sectors = 2048;
  s.geometry.cow_sectors = 1024;
  s.faults = faults;
  return s;
}

TEST(FaultFields, EveryKnobIsSetAwayFromItsDefault) {
  const FaultProfile defaults;
  const FaultProfile set = EveryKnobSet();
  ASSERT_TRUE(Validate(set).ok()) << Validate(set);
  // A field without a row would be missed by every walk; the struct sizes are pinned by
  // static_asserts in fault_fields.h, and the count here pins the rows.
  size_t knobs = 0;
  ForEachFaultKnob(set, [&](std::string_view, const FaultField&, const auto&) { ++knobs; });
  EXPECT_EQ(knobs, 16u + 2 * 6u) << "profile knobs + two devices' knobs";
  EXPECT_FALSE(ScenarioToToml(ScenarioWith(set)) == ScenarioToToml(ScenarioWith(defaults)));
}

TEST(FaultFields, EveryKnobSurvivesTheTomlRoundTrip) {
  const Scenario s = ScenarioWith(EveryKnobSet());
  const std::string text = ScenarioToToml(s);
  ForEachFaultKnob(s.faults, [&](std::string_view device, const FaultField& field, const auto&) {
    EXPECT_TRUE(absl::StrContains(text, absl::StrCat("\n", std::string(field.name), " = ")))
        << device << "." << field.name << " is not written:\n"
        << text;
  });
  absl::StatusOr<Scenario> again = ParseScenario(text, "every-knob.toml");
  ASSERT_TRUE(again.ok()) << again.status() << "\n" << text;
  bool all_equal = true;
  ForEachFaultKnob(again->faults, [&](std::string_view device, const FaultField& field,
                                      const auto& value) {
    bool equal = false;
    ForEachFaultKnob(s.faults, [&](std::string_view d, const FaultField& f, const auto& original) {
      if constexpr (std::is_same_v<decltype(value), decltype(original)>) {
        if (d == device && &f == &field) equal = value == original;
      }
    });
    EXPECT_TRUE(equal) << device << "." << field.name << " changed on the round trip";
    all_equal = all_equal && equal;
  });
  EXPECT_TRUE(all_equal);
  EXPECT_EQ(ScenarioToToml(*again), text);
}

TEST(FaultFields, EveryFamilyHasAKnobAndEveryKnobAKnownFamily) {
  std::set<FaultFamily> with_knob;
  for (const FaultField& field : kFaultFields) {
    ASSERT_LE(static_cast<size_t>(field.family), kFaultFamilies.size()) << field.name;
    if (field.family != kNoFamily) with_knob.insert(field.family);
    // A drawn rate needs a family for SwarmProfile to classify.
    if (field.swarm.drawn()) {
      EXPECT_NE(field.family, kNoFamily) << field.name;
      EXPECT_LE(field.swarm.min_denominator, field.swarm.max_denominator) << field.name;
    }
  }
  for (const FaultFamilyInfo& info : kFaultFamilies) {
    EXPECT_TRUE(with_knob.count(info.family)) << info.name << " has no knob in kFaultFields";
  }
}

TEST(FaultFields, NamesAreUniqueWithinTheirStruct) {
  std::set<std::string> profile;
  std::set<std::string> device;
  const FaultProfile p;
  ForEachFaultField(p, [&](const FaultField& field, const auto&) {
    EXPECT_TRUE(profile.insert(std::string(field.name)).second) << field.name;
  });
  ForEachFaultField(p.origin, [&](const FaultField& field, const auto&) {
    EXPECT_TRUE(device.insert(std::string(field.name)).second) << field.name;
  });
  EXPECT_EQ(profile.size() + device.size(), kFaultFields.size());
}

TEST(FaultFields, EachFamilyIsOnWithEveryKnobSetAndOffOnceDisabled) {
  for (const FaultFamilyInfo& info : kFaultFamilies) {
    FaultProfile p = EveryKnobSet();
    EXPECT_TRUE(FamilyEnabled(p, info.family)) << info.name;
    DisableFamily(p, info.family);
    EXPECT_FALSE(FamilyEnabled(p, info.family)) << info.name;
    EXPECT_TRUE(Validate(p).ok()) << info.name << ": " << Validate(p);
    for (const FaultFamilyInfo& other : kFaultFamilies) {
      if (other.family == info.family) continue;
      EXPECT_TRUE(FamilyEnabled(p, other.family))
          << "disabling " << info.name << " disabled " << other.name;
    }
  }
}

TEST(FaultFields, DisablingTheLastCrashFateKeepsOne) {
  FaultProfile p;
  p.crash_keep_weight = p.crash_drop_weight = 0;
  p.crash_tear_weight = 1;
  DisableFamily(p, FaultFamily::kCrashTear);
  EXPECT_EQ(p.crash_tear_weight, 0u);
  EXPECT_EQ(p.crash_drop_weight, 1u);
}

TEST(FaultFields, OnlyABeyondProbeMakesAFindingBeyondTheContract) {
  EXPECT_FALSE(BeyondContractFaultFired(Probes{}));
  for (size_t i = 0; i < kProbeCount; ++i) {
    const Probe probe = static_cast<Probe>(i);
    Probes probes;
    probes.Bump(probe);
    EXPECT_EQ(BeyondContractFaultFired(probes), ProbeName(probe).starts_with("beyond."))
        << ProbeName(probe);
  }
}

}  // namespace
}  // namespace snapsim
