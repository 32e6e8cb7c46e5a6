// SPDX-License-Identifier: GPL-2.0-only
//
// Comparison of two campaign summaries (e.g. last night's and tonight's) as Markdown. It leads
// with causes (sim/campaign/cause.h): causes that are new, gone or still there with their run
// counts; then, as detail, finding kinds (invariant@scenario/contract) new, gone or still there
// with their seed counts; probes that started or stopped firing; the change of the rates.
//
// Contract: a pure function of the two summaries; causes and findings are matched by id, listed
// in id order. A summary without causes while it has findings (schema version 1, or a campaign
// run with --no-attribute) cannot be compared by cause: the output says so in one note and still
// compares the findings.
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
