// SPDX-License-Identifier: GPL-2.0-only
//
// summary.md: the campaign summary in short, for a terminal or a mail: facts, the findings table
// with replay commands, the probes that fired and those that never did.
//
// Contract: a pure function of the summary; table cells have '|' and newlines escaped.
#ifndef SNAPSIM_REPORTS_MARKDOWN_REPORT_H_
#define SNAPSIM_REPORTS_MARKDOWN_REPORT_H_

#include <string>
#include <vector>

#include "sim/campaign/campaign_summary.h"

namespace snapsim {

std::string RenderMarkdownReport(const CampaignSummary& summary);

// "3 causes: 2 known, 1 unexplained".
std::string CausesHeadline(const CampaignSummary& summary);

// "64 runs re-checked, 0 mismatches" (", 1 inconclusive" when a re-check's worker failed).
std::string RechecksHeadline(const CampaignSummary& summary);

// One line per mismatched re-check: scenario, seed, both trace hashes, what differs.
std::vector<std::string> MismatchLines(const CampaignSummary& summary);

// A cause's case for reports: its minimized case ("cases/x.case.json, 12 steps"), else the
// catalogue's minimal case ("... (catalogue)"), else "".
std::string CauseCaseText(const Cause& cause);

// The command that replays that case: "snapsim run --replay-case PATH" (a minimized case's path
// is relative to the report directory, the catalogue's to the source tree), or "".
std::string CauseCaseReplay(const Cause& cause);

// "1..10", "1..(budget)" or "none".
std::string SeedRangeText(const CampaignSummary& summary, bool completed);

}  // namespace snapsim

#endif  // SNAPSIM_REPORTS_MARKDOWN_REPORT_H_
