// SPDX-License-Identifier: GPL-2.0-only
#include "sim/check/verdicts.h"

#include "sim/check/invariants.h"

namespace snapsim {

void Verdicts::Tally(std::string_view invariant, bool held) {
  auto it = counts_.find(invariant);
  if (it == counts_.end()) it = counts_.emplace(std::string(invariant), Verdict{}).first;
  Verdict& v = it->second;
  ++v.checked;
  if (!held) ++v.failed;
}

void Verdicts::AddFinding(std::string_view invariant, std::string expected, std::string actual,
                          std::string detail) {
  stop_requested_ = true;
  for (const Finding& f : findings_) {
    if (f.invariant == invariant) return;
  }
  if (findings_.size() >= kMaxFindingsPerRun) return;
  Finding f;
  f.invariant = std::string(invariant);
  const InvariantInfo* info = FindInvariant(invariant);
  f.severity = info != nullptr ? info->severity : FindingSeverity::kError;
  f.expected = std::move(expected);
  f.actual = std::move(actual);
  f.detail = std::move(detail);
  f.snapshot = snapshot_;
  if (announce_) announce_(f);
  findings_.push_back(std::move(f));
}

void Verdicts::MergeCounts(const VerdictCounts& counts) {
  for (const auto& [name, verdict] : counts) {
    counts_[name].checked += verdict.checked;
    counts_[name].failed += verdict.failed;
  }
}

}  // namespace snapsim
