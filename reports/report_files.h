// SPDX-License-Identifier: GPL-2.0-only
//
// The report files of a campaign directory: summary.json, summary.md, index.html and
// junit.xml, each written atomically (temporary file + rename), and their merge from shard
// directories.
//
// Contract: WriteReports touches only those four names in `dir`. MergeReports reads the
// results.jsonl of each shard directory of one campaign and writes the four files into `out`
// exactly as one process running every shard would have (wall_clock aside); it refuses an `out`
// that is itself a campaign directory.
#ifndef SNAPSIM_REPORTS_REPORT_FILES_H_
#define SNAPSIM_REPORTS_REPORT_FILES_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "sim/campaign/campaign_summary.h"

namespace snapsim {

inline constexpr const char* kSummaryJsonName = "summary.json";
inline constexpr const char* kSummaryMarkdownName = "summary.md";
inline constexpr const char* kHtmlReportName = "index.html";

absl::Status WriteReports(const CampaignSummary& summary, const std::string& dir);

absl::Status MergeReports(const std::vector<std::string>& dirs, const std::string& out);

}  // namespace snapsim

#endif  // SNAPSIM_REPORTS_REPORT_FILES_H_
