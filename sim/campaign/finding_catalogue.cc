// SPDX-License-Identifier: GPL-2.0-only
#include "sim/campaign/finding_catalogue.h"

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "core/named_options.h"
#include "sim/workload/scenario.h"
#include "toml++/toml.h"
#include "util/absl_view.h"

namespace snapsim {
namespace {

constexpr const char* kCatalogueRelPath = "findings/catalogue.toml";

absl::Status Bad(std::string_view source, size_t index, std::string_view field,
                 std::string_view problem) {
  return absl::InvalidArgumentError(absl::StrCat(AbslView(source), ": finding ", index + 1, ": ",
                                                 AbslView(field), ": ", AbslView(problem)));
}

// A required non-empty string field.
absl::Status TakeString(const toml::table& t, std::string_view source, size_t index,
                        std::string_view field, std::string& out) {
  const toml::node* node = t.get(field);
  if (node == nullptr) return Bad(source, index, field, "missing");
  std::optional<std::string> value = node->value<std::string>();
  if (!value || value->empty()) return Bad(source, index, field, "must be a non-empty string");
  out = *value;
  return absl::OkStatus();
}

absl::StatusOr<CatalogueEntry> ParseEntry(const toml::table& t, std::string_view source,
                                          size_t index) {
  CatalogueEntry e;
  const std::pair<const char*, std::string*> strings[] = {
      {"id", &e.id},
      {"title", &e.title},
      {"wrong", &e.wrong},
      {"correction", &e.correction},
      {"upstream_status", &e.upstream_status},
      {"upstream_commit", &e.upstream_commit},
      {"upstream_year", &e.upstream_year},
      {"upstream_kernel", &e.upstream_kernel},
      {"confirmed_in", &e.confirmed_in},
      {"case", &e.case_path},
  };
  for (const auto& [field, out] : strings) {
    if (absl::Status s = TakeString(t, source, index, field, *out); !s.ok()) return s;
  }
  // The kernel fields are optional: a finding nobody replayed on a kernel is "not replayed".
  for (const auto& [field, out] :
       {std::pair{"kernel", &e.kernel}, std::pair{"kernel_version", &e.kernel_version},
        std::pair{"kernel_note", &e.kernel_note}}) {
    if (t.get(field) == nullptr) continue;
    if (absl::Status s = TakeString(t, source, index, field, *out); !s.ok()) return s;
  }
  if (e.kernel != "reproduced" && e.kernel != "holds" && e.kernel != "not replayed") {
    return Bad(source, index, "kernel", "must be \"reproduced\", \"holds\" or \"not replayed\"");
  }
  if (e.kernel != "not replayed" && e.kernel_version == "unknown") {
    return Bad(source, index, "kernel_version", "must name the kernel it was replayed on");
  }
  if (!IsScenarioName(e.id)) return Bad(source, index, "id", "must be [a-z0-9-]+");
  std::optional<int64_t> number = t["number"].value<int64_t>();
  if (!number || *number < 1) return Bad(source, index, "number", "must be an integer >= 1");
  e.number = static_cast<int>(*number);
  const NamedOption* option = FindNamedOption(e.correction);
  if (option == nullptr || !option->corrected) {
    return Bad(source, index, "correction",
               absl::StrCat("\"", e.correction, "\" is not a corrected named option"));
  }
  if (e.upstream_status != "fixed upstream" && e.upstream_status != "still present") {
    return Bad(source, index, "upstream_status", "must be \"fixed upstream\" or \"still present\"");
  }
  const toml::array* invariants = t["invariants"].as_array();
  if (invariants == nullptr || invariants->empty()) {
    return Bad(source, index, "invariants", "must be a non-empty array of strings");
  }
  for (const toml::node& item : *invariants) {
    std::optional<std::string> name = item.value<std::string>();
    if (!name) return Bad(source, index, "invariants", "must be a non-empty array of strings");
    e.invariants.push_back(*name);
  }
  return e;
}

}  // namespace

std::string CatalogueEntry::UpstreamText() const {
  if (upstream_status == "still present") {
    return confirmed_in == "unknown"
               ? "still present (no newer kernel checked)"
               : absl::StrCat("still present (confirmed in ", confirmed_in, ")");
  }
  std::string text = "fixed upstream";
  if (upstream_kernel != "unknown") absl::StrAppend(&text, " in ", upstream_kernel);
  if (upstream_commit != "unknown") absl::StrAppend(&text, ": \"", upstream_commit, "\"");
  if (upstream_year != "unknown") absl::StrAppend(&text, " (", upstream_year, ")");
  return text;
}

std::string CatalogueEntry::KernelText() const {
  if (kernel == "not replayed") return kernel;
  return absl::StrCat(kernel, " on Linux ", kernel_version);
}

const CatalogueEntry* FindingCatalogue::FindById(std::string_view id) const {
  for (const CatalogueEntry& e : entries) {
    if (e.id == id) return &e;
  }
  return nullptr;
}

const CatalogueEntry* FindingCatalogue::FindByCorrection(std::string_view option) const {
  for (const CatalogueEntry& e : entries) {
    if (e.correction == option) return &e;
  }
  return nullptr;
}

absl::StatusOr<FindingCatalogue> ParseFindingCatalogue(std::string_view toml_text,
                                                       std::string_view source) {
  toml::table root;
  try {
    root = toml::parse(toml_text, source);
  } catch (const toml::parse_error& error) {
    return absl::InvalidArgumentError(absl::StrCat(AbslView(source), ":", error.source().begin.line,
                                                   ": ", AbslView(error.description())));
  }
  const toml::array* list = root["finding"].as_array();
  if (list == nullptr || list->empty()) {
    return absl::InvalidArgumentError(absl::StrCat(AbslView(source), ": no [[finding]] entry"));
  }
  if (list->size() > kMaxCatalogueEntries) {
    return absl::InvalidArgumentError(
        absl::StrCat(AbslView(source), ": more than ", kMaxCatalogueEntries, " findings"));
  }
  FindingCatalogue catalogue;
  std::set<std::string> ids, corrections;
  std::set<int> numbers;
  for (size_t i = 0; i < list->size(); ++i) {
    const toml::table* t = list->get(i)->as_table();
    if (t == nullptr) return Bad(source, i, "[[finding]]", "must be a table");
    absl::StatusOr<CatalogueEntry> e = ParseEntry(*t, source, i);
    if (!e.ok()) return e.status();
    if (!ids.insert(e->id).second) return Bad(source, i, "id", "used twice");
    if (!numbers.insert(e->number).second) return Bad(source, i, "number", "used twice");
    if (!corrections.insert(e->correction).second) {
      return Bad(source, i, "correction", "already answers another finding");
    }
    catalogue.entries.push_back(*std::move(e));
  }
  return catalogue;
}

absl::StatusOr<FindingCatalogue> LoadFindingCatalogue(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat(path, ": cannot open the finding catalogue"));
  std::stringstream text;
  text << in.rdbuf();
  return ParseFindingCatalogue(text.str(), path);
}

std::string FindingCataloguePath(const std::string& scenario_dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!scenario_dir.empty()) {
    fs::path own = fs::path(scenario_dir) / kCatalogueRelPath;
    if (fs::exists(own, ec)) return own.string();
  }
  return (fs::path(DefaultScenarioDir()) / kCatalogueRelPath).string();
}

}  // namespace snapsim
