// SPDX-License-Identifier: GPL-2.0-only
//
// junit.xml: a campaign as JUnit XML for CI test views. One <testsuite> per scenario; in it one
// failing <testcase> per cause (sim/campaign/cause.h) seen in that scenario, its message naming
// the cause, its catalogue id and the command that replays it, and one passing <testcase>
// "clean" when the scenario had no failing run. A summary without causes (attribution not run)
// gets one failing testcase per finding group instead.
#ifndef SNAPSIM_REPORTS_JUNIT_REPORT_H_
#define SNAPSIM_REPORTS_JUNIT_REPORT_H_

#include <string>
#include <string_view>

#include "sim/campaign/campaign_summary.h"

namespace snapsim {

inline constexpr const char* kJunitReportName = "junit.xml";

std::string RenderJunitReport(const CampaignSummary& summary);

// Text with &, <, >, " and ' escaped, and control characters other than tab and newline
// dropped (XML 1.0 cannot carry them).
std::string XmlEscape(std::string_view text);

}  // namespace snapsim

#endif  // SNAPSIM_REPORTS_JUNIT_REPORT_H_
