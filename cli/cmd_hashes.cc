// SPDX-License-Identifier: GPL-2.0-only
//
// snapsim hashes: the trace hash of every scenario's ctest seeds and of every catalogue case
// (<scenario dir>/findings/*.case.json), one line each, so that a build with another compiler,
// standard library, optimisation level or machine that changes a run is caught by comparing them
// with the pinned file (tests/pinned_trace_hashes.txt). Exit 0 every hash as pinned (or printed
// / written), 1 some differ, 2 bad input.
#include <algorithm>
#include <filesystem>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/flags/declare.h"
#include "absl/flags/flag.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "cli/command.h"
#include "sim/run/replay_case.h"
#include "sim/run/run.h"
#include "sim/workload/scenario.h"
#include "sim/workload/scenario_toml.h"
#include "sim/world/trace.h"
#include "util/absl_view.h"
#include "util/atomic_file.h"

ABSL_FLAG(std::string, check, "", "compare with this pinned-hashes file; exit 1 if any differs");
ABSL_FLAG(std::string, write, "", "write the hashes to this file (regenerates the pinned file)");
ABSL_DECLARE_FLAG(std::string, scenario_dir);
ABSL_DECLARE_FLAG(bool, plant_nondeterminism);

namespace snapsim::cli {
namespace {

namespace fs = std::filesystem;

constexpr char kUsage[] =
    "usage: snapsim hashes [--scenario-dir DIR] [--check FILE | --write FILE]\n\n"
    "Runs every ctest seed of every scenario in the scenario directory and every catalogue case\n"
    "in its findings/ folder, and prints one line per run: `scenario NAME SEED HASH` or\n"
    "`case PATH HASH` (PATH relative to the scenario directory). --check FILE compares them\n"
    "with a pinned file and prints every difference; --write FILE writes the pinned file (after\n"
    "a change of behaviour made on purpose: build-dev/cli/snapsim hashes --write\n"
    "tests/pinned_trace_hashes.txt).\n"
    "Exit status: 0 every hash as pinned, 1 some differ, 2 bad input.";

constexpr const char* kHeader =
    "# snapsim pinned trace hashes (tests/pinned_trace_hashes.txt): the trace hash of every\n"
    "# scenario's ctest seeds and of every catalogue case, checked by the ctest\n"
    "# pinned_trace_hashes. The same seed must give the same trace with any compiler, standard\n"
    "# library, optimisation level and machine. After a change of behaviour made on purpose:\n"
    "#   build-dev/cli/snapsim hashes --write tests/pinned_trace_hashes.txt\n";
constexpr size_t kMaxPinnedBytes = 16 << 20;

int Fail(const std::string& problem) {
  absl::FPrintF(stderr, "snapsim hashes: %s\n", problem);
  return kExitUsage;
}

// "scenario default 3" or "case findings/x.case.json" -> hash.
using Hashes = std::map<std::string, uint64_t>;

absl::StatusOr<Hashes> ComputeHashes(const std::string& dir, bool plant) {
  RunOptions options;
  options.plant_nondeterminism = plant;
  Hashes out;
  absl::StatusOr<std::vector<Scenario>> scenarios = ListScenarios(dir);
  if (!scenarios.ok()) return scenarios.status();
  for (const Scenario& s : *scenarios) {
    for (uint64_t seed : s.ctest_seeds) {
      out[absl::StrCat("scenario ", s.name, " ", seed)] = RunSeed(s, seed, options).trace_hash;
    }
  }
  std::vector<std::string> cases;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(fs::path(dir) / "findings", ec)) {
    const std::string name = entry.path().filename().string();
    if (absl::EndsWith(name, ".case.json")) cases.push_back(name);
  }
  std::sort(cases.begin(), cases.end());
  for (const std::string& name : cases) {
    absl::StatusOr<ReplayCase> c = LoadReplayCase((fs::path(dir) / "findings" / name).string());
    if (!c.ok()) return c.status();
    out[absl::StrCat("case findings/", name)] =
        RunSteps(c->scenario, c->seed, c->steps, options).trace_hash;
  }
  return out;
}

std::string Render(const Hashes& hashes) {
  std::string text = kHeader;
  for (const auto& [what, hash] : hashes)
    absl::StrAppend(&text, what, " ", FormatTraceHash(hash), "\n");
  return text;
}

absl::StatusOr<Hashes> ParsePinned(const std::string& path) {
  absl::StatusOr<std::string> text = ReadWholeFile(path);
  if (!text.ok()) return text.status();
  if (text->size() > kMaxPinnedBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": larger than ", kMaxPinnedBytes, " bytes"));
  }
  Hashes out;
  int line_no = 0;
  for (absl::string_view line : absl::StrSplit(*text, '\n')) {
    ++line_no;
    if (line.empty() || line[0] == '#') continue;
    const size_t last = line.rfind(' ');
    std::optional<uint64_t> hash;
    if (last != absl::string_view::npos) {
      hash = ParseTraceHash(std::string_view(line.data() + last + 1, line.size() - last - 1));
    }
    const std::string what(line.substr(0, last == absl::string_view::npos ? 0 : last));
    if (!hash || !(absl::StartsWith(what, "scenario ") || absl::StartsWith(what, "case "))) {
      return absl::InvalidArgumentError(absl::StrCat(
          path, ":", line_no, ": expected `scenario NAME SEED HASH` or `case PATH HASH`"));
    }
    if (!out.emplace(what, *hash).second) {
      return absl::InvalidArgumentError(absl::StrCat(path, ":", line_no, ": ", what, " twice"));
    }
  }
  return out;
}

