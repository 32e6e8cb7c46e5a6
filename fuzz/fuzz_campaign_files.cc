// SPDX-License-Identifier: GPL-2.0-only
//
// Fuzz target: the files a campaign directory holds and `snapsim campaign` (resume) and
// `snapsim report` read back: results.jsonl through ParseResultsJsonl, and summary.json through
// ParseSummaryJson. Both get the same bytes; the seed corpus has files of each kind.
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "fuzz/fuzz_target.h"
#include "reports/json_report.h"
#include "sim/campaign/campaign.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace snapsim;
  const std::string text(reinterpret_cast<const char*>(data), size);
  // The campaign the results belong to: the seed corpus's results are of these jobs.
  CampaignConfig config;
  config.scenarios = {"default", "many-areas"};
  config.seed_first = 1;
  config.seed_last = 1000;
  absl::StatusOr<JobResults> results = ParseResultsJsonl(text, "results.jsonl", config);
  if (results.ok()) {
    for (const auto& [key, result] : *results) {
      FuzzCheck(KeyOf(config, result) == key, "a result is keyed by its own job");
    }
  }
  absl::StatusOr<CampaignSummary> summary = ParseSummaryJson(text);
  FuzzCheck(summary.ok() || !summary.status().message().empty(), "a refused summary says why");
  return 0;
}
