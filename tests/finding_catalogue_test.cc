// SPDX-License-Identifier: GPL-2.0-only
//
// The finding catalogue (scenarios/findings/catalogue.toml) loads, a bad one is refused with one
// line naming the entry and the field, and it agrees with docs/findings.md.
#include "sim/campaign/finding_catalogue.h"

#include <cctype>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>

#include "gtest/gtest.h"
#include "tests/support/test_paths.h"

namespace snapsim {
namespace {

std::string Source(const std::string& rel) { return std::string(testing::kSourceDir) + "/" + rel; }

FindingCatalogue LoadProjectCatalogue() {
  absl::StatusOr<FindingCatalogue> c =
      LoadFindingCatalogue(Source("scenarios/findings/catalogue.toml"));
  EXPECT_TRUE(c.ok()) << c.status();
  return c.ok() ? *c : FindingCatalogue{};
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

TEST(FindingCatalogueTest, ProjectCatalogueHasTheEightFindingsWithTheirCases) {
  FindingCatalogue c = LoadProjectCatalogue();
  ASSERT_EQ(c.entries.size(), 8u);
  for (const CatalogueEntry& e : c.entries) {
    EXPECT_TRUE(std::filesystem::exists(Source(e.case_path))) << e.case_path;
    EXPECT_EQ(e.case_path, "scenarios/findings/" + e.id + ".case.json");
  }
  EXPECT_EQ(c.FindByCorrection("durable_invalidation")->id, "invalidation-lost-in-cow-cache");
  EXPECT_EQ(c.FindById("copy-error-hangs-bios")->UpstreamText(),
            "fixed upstream: \"dm snapshot: fix hung bios when copy error occurs\" (2015)");
  EXPECT_EQ(c.FindById("invalidation-lost-in-cow-cache")->UpstreamText(),
            "still present (confirmed in 6.1)");
}

// Each catalogue id, title and correction appears in docs/findings.md, and each numbered
// section of the doc ("## N. title") is an entry with that number and title.
TEST(FindingCatalogueTest, AgreesWithFindingsDoc) {
  FindingCatalogue c = LoadProjectCatalogue();
  const std::string doc = ReadFile(Source("docs/findings.md"));
  ASSERT_FALSE(doc.empty());
  for (const CatalogueEntry& e : c.entries) {
    EXPECT_NE(doc.find("`" + e.id + "`"), std::string::npos) << e.id;
    EXPECT_NE(doc.find("## " + std::to_string(e.number) + ". " + e.title + "\n"), std::string::npos)
        << e.title;
    EXPECT_NE(doc.find("`" + e.correction + "`"), std::string::npos) << e.correction;
  }
  // Every numbered section "\n## N. Title\n" of the doc is a catalogue entry. (A hand-written
  // scan: std::regex trips GCC 12's maybe-uninitialized warning under the sanitizers.)
  std::set<int> numbers;
  for (size_t at = doc.find("\n## "); at != std::string::npos; at = doc.find("\n## ", at + 1)) {
    const size_t start = at + 4;
    size_t digits = start;
    while (digits < doc.size() && std::isdigit(static_cast<unsigned char>(doc[digits]))) ++digits;
    if (digits == start || doc.compare(digits, 2, ". ") != 0) continue;  // not a numbered finding
    const int number = std::stoi(doc.substr(start, digits - start));
    const size_t title_start = digits + 2;
    const std::string title = doc.substr(title_start, doc.find('\n', title_start) - title_start);
    numbers.insert(number);
    bool found = false;
    for (const CatalogueEntry& e : c.entries) found |= e.number == number && e.title == title;
    EXPECT_TRUE(found) << "docs/findings.md section " << number << " is not in the catalogue";
  }
  EXPECT_EQ(numbers.size(), c.entries.size());
  // The summary table's row of each finding ends with its result on the real kernel.
  for (const CatalogueEntry& e : c.entries) {
    const std::string row = "\n| " + std::to_string(e.number) + " | ";
    const size_t at = doc.find(row);
    ASSERT_NE(at, std::string::npos) << "no table row for finding " << e.number;
    const std::string line = doc.substr(at + 1, doc.find('\n', at + 1) - at - 1);
    EXPECT_TRUE(line.size() > e.kernel.size() + 3 &&
                line.compare(line.size() - e.kernel.size() - 3, std::string::npos,
                             " " + e.kernel + " |") == 0)
        << "finding " << e.number << ": the row '" << line << "' should end with '" << e.kernel
        << "'";
  }
}

TEST(FindingCatalogueTest, KernelResultsNameTheirKernel) {
  FindingCatalogue c = LoadProjectCatalogue();
  EXPECT_EQ(c.FindById("invalidation-lost-in-cow-cache")->KernelText(),
            "reproduced on Linux 6.1.0-57-amd64 (Debian 6.1.192-3)");
  EXPECT_EQ(c.FindById("copy-error-hangs-bios")->KernelText(), "not replayed");
  for (const CatalogueEntry& e : c.entries) {
    if (e.kernel != "not replayed") {
      EXPECT_NE(e.kernel_note.find("snapsim kernel replay " + e.case_path), std::string::npos)
          << e.id << ": the note should give the replay command";
    }
  }
}

constexpr char kGood[] = R"(
[[finding]]
id = "a-b"
number = 1
title = "t"
wrong = "w"
correction = "durable_invalidation"
invariants = ["valid_flag_sticky"]
upstream_status = "still present"
upstream_commit = "unknown"
upstream_year = "unknown"
upstream_kernel = "unknown"
confirmed_in = "6.1"
case = "scenarios/findings/a-b.case.json"
)";

std::string Error(const std::string& text) {
  absl::StatusOr<FindingCatalogue> c = ParseFindingCatalogue(text, "cat.toml");
  return c.ok() ? "" : std::string(c.status().message());
}

std::string Replace(std::string text, const std::string& from, const std::string& to) {
  text.replace(text.find(from), from.size(), to);
  return text;
}

TEST(FindingCatalogueTest, BadFilesAreRefusedInOneLine) {
  EXPECT_EQ(Error(kGood), "");
  EXPECT_EQ(Error(Replace(kGood, "durable_invalidation", "fast_mode")),
            "cat.toml: finding 1: correction: \"fast_mode\" is not a corrected named option");
  EXPECT_EQ(Error(Replace(kGood, "durable_invalidation", "full_chunk_write_skips_copy")),
            "cat.toml: finding 1: correction: \"full_chunk_write_skips_copy\" is not a corrected "
            "named option");
  EXPECT_EQ(Error(Replace(kGood, "title = \"t\"\n", "")), "cat.toml: finding 1: title: missing");
  EXPECT_EQ(Error(Replace(kGood, "id = \"a-b\"", "id = \"A B\"")),
            "cat.toml: finding 1: id: must be [a-z0-9-]+");
  EXPECT_EQ(Error(Replace(kGood, "[\"valid_flag_sticky\"]", "[]")),
            "cat.toml: finding 1: invariants: must be a non-empty array of strings");
  EXPECT_EQ(
      Error(Replace(kGood, "\"still present\"", "\"gone\"")),
      "cat.toml: finding 1: upstream_status: must be \"fixed upstream\" or \"still present\"");
  EXPECT_EQ(Error(std::string(kGood) + "kernel = \"maybe\"\n"),
            "cat.toml: finding 1: kernel: must be \"reproduced\", \"holds\" or \"not replayed\"");
  EXPECT_EQ(Error(std::string(kGood) + "kernel = \"holds\"\n"),
            "cat.toml: finding 1: kernel_version: must name the kernel it was replayed on");
  EXPECT_EQ(Error(std::string(kGood) + kGood), "cat.toml: finding 2: id: used twice");
  EXPECT_EQ(Error(""), "cat.toml: no [[finding]] entry");
  const std::string syntax = Error("[[finding]\n");
  EXPECT_EQ(syntax.rfind("cat.toml:1: ", 0), 0u) << syntax;
  EXPECT_EQ(syntax.find('\n'), std::string::npos) << syntax;
}

}  // namespace
}  // namespace snapsim