// Prints every difference; returns how many entries differ.
size_t ReportDifferences(const Hashes& pinned, const Hashes& now) {
  size_t differ = 0;
  for (const auto& [what, hash] : now) {
    auto it = pinned.find(what);
    if (it == pinned.end()) {
      absl::PrintF("not pinned: %s %s\n", what, FormatTraceHash(hash));
      ++differ;
    } else if (it->second != hash) {
      absl::PrintF("differs: %s: pinned %s, now %s\n", what, FormatTraceHash(it->second),
                   FormatTraceHash(hash));
      ++differ;
    }
  }
  for (const auto& [what, hash] : pinned) {
    if (!now.contains(what)) {
      absl::PrintF("gone: %s (pinned %s)\n", what, FormatTraceHash(hash));
      ++differ;
    }
  }
  return differ;
}

int HashesMain(const std::vector<std::string>& args) {
  if (!args.empty()) return Fail("unexpected argument '" + args[0] + "'");
  const std::string check = absl::GetFlag(FLAGS_check);
  const std::string write = absl::GetFlag(FLAGS_write);
  if (!check.empty() && !write.empty()) return Fail("give --check or --write, not both");
  const std::string scenario_dir = absl::GetFlag(FLAGS_scenario_dir);
  const std::string dir = scenario_dir.empty() ? DefaultScenarioDir() : scenario_dir;
  absl::StatusOr<Hashes> pinned = absl::NotFoundError("not read");
  if (!check.empty()) {
    pinned = ParsePinned(check);
    if (!pinned.ok()) return Fail(std::string(pinned.status().message()));
  }
  absl::StatusOr<Hashes> now = ComputeHashes(dir, absl::GetFlag(FLAGS_plant_nondeterminism));
  if (!now.ok()) return Fail(std::string(now.status().message()));
  if (!write.empty()) {
    if (absl::Status s = WriteFileAtomically(write, Render(*now)); !s.ok()) {
      return Fail(absl::StrCat("cannot write ", write, ": ", s.message()));
    }
    absl::PrintF("wrote %u trace hashes to %s\n", now->size(), write);
    return kExitOk;
  }
  if (check.empty()) {
    absl::PrintF("%s", Render(*now));
    return kExitOk;
  }
  const size_t differ = ReportDifferences(*pinned, *now);
  absl::PrintF("%u of %u trace hashes as pinned in %s\n",
               now->size() - std::min(differ, now->size()), now->size(), check);
  if (differ == 0) return kExitOk;
  absl::PrintF(
      "a run changed: find why (compiler, library, nondeterminism) before regenerating with "
      "snapsim hashes --write %s\n",
      check);
  return kExitFindings;
}

}  // namespace

SNAPSIM_REGISTER_COMMAND(hashes,
                         Command{"hashes",
                                 "trace hashes of the ctest seeds and catalogue cases, pinned",
                                 kUsage,
                                 {"scenario_dir", "check", "write", "plant_nondeterminism"},
                                 &HashesMain});

}  // namespace snapsim::cli
