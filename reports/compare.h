// SPDX-License-Identifier: GPL-2.0-only
//
// Comparison of two campaign summaries (e.g. last night's and tonight's) as Markdown: findings
// that are new, gone or still there (with their seed counts), probes that started or stopped
// firing, and the change of the rates.
//
// Contract: a pure function of the two summaries; findings are matched by id (their signature),
// listed in id order.
#ifndef SNAPSIM_REPORTS_COMPARE_H_
#define SNAPSIM_REPORTS_COMPARE_H_

#include <string>

#include "absl/status/statusor.h"
#include "sim/campaign/campaign_summary.h"

namespace snapsim {

std::string CompareSummaries(const CampaignSummary& previous, const CampaignSummary& current);

// Loads two summary.json files and compares them.
absl::StatusOr<std::string> CompareSummaryFiles(const std::string& previous_path,
                                                const std::string& current_path);

}  // namespace snapsim

#endif  // SNAPSIM_REPORTS_COMPARE_H_
