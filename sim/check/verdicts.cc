// SPDX-License-Identifier: GPL-2.0-only
#include "sim/check/verdicts.h"

#include "sim/check/invariants.h"

namespace snapsim {

void Verdicts::Tally(std::string_view invariant, bool held) { Tally(invariant, 1, held ? 0 : 1); }

void Verdicts::Tally(std::string_view invariant, uint64_t checked, uint64_t failed) {
  VerdictCounts::value_type* entry = last_tallied_.entry;
  if (entry == nullptr || entry->first != invariant) {
    auto it = counts_.find(invariant);
    if (it == counts_.end()) it = counts_.emplace(std::string(invariant), Verdict{}).first;
    entry = &*it;
    last_tallied_.entry = entry;
  }
  entry->second.checked += checked;
  entry->second.failed += failed;
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
  // Both maps are sorted by name: one pass, each name found from where the last one was.
  auto at = counts_.begin();
  for (const auto& [name, verdict] : counts) {
    while (at != counts_.end() && at->first < name) ++at;
    if (at == counts_.end() || at->first != name) at = counts_.emplace_hint(at, name, Verdict{});
    at->second.checked += verdict.checked;
    at->second.failed += verdict.failed;
  }
}

void Verdicts::RestoreFrom(const Verdicts& earlier) {
  last_tallied_.entry = nullptr;  // its entry may be erased below
  // Assigned in place: the names tallied since are usually the same, so nothing is allocated.
  auto from = earlier.counts_.begin();
  for (auto at = counts_.begin(); at != counts_.end();) {
    while (from != earlier.counts_.end() && from->first < at->first) {
      counts_.emplace_hint(at, from->first, from->second);
      ++from;
    }
    if (from != earlier.counts_.end() && from->first == at->first) {
      at->second = from->second;
      ++from;
      ++at;
    } else {
      at = counts_.erase(at);
    }
  }
  for (; from != earlier.counts_.end(); ++from) counts_.emplace_hint(counts_.end(), *from);
  findings_ = earlier.findings_;
  stop_requested_ = earlier.stop_requested_;
  snapshot_ = earlier.snapshot_;
}

}  // namespace snapsim
