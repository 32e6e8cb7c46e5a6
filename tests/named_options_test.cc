// SPDX-License-Identifier: GPL-2.0-only
//
// kNamedOptions covers every named bool of StoreOptions and TargetOptions; --option, `corrected`
// and the scenario file's [store] and [target] sections all follow it.
#include "core/named_options.h"

#include <set>
#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "sim/workload/scenario.h"
#include "sim/workload/scenario_toml.h"

namespace snapsim {
namespace {

// How many rows read true in `store` and `target`.
size_t OptionsOn(StoreOptions& store, TargetOptions& target) {
  size_t on = 0;
  for (const NamedOption& option : kNamedOptions) {
    bool* field = NamedOptionField(option, store);
    if (field == nullptr) field = NamedOptionField(option, target);
    on += *field ? 1 : 0;
  }
  return on;
}

TEST(NamedOptions, EachRowIsFoundByNameAndSetsExactlyItsOwnField) {
  std::set<std::string> names;
  for (const NamedOption& option : kNamedOptions) {
    EXPECT_TRUE(names.insert(std::string(option.name)).second) << option.name;
    EXPECT_EQ(FindNamedOption(option.name), &option);
    EXPECT_FALSE(option.help.empty()) << option.name;
    StoreOptions store;
    TargetOptions target;
    ASSERT_EQ(OptionsOn(store, target), 0u) << "the defaults are the faithful store";
    SetNamedOption(option, store, target);
    EXPECT_EQ(OptionsOn(store, target), 1u) << option.name;
    EXPECT_EQ(NamedOptionField(option, store) == nullptr,
              NamedOptionField(option, target) != nullptr)
        << option.name << " lives in exactly one struct";
  }
  EXPECT_EQ(FindNamedOption(kCorrectedOptionName), nullptr);
  EXPECT_EQ(FindNamedOption("bogus"), nullptr);
}

TEST(NamedOptions, CorrectedIsTheEightCorrections) {
  StoreOptions store;
  TargetOptions target;
  ApplyCorrectedOptions(store, target);
  EXPECT_EQ(OptionsOn(store, target), 8u);
  EXPECT_TRUE(store.skip_metadata_after_load);
  EXPECT_TRUE(store.durable_invalidation);
  EXPECT_TRUE(store.clear_stale_slots_after_load);
  EXPECT_TRUE(store.zero_area_before_header);
  EXPECT_TRUE(target.flush_origin_before_commit_merge);
  EXPECT_TRUE(target.commit_failed_copies);
  EXPECT_TRUE(target.complete_exceptions_in_order);
  EXPECT_TRUE(target.fail_origin_until_invalid_on_disk);
  EXPECT_FALSE(target.full_chunk_write_skips_copy) << "a newer kernel's shortcut, no correction";
}

TEST(NamedOptions, NamesListCorrectedThenTheCorrectionsThenTheRest) {
  EXPECT_EQ(
      NamedOptionNames(),
      "corrected, skip_metadata_after_load, durable_invalidation, "
      "clear_stale_slots_after_load, zero_area_before_header, flush_origin_before_commit_merge, "
      "commit_failed_copies, complete_exceptions_in_order, fail_origin_until_invalid_on_disk, "
      "full_chunk_write_skips_copy");
}

TEST(NamedOptions, EachOptionSurvivesTheScenarioTomlRoundTripInItsSection) {
  for (const NamedOption& option : kNamedOptions) {
    Scenario s;
    s.name = "one-option";
    s.description = "one named option on";
    s.geometry.origin_sectors = 2048;
    s.geometry.cow_sectors = 1024;
    SetNamedOption(option, s.store, s.target);
    const std::string text = ScenarioToToml(s);
    const std::string section =
        NamedOptionField(option, s.store) != nullptr ? "[store]" : "[target]";
    const size_t at = text.find(absl::StrCat("\n", std::string(option.name), " = true\n"));
    ASSERT_NE(at, std::string::npos) << option.name << ":\n" << text;
    // [store] comes before [target]: the key stands after its own header and no later one.
    EXPECT_LT(text.find(section), at) << option.name << " is written outside " << section;
    if (section == "[store]") {
      EXPECT_GT(text.find("[target]"), at) << option.name;
    }
    absl::StatusOr<Scenario> again = ParseScenario(text, "one-option.toml");
    ASSERT_TRUE(again.ok()) << again.status();
    EXPECT_EQ(OptionsOn(again->store, again->target), 1u) << option.name;
    EXPECT_TRUE(*again == s) << option.name;
  }
}

}  // namespace
}  // namespace snapsim
