// SPDX-License-Identifier: GPL-2.0-only
//
// snapsim report: work on campaign reports after the fact.
//   merge OUT DIR...    the shard directories of one campaign as one report in OUT
//   compare PREV CUR    two summary.json files (or campaign directories): new, gone and
//                       remaining causes, then findings, probes, rates, as Markdown on stdout
// Exit 0 done (compare: whatever changed; scripts/nightly.sh relies on it), 1 merge found
// findings, 2 bad input.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "cli/command.h"
#include "reports/compare.h"
#include "reports/json_report.h"
#include "reports/junit_report.h"
#include "reports/markdown_report.h"
#include "reports/report_files.h"
#include "sim/campaign/attribution.h"
#include "sim/campaign/campaign.h"
#include "sim/campaign/campaign_summary.h"

namespace snapsim::cli {
namespace {

namespace fs = std::filesystem;

constexpr char kUsage[] =
    "usage: snapsim report merge OUT SHARD_DIR...\n"
    "       snapsim report compare PREVIOUS CURRENT\n\n"
    "merge: reads the results of the shard directories of one campaign (snapsim campaign\n"
    "--shard I/N --out SHARD_DIR) and writes summary.json, summary.md and index.html into OUT,\n"
    "exactly as one process running every shard would have (wall clock aside). OUT must be new,\n"
    "empty, or an earlier merge's output (only summary.json, summary.md, index.html, junit.xml).\n"
    "Minimized cases found in the shards' summaries are linked from the merged report.\n"
    "compare: compares two summary.json files (a campaign directory stands for its\n"
    "summary.json) and prints, as Markdown, new, gone and remaining causes with their runs,\n"
    "then new, gone and remaining finding kinds, probes and rates. A summary without causes\n"
    "(schema version 1, or --no-attribute) is compared by finding kind, with a note.\n"
    "Exit status: 0 done (compare: whatever it found), 1 the merged campaign has findings,\n"
    "2 bad input.";

constexpr size_t kMaxShardDirs = 4096;

int Fail(const std::string& problem) {
  absl::FPrintF(stderr, "snapsim report: %s\n", problem);
  return kExitUsage;
}

std::string SummaryPath(const std::string& path) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) return (fs::path(path) / kSummaryJsonName).string();
  return path;
}

// A shard minimized some groups: point the merged report at its files (absolute paths, since
// they live in the shard's directory, not in OUT).
bool AdoptMinimizedCases(const std::vector<std::string>& dirs, CampaignSummary& merged) {
  bool adopted = false;
  for (const std::string& dir : dirs) {
    absl::StatusOr<CampaignSummary> shard = LoadSummaryJson(SummaryPath(dir));
    if (!shard.ok()) continue;  // a shard interrupted before its summary: nothing to adopt
    for (const FindingGroup& from : shard->findings) {
      if (from.minimized.empty()) continue;
      for (FindingGroup& to : merged.findings) {
        if (to.id != from.id || !to.minimized.empty() || to.first.seed != from.first.seed) continue;
        auto absolute = [&](const std::string& p) {
          return p.empty() || p[0] == '/' ? p : fs::absolute(fs::path(dir) / p).string();
        };
        to.minimized = absolute(from.minimized);
        to.trace = absolute(from.trace);
        adopted = true;
      }
    }
  }
  return adopted;
}

// OUT may be missing, an empty directory, or the output of an earlier merge: a directory that
// holds nothing but the report files a merge writes, its summary.json among them. Anything else
// (a campaign's own directory, an unrelated one) is refused, so a merge never replaces a file it
// did not write. "" when OUT is acceptable, else the problem.
std::string CheckMergeOut(const std::string& out) {
  std::error_code ec;
  if (!fs::exists(out, ec)) return "";
  if (!fs::is_directory(out, ec)) return absl::StrCat(out, " exists and is not a directory");
  const std::vector<std::string> report_files = {kSummaryJsonName, kSummaryMarkdownName,
                                                 kHtmlReportName, kJunitReportName};
  bool empty = true;
  for (fs::directory_iterator it(out, ec), end; !ec && it != end; it.increment(ec)) {
    empty = false;
    const std::string name = it->path().filename().string();
    if (std::find(report_files.begin(), report_files.end(), name) == report_files.end() ||
        !it->is_regular_file(ec)) {
      return absl::StrCat(out, " is not empty and not an earlier merge's output (it holds ", name,
                          "); give a new or empty directory");
    }
  }
  if (ec) return absl::StrCat(out, ": ", ec.message());
  if (!empty && !fs::is_regular_file(fs::path(out) / kSummaryJsonName, ec)) {
    return absl::StrCat(out, " is not empty and not an earlier merge's output (no ",
                        kSummaryJsonName, "); give a new or empty directory");
  }
  return "";
}

