// SPDX-License-Identifier: GPL-2.0-only
//
// FindingCatalogue: the known findings of the faithful 3.7.1 store as data
// (scenarios/findings/catalogue.toml, prose in docs/findings.md). Attribution
// (sim/campaign/attribution.h) names a failing run's cause by these entries.
//
// Invariant: ids are unique slugs ([a-z0-9-]+), numbers unique and >= 1, every correction is a
// row of kNamedOptions that is part of `corrected` (core/named_options.h) and no two entries
// share one, every entry names at least one invariant. Errors are one line: "<source>: finding
// 3: correction: unknown option \"x\"".
#ifndef SNAPSIM_SIM_CAMPAIGN_FINDING_CATALOGUE_H_
#define SNAPSIM_SIM_CAMPAIGN_FINDING_CATALOGUE_H_

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace snapsim {

inline constexpr size_t kMaxCatalogueEntries = 64;

struct CatalogueEntry {
  std::string id;  // stable slug, the stem of its minimal case
  int number = 0;  // its section in docs/findings.md
  std::string title;
  std::string wrong;       // what the store does wrong
  std::string correction;  // a kNamedOptions name
  std::vector<std::string> invariants;
  std::string upstream_status;  // "fixed upstream" or "still present"
  std::string upstream_commit;  // or "unknown"
  std::string upstream_year;    // or "unknown"
  std::string upstream_kernel;  // or "unknown"
  std::string confirmed_in;     // or "unknown"
  std::string case_path;        // relative to the source tree
  // On the real kernel (`snapsim kernel replay`, docs/kernel.md): "reproduced", "holds" or
  // "not replayed"; the kernel it was replayed on (or "unknown"), and one line on how.
  std::string kernel = "not replayed";
  std::string kernel_version = "unknown";
  std::string kernel_note;

  // One line for reports: "fixed upstream: \"dm snapshot: ...\" (2014)" or
  // "still present (confirmed in 6.1)".
  std::string UpstreamText() const;
  // "reproduced on Linux 6.1.0-57-amd64 (Debian 6.1.192-3)", "holds on Linux ...",
  // "not replayed".
  std::string KernelText() const;
};

struct FindingCatalogue {
  std::vector<CatalogueEntry> entries;  // in file order

  const CatalogueEntry* FindById(std::string_view id) const;
  const CatalogueEntry* FindByCorrection(std::string_view option) const;
};

// `source` names the text in errors.
absl::StatusOr<FindingCatalogue> ParseFindingCatalogue(std::string_view toml_text,
                                                       std::string_view source);
absl::StatusOr<FindingCatalogue> LoadFindingCatalogue(const std::string& path);

// <scenario_dir>/findings/catalogue.toml when that file exists, else the project's
// (DefaultScenarioDir()); scenario_dir may be empty.
std::string FindingCataloguePath(const std::string& scenario_dir);

}  // namespace snapsim

#endif  // SNAPSIM_SIM_CAMPAIGN_FINDING_CATALOGUE_H_
