// SPDX-License-Identifier: GPL-2.0-only
#include "tests/support/fake_campaign.h"

#include <stdlib.h>

#include <cassert>
#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "sim/campaign/campaign.h"

namespace snapsim::testing {

RunResult FakeRun(const std::string& scenario, uint64_t seed) {
  RunResult r;
  r.scenario = scenario;
  r.seed = seed;
  r.trace_hash = seed * 0x9e3779b97f4a7c15ULL;
  r.events = 100 + seed;
  r.ios = 40 + seed % 7;
  r.crashes = 1 + seed % 2;
  r.crash_states_checked = 3 + seed % 3;
  r.recoveries = r.crashes;
  r.sim_time_ns = 1000000 * seed;
  r.probes["crash.write_kept"] = seed % 3;
  r.probes["crash.write_torn"] = seed % 4 == 1 ? 2 : 0;
  r.verdicts["no_lost_committed_exception"] = Verdict{r.crash_states_checked, 0};
  r.replay_command = ReplayCommand("snapsim run", scenario, seed);
  if (seed % 4 == 0) {
    Finding f;
    f.invariant = "no_lost_committed_exception";
    f.severity = FindingSeverity::kCritical;
    f.scenario = scenario;
    f.seed = seed;
    f.crash_index = 1;
    f.crash_event = 17 * seed;
    f.crash_point = "area write queued";
    f.expected = "chunk 5 -> 9";
    f.actual = "chunk 5 unmapped";
    f.detail = kHostileDetail;
    f.replay_command = r.replay_command;
    r.findings.push_back(f);
    r.verdicts["no_lost_committed_exception"].failed = 1;
  }
  if (scenario == "b" && seed % 5 == 0) {
    Finding f;
    f.invariant = "no_leaked_chunk";
    f.severity = FindingSeverity::kWarning;
    f.contract = Contract::kBeyond;
    f.scenario = scenario;
    f.seed = seed;
    f.detail = "chunk 12 allocated and never used";
    f.replay_command = r.replay_command;
    r.findings.push_back(f);
  }
  r.outcome = r.findings.empty() ? "clean" : "findings";
  return r;
}

std::string MakeTempDir(const std::string& stem) {
  std::string base = ::testing::TempDir();
  if (base.empty() || base.back() != '/') base += '/';
  std::string pattern = absl::StrCat(base, "snapsim-", stem, "-XXXXXX");
  char* made = ::mkdtemp(pattern.data());
  assert(made != nullptr);
  (void)made;
  return pattern;
}

CampaignSummary FakeSummary() {
  CampaignConfig config;
  config.scenarios = {"a", "b"};
  config.seed_first = 1;
  config.seed_last = 20;
  config.tool_version = "0.1.0";
  config.git_commit = "abc123";
  JobResults results;
  for (uint32_t s = 0; s < 2; ++s) {
    for (uint64_t seed = 1; seed <= 20; ++seed) {
      results[JobKey{s, seed}] = FakeRun(config.scenarios[s], seed);
    }
  }
  CampaignSummary summary = Summarize(config, results);
  summary.wall_clock.wall_ms = 4000;
  summary.wall_clock.jobs = 2;
  for (uint64_t i = 0; i <= 8; ++i) {
    summary.wall_clock.rate.push_back(RateSample{i * 500, i * 5 - (i % 3)});
  }
  ComputeRates(summary);
  return summary;
}

}  // namespace snapsim::testing
