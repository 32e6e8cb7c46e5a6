// SPDX-License-Identifier: GPL-2.0-only
#include "sim/campaign/unexplained_signature.h"

#include <cctype>
#include <cstdint>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "sim/campaign/campaign_summary.h"
#include "sim/campaign/cause.h"
#include "sim/check/invariants.h"
#include "util/assert.h"

namespace snapsim {
namespace {

// Probe name prefixes of injected faults; "crash." and "sched." fire in every scenario.
constexpr std::string_view kFaultFamilies[] = {"io", "beyond", "fiu"};
constexpr const char* kIdleCrash = "crashed when idle";

}  // namespace

std::string InvariantFamily(std::string_view name) {
  namespace inv = ::snapsim::invariant;
  if (name == inv::kActivationSucceeds || name == inv::kTableWellFormed ||
      name == inv::kNoLostCommittedException || name == inv::kNextFreeAboveCommitted ||
      name == inv::kNextFreeMonotonic || name == inv::kValidFlagSticky ||
      name == inv::kCowSpaceAccounted || name == inv::kInvalidationHasCause) {
    return "metadata";
  }
  if (name == inv::kSnapshotImage || name == inv::kExceptionDataIntact ||
      name == inv::kOriginImage || name == inv::kMergeImage ||
      name == inv::kOriginWriteAfterCommit) {
    return "data";
  }
  if (name == inv::kLiveness) return "liveness";
  if (name == inv::kAssertionsHold) return "assertion";
  if (IsRunnerInvariant(name)) return "runner";
  return std::string(name);
}

std::string StripNumbers(std::string_view text) {
  std::string out;
  bool in_number = false;
  for (char c : text) {
    const bool digit = std::isdigit(static_cast<unsigned char>(c)) != 0;
    if (digit && !in_number) out += '#';
    if (!digit) out += c;
    in_number = digit;
  }
  return out;
}

std::string UnexplainedSignature(const RunResult& run) {
  SNAPSIM_ASSERT(!run.findings.empty());
  const Finding& first = run.findings.front();
  std::set<std::string> fired;
  for (const auto& [name, count] : run.probes) {
    if (count == 0) continue;
    for (std::string_view family : kFaultFamilies) {
      if (name.size() > family.size() && name.compare(0, family.size(), family) == 0 &&
          name[family.size()] == '.') {
        fired.insert(std::string(family));
      }
    }
  }
  // A crash step whose trigger never came crashes when the world is idle (sim/run/simulation.cc
  // names the trigger it waited for): which trigger says nothing about the bug.
  std::string crash = first.crash_point.empty() ? "no crash" : StripNumbers(first.crash_point);
  if (absl::StrContains(crash, kIdleCrash)) crash = kIdleCrash;
  // Two different assertions are two bugs: the condition and file name it (not the line,
  // which moves with unrelated edits).
  const std::string family = first.invariant == invariant::kAssertionsHold
                                 ? absl::StrCat("assertion ", StripNumbers(first.actual))
                                 : InvariantFamily(first.invariant);
  return absl::StrCat(family, " | ", crash, " | ",
                      fired.empty() ? "no injected fault" : absl::StrJoin(fired, ","));
}

std::string UnexplainedCauseId(std::string_view signature) {
  uint64_t hash = 14695981039346656037ull;  // FNV-1a 64: stable across builds and machines
  for (char c : signature) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 1099511628211ull;
  }
  return absl::StrCat(kUnexplainedPrefix, absl::StrFormat("%08x", hash >> 32));
}

}  // namespace snapsim
