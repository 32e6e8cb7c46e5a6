// SPDX-License-Identifier: GPL-2.0-only
//
// Stand-ins for campaign tests: a deterministic fake of one seed's run, a summary with findings,
// and fresh temporary directories.
#ifndef SNAPSIM_TESTS_SUPPORT_FAKE_CAMPAIGN_H_
#define SNAPSIM_TESTS_SUPPORT_FAKE_CAMPAIGN_H_

#include <cstdint>
#include <string>

#include "sim/campaign/campaign_summary.h"
#include "sim/check/finding.h"

namespace snapsim::testing {

// The detail of every fake finding: it must come out of reports escaped.
inline constexpr const char* kHostileDetail = "lost <script>alert(\"x\")</script> & more";

// A small sim/trace file: origin and cow lanes, a flush, a FUA write, a crash, the writes'
// fates, one line of an unknown kind and one that is not JSON.
inline constexpr const char* kSampleTrace =
    R"({"t":0,"kind":"submit","device":"cow","op":"write","sector":8,"count":8,"flags":0,"write_id":1,"result":0}
{"t":1000,"kind":"complete","device":"cow","op":"write","sector":8,"count":8,"flags":0,"write_id":1,"result":0}
{"t":1200,"kind":"submit","device":"cow","op":"flush","sector":0,"count":0,"flags":1,"write_id":2,"result":0}
{"t":2000,"kind":"complete","device":"cow","op":"flush","sector":0,"count":0,"flags":1,"write_id":2,"result":0}
{"t":2100,"kind":"submit","device":"origin","op":"write","sector":64,"count":8,"flags":2,"write_id":1,"result":0}
{"t":2300,"kind":"submit","device":"cow","op":"write","sector":16,"count":8,"flags":0,"write_id":3,"result":0}
{"t":2500,"kind":"submit","device":"cow","op":"write","sector":24,"count":8,"flags":0,"write_id":4,"result":0}
{"t":2900,"kind":"complete","device":"cow","op":"write","sector":16,"count":8,"flags":0,"write_id":3,"result":0}
{"t":3000,"kind":"mystery","device":"cow"}
not json at all
{"t":3100,"kind":"crash","device":"cow","op":"","sector":0,"count":2,"flags":0,"write_id":0,"result":0}
{"t":3100,"kind":"crash","device":"origin","op":"","sector":0,"count":1,"flags":0,"write_id":0,"result":0}
{"t":3100,"kind":"fate","device":"cow","write_id":3,"detail":"torn"}
{"t":3100,"kind":"fate","device":"cow","write_id":4,"fate":"dropped"}
{"t":3100,"kind":"fate","device":"origin","write_id":1,"detail":"kept"}
)";

// A RunResult that depends on (scenario, seed) only: seeds divisible by 4 find a lost exception,
// scenario "b" with seeds divisible by 5 a leak; probes and verdicts vary with the seed.
RunResult FakeRun(const std::string& scenario, uint64_t seed);

// A fresh empty directory under the test temp dir.
std::string MakeTempDir(const std::string& stem);

// A summary of scenarios a and b, seeds 1..20 of FakeRun.
CampaignSummary FakeSummary();

}  // namespace snapsim::testing

#endif  // SNAPSIM_TESTS_SUPPORT_FAKE_CAMPAIGN_H_
