// SPDX-License-Identifier: GPL-2.0-only
#include "reports/report_files.h"

#include <filesystem>

#include "absl/strings/str_cat.h"
#include "reports/html_report.h"
#include "reports/json_report.h"
#include "reports/junit_report.h"
#include "reports/markdown_report.h"
#include "sim/campaign/campaign.h"
#include "util/atomic_file.h"

namespace snapsim {

absl::Status WriteReports(const CampaignSummary& summary, const std::string& dir) {
  absl::Status s =
      WriteFileAtomically(absl::StrCat(dir, "/", kSummaryJsonName), RenderJsonReport(summary));
  s.Update(WriteFileAtomically(absl::StrCat(dir, "/", kSummaryMarkdownName),
                               RenderMarkdownReport(summary)));
  s.Update(
      WriteFileAtomically(absl::StrCat(dir, "/", kHtmlReportName), RenderHtmlReport(summary, dir)));
  s.Update(
      WriteFileAtomically(absl::StrCat(dir, "/", kJunitReportName), RenderJunitReport(summary)));
  return s;
}

absl::Status MergeReports(const std::vector<std::string>& dirs, const std::string& out) {
  namespace fs = std::filesystem;
  if (fs::exists(fs::path(out) / "campaign.json")) {
    return absl::FailedPreconditionError(
        absl::StrCat("refusing to merge into ", out, ": it is a campaign directory"));
  }
  absl::StatusOr<CampaignSummary> merged = MergeCampaignDirs(dirs);
  if (!merged.ok()) return merged.status();
  std::error_code ec;
  fs::create_directories(out, ec);
  if (ec) return absl::InternalError(absl::StrCat("cannot create ", out, ": ", ec.message()));
  return WriteReports(*merged, out);
}

}  // namespace snapsim