int Merge(const std::vector<std::string>& args) {
  if (args.size() < 3) return Fail("merge needs OUT and at least one shard directory");
  if (args.size() - 2 > kMaxShardDirs) {
    return Fail(absl::StrCat("at most ", kMaxShardDirs, " shard directories"));
  }
  const std::string& out = args[1];
  const std::vector<std::string> dirs(args.begin() + 2, args.end());
  if (const std::string problem = CheckMergeOut(out); !problem.empty()) return Fail(problem);
  std::error_code ec;
  for (const std::string& dir : dirs) {
    if (!fs::is_directory(dir, ec)) return Fail(absl::StrCat(dir, " is not a directory"));
  }
  if (absl::Status s = MergeReports(dirs, out); !s.ok()) return Fail(std::string(s.message()));
  absl::StatusOr<CampaignSummary> merged = LoadSummaryJson(SummaryPath(out));
  if (!merged.ok()) return Fail(std::string(merged.status().message()));
  // The causes the shards attributed (merge does not replay), minimized cases by absolute path.
  std::vector<CampaignSummary> shards;
  for (const std::string& dir : dirs) {
    absl::StatusOr<CampaignSummary> shard = LoadSummaryJson(SummaryPath(dir));
    if (!shard.ok()) continue;  // interrupted before its summary: nothing attributed
    for (Cause& c : shard->causes) {
      for (std::string* path : {&c.minimized_case, &c.minimized_trace}) {
        if (!path->empty() && (*path)[0] != '/') {
          *path = fs::absolute(fs::path(dir) / *path).string();
        }
      }
    }
    shards.push_back(*std::move(shard));
  }
  MergeShardCauses(shards, *merged);
  const bool adopted = AdoptMinimizedCases(dirs, *merged);
  if (adopted || !merged->causes.empty()) {
    if (absl::Status s = WriteReports(*merged, out); !s.ok()) {
      return Fail(std::string(s.message()));
    }
  }
  absl::PrintF("merged %u shard directories: %u runs, %u with findings, %u finding kinds\n",
               dirs.size(), merged->seeds_run, merged->runs_with_findings, merged->findings.size());
  const size_t known = std::count_if(merged->causes.begin(), merged->causes.end(),
                                     [](const Cause& c) { return c.known; });
  absl::PrintF("%u causes: %u known, %u unexplained\n", merged->causes.size(), known,
               merged->causes.size() - known);
  absl::PrintF("re-check: %s\n", RechecksHeadline(*merged));
  absl::PrintF("report: %s\n", (fs::path(out) / kHtmlReportName).string());
  return merged->findings.empty() ? kExitOk : kExitFindings;
}

int Compare(const std::vector<std::string>& args) {
  if (args.size() != 3) return Fail("compare needs exactly PREVIOUS and CURRENT");
  const std::string previous = SummaryPath(args[1]);
  const std::string current = SummaryPath(args[2]);
  absl::StatusOr<std::string> text = CompareSummaryFiles(previous, current);
  if (!text.ok()) return Fail(std::string(text.status().message()));
  std::cout << *text;
  return kExitOk;
}

int ReportMain(const std::vector<std::string>& args) {
  if (args.empty()) return Fail("which report command? merge or compare (see --help)");
  if (args[0] == "merge") return Merge(args);
  if (args[0] == "compare") return Compare(args);
  return Fail(absl::StrCat("unknown report command '", args[0], "' (merge or compare)"));
}

}  // namespace

SNAPSIM_REGISTER_COMMAND(report, Command{"report",
                                         "merge shard reports, or compare two campaign summaries",
                                         kUsage,
                                         {},
                                         &ReportMain});

}  // namespace snapsim::cli
