// SPDX-License-Identifier: GPL-2.0-only
//
// Minimization per cause: the budget goes to unexplained causes first, each cause gets one case
// that every finding group of the cause shares, a known cause's case still passes with its
// correction on, and a rerun reuses the cases on disk.
#include "sim/campaign/campaign_minimize.h"

#include <filesystem>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "core/named_options.h"
#include "gtest/gtest.h"
#include "sim/campaign/attribution.h"
#include "sim/run/replay_case.h"
#include "sim/run/run.h"
#include "sim/workload/scenario_toml.h"
#include "tests/support/fake_campaign.h"
#include "tests/support/test_paths.h"

namespace snapsim {
namespace {

namespace fs = std::filesystem;

constexpr uint32_t kRunsPerCase = 120;  // enough to shrink both seeds well below their length

Scenario Load(const std::string& name) {
  absl::StatusOr<Scenario> s =
      LoadScenarioByName(name, std::string(testing::kSourceDir) + "/scenarios");
  EXPECT_TRUE(s.ok()) << s.status();
  return s.ok() ? *s : Scenario{};
}

bool FailsInvariant(const RunResult& r, const std::string& invariant) {
  for (const Finding& f : r.findings) {
    if (f.invariant == invariant) return true;
  }
  return false;
}

// A campaign of two jobs, attributed for real: seed 2 of area-boundary-reload (the catalogued
// next_free bug) and seed 3 of default with a planted store bug no correction fixes.
class CampaignMinimizeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    scenarios_.emplace("area-boundary-reload", Load("area-boundary-reload"));
    Scenario planted = Load("default");
    planted.store.mutation = StoreMutation::kNoAreaFlush;
    scenarios_.emplace("default", planted);
    CampaignConfig config;
    config.scenarios = {"area-boundary-reload", "default"};
    config.seed_first = 2;
    config.seed_last = 3;
    JobResults results;
    results[JobKey{0, 2}] = RunSeed(scenarios_.at("area-boundary-reload"), 2);
    results[JobKey{1, 3}] = RunSeed(scenarios_.at("default"), 3);
    summary_ = Summarize(config, results);
    absl::StatusOr<FindingCatalogue> catalogue = LoadFindingCatalogue(
        std::string(testing::kSourceDir) + "/scenarios/findings/catalogue.toml");
    ASSERT_TRUE(catalogue.ok()) << catalogue.status();
    const CorrectionReplay replay = [&](const RunResult& run, const std::vector<std::string>& on) {
      Scenario s = scenarios_.at(run.scenario);
      for (const std::string& name : on) SetNamedOption(*FindNamedOption(name), s.store, s.target);
      return RunSeed(s, run.seed);
    };
    AttributeCampaign(summary_, results, *catalogue, replay, {});
    ASSERT_EQ(summary_.causes.size(), 2u);
    ASSERT_FALSE(summary_.causes[0].known) << "unexplained causes come first";
    ASSERT_EQ(summary_.causes[1].id, "next-free-lands-on-metadata-area");
    out_ = testing::MakeTempDir("campaign_minimize");
  }

  absl::StatusOr<std::vector<MinimizedCase>> MinimizeWith(uint32_t max_cases, std::ostream& log) {
    CampaignMinimizeOptions options;
    options.out_dir = out_;
    options.max_cases = max_cases;
    options.max_runs_per_case = kRunsPerCase;
    options.log_out = &log;
    const ScenarioLoader load = [&](const std::string& name) -> absl::StatusOr<Scenario> {
      return scenarios_.at(name);
    };
    return MinimizeCampaignFindings(summary_, load, options);
  }

  std::map<std::string, Scenario> scenarios_;
  CampaignSummary summary_;
  std::string out_;
};

TEST_F(CampaignMinimizeTest, TheBudgetGoesToUnexplainedCausesFirst) {
  std::ostringstream log;
  absl::StatusOr<std::vector<MinimizedCase>> cases = MinimizeWith(1, log);
  ASSERT_TRUE(cases.ok()) << cases.status();
  ASSERT_EQ(cases->size(), 1u);
  const Cause& unexplained = summary_.causes[0];
  const Cause& known = summary_.causes[1];
  EXPECT_EQ((*cases)[0].id, unexplained.id);
  EXPECT_EQ(unexplained.minimized_case, "cases/" + unexplained.id + ".case.json");
  EXPECT_EQ(unexplained.minimized_trace, "cases/" + unexplained.id + ".trace.jsonl");
  EXPECT_GT(unexplained.minimized_steps, 0u);
  EXPECT_TRUE(fs::exists(fs::path(out_) / unexplained.minimized_trace));
  EXPECT_TRUE(known.minimized_case.empty());
  EXPECT_NE(log.str().find("1 more causes left as seeds"), std::string::npos) << log.str();
}

TEST_F(CampaignMinimizeTest, EachCauseHasOneCaseThatKeepsItsCauseAndIsReusedOnRerun) {
  std::ostringstream log;
  absl::StatusOr<std::vector<MinimizedCase>> cases = MinimizeWith(8, log);
  ASSERT_TRUE(cases.ok()) << cases.status();
  ASSERT_EQ(cases->size(), 2u);
  size_t files = 0;
  for (const auto& entry : fs::directory_iterator(fs::path(out_) / "cases")) {
    files += entry.path().string().ends_with(".case.json") ? 1 : 0;
  }
  EXPECT_EQ(files, 2u) << "one case per cause";
  // Every finding group shares its cause's case.
  for (const FindingGroup& g : summary_.findings) {
    for (const Cause& c : summary_.causes) {
      if (c.id == g.cause) {
        EXPECT_EQ(g.minimized, c.minimized_case) << g.id;
      }
    }
  }
  // The known cause's case fails its invariant, and passes with the correction on.
  const Cause& known = summary_.causes[1];
  ASSERT_FALSE(known.minimized_case.empty()) << log.str();
  absl::StatusOr<ReplayCase> c = LoadReplayCase((fs::path(out_) / known.minimized_case).string());
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->expected_invariant, known.first_run.invariant);
  EXPECT_LT(c->steps.size(), StepsForSeed(scenarios_.at("area-boundary-reload"), 2).size());
  EXPECT_TRUE(FailsInvariant(RunSteps(c->scenario, c->seed, c->steps), c->expected_invariant));
  Scenario corrected = c->scenario;
  corrected.store.skip_metadata_after_load = true;
  EXPECT_TRUE(RunSteps(corrected, c->seed, c->steps).findings.empty());

  // A rerun minimizes nothing: both cases come from disk, unchanged.
  const CampaignSummary first = summary_;
  for (Cause& cause : summary_.causes) cause.minimized_case.clear();
  std::ostringstream again;
  absl::StatusOr<std::vector<MinimizedCase>> rerun = MinimizeWith(8, again);
  ASSERT_TRUE(rerun.ok()) << rerun.status();
  for (const MinimizedCase& m : *rerun) EXPECT_TRUE(m.reused) << m.id << "\n" << again.str();
  EXPECT_TRUE(SameIgnoringWallClock(first, summary_));
}

}  // namespace
}  // namespace snapsim
