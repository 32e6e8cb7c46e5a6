// SPDX-License-Identifier: GPL-2.0-only
//
// summary.json: the machine-readable campaign summary (schema in docs/report-schema.md).
//
// Contract: RenderJsonReport gives the same bytes for summaries equal outside wall_clock except
// in the wall_clock object; ValidateSummaryJson accepts exactly the documented shape of
// schema_version 2, and of version 1 (no causes) for older files (extra fields are allowed,
// missing or mistyped ones are not).
#ifndef SNAPSIM_REPORTS_JSON_REPORT_H_
#define SNAPSIM_REPORTS_JSON_REPORT_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"
#include "sim/campaign/campaign_summary.h"

namespace snapsim {

std::string RenderJsonReport(const CampaignSummary& summary);

absl::Status ValidateSummaryJson(const nlohmann::json& j);

// Parses and validates summary.json text.
absl::StatusOr<CampaignSummary> ParseSummaryJson(const std::string& text);
absl::StatusOr<CampaignSummary> LoadSummaryJson(const std::string& path);

}  // namespace snapsim

#endif  // SNAPSIM_REPORTS_JSON_REPORT_H_
