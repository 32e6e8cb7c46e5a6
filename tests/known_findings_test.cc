// SPDX-License-Identifier: GPL-2.0-only
//
// Every known finding of the faithful 3.7.1 store is a replay case in scenarios/findings/. Each
// becomes two ctest tests: the faithful store still fails the named invariant, and the named
// corrected option makes the same case hold. docs/findings.md explains each one.
#include <filesystem>
#include <string>
#include <vector>

#include "core/named_options.h"
#include "gtest/gtest.h"
#include "sim/run/replay_case.h"
#include "sim/run/run.h"
#include "tests/support/test_paths.h"

namespace snapsim {
namespace {

struct KnownFinding {
  std::string file;        // under scenarios/findings/
  std::string invariant;   // what the faithful store fails
  std::string correction;  // the corrected option that answers it
};

const std::vector<KnownFinding>& KnownFindings() {
  static const std::vector<KnownFinding> kFindings = {
      {"next-free-lands-on-metadata-area.case.json", "table_well_formed",
       "skip_metadata_after_load"},
      {"invalidation-lost-in-cow-cache.case.json", "valid_flag_sticky", "durable_invalidation"},
      {"merge-commits-before-origin-durable.case.json", "merge_image",
       "flush_origin_before_commit_merge"},
      {"copy-error-hangs-bios.case.json", "liveness", "commit_failed_copies"},
      {"torn-area-write-leaves-stale-slots.case.json", "table_well_formed",
       "clear_stale_slots_after_load"},
      {"out-of-order-commits-leak-cow-space.case.json", "cow_space_accounted",
       "complete_exceptions_in_order"},
      {"failed-invalidation-header-write-ignored.case.json", "snapshot_image",
       "fail_origin_until_invalid_on_disk"},
      {"new-snapshot-header-before-area-zeroed.case.json", "activation_succeeds",
       "zero_area_before_header"},
  };
  return kFindings;
}

// gtest prints parameters in ctest names: a readable one, not the struct's bytes.
void PrintTo(const KnownFinding& f, std::ostream* os) { *os << f.file; }

// Through the named-option table, as --option does.
void ApplyCorrection(const std::string& name, Scenario& s) {
  const NamedOption* option = FindNamedOption(name);
  ASSERT_NE(option, nullptr) << name << " is not a named option";
  SetNamedOption(*option, s.store, s.target);
}

ReplayCase Load(const KnownFinding& f) {
  const std::string path = std::string(testing::kSourceDir) + "/scenarios/findings/" + f.file;
  absl::StatusOr<ReplayCase> c = LoadReplayCase(path);
  EXPECT_TRUE(c.ok()) << c.status();
  return c.ok() ? *c : ReplayCase{};
}

class KnownFindingTest : public ::testing::TestWithParam<KnownFinding> {};

TEST_P(KnownFindingTest, FaithfulStoreStillFails) {
  const KnownFinding& f = GetParam();
  ReplayCase c = Load(f);
  EXPECT_EQ(c.expected_invariant, f.invariant);
  RunResult r = RunSteps(c.scenario, c.seed, c.steps);
  ASSERT_FALSE(r.findings.empty()) << f.file << " no longer reproduces";
  EXPECT_EQ(r.findings[0].invariant, f.invariant);
}

TEST_P(KnownFindingTest, CorrectedOptionHolds) {
  const KnownFinding& f = GetParam();
  ReplayCase c = Load(f);
  ApplyCorrection(f.correction, c.scenario);
  RunResult r = RunSteps(c.scenario, c.seed, c.steps);
  EXPECT_TRUE(r.findings.empty()) << f.correction << " does not hold: "
                                  << (r.findings.empty() ? "" : r.findings[0].detail);
  EXPECT_GT(r.verdicts.size(), 0u) << "the corrected run checked something";
}

TEST(KnownFindingsTest, EveryCaseFileIsListed) {
  size_t files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(std::string(testing::kSourceDir) +
                                                               "/scenarios/findings")) {
    if (entry.path().extension() == ".json") ++files;
  }
  EXPECT_EQ(files, KnownFindings().size());
}

std::string CaseName(const ::testing::TestParamInfo<KnownFinding>& info) {
  std::string name = info.param.file.substr(0, info.param.file.find('.'));
  for (char& ch : name) {
    if (ch == '-') ch = '_';
  }
  return name;
}

INSTANTIATE_TEST_SUITE_P(Findings, KnownFindingTest, ::testing::ValuesIn(KnownFindings()),
                         CaseName);

}  // namespace
}  // namespace snapsim
