// SPDX-License-Identifier: GPL-2.0-only
//
// Stand-ins for campaign tests: a deterministic fake of one seed's run, a summary with findings,
// and fresh temporary directories.
#ifndef SNAPSIM_TESTS_SUPPORT_FAKE_CAMPAIGN_H_
#define SNAPSIM_TESTS_SUPPORT_FAKE_CAMPAIGN_H_

#include <cstdint>
#include <string>

#include "sim/campaign_summary.h"
#include "sim/finding.h"

namespace snapsim::testing {

// The detail of every fake finding: it must come out of reports escaped.
inline constexpr const char* kHostileDetail = "lost <script>alert(\"x\")</script> & more";

// A RunResult that depends on (scenario, seed) only: seeds divisible by 4 find a lost exception,
// scenario "b" with seeds divisible by 5 a leak; probes and verdicts vary with the seed.
RunResult FakeRun(const std::string& scenario, uint64_t seed);

// A fresh empty directory under the test temp dir.
std::string MakeTempDir(const std::string& stem);

// A summary of scenarios a and b, seeds 1..20 of FakeRun.
CampaignSummary FakeSummary();

}  // namespace snapsim::testing

#endif  // SNAPSIM_TESTS_SUPPORT_FAKE_CAMPAIGN_H_
