// SPDX-License-Identifier: GPL-2.0-only
//
// Verdicts: what the checks of one run concluded: per invariant, how often it was checked and
// how often it failed, and the findings. The run supplies the context a finding is reported in
// (scenario, seed, crash, replay command) through `announce`, which also traces and logs it.
//
// Invariant: at most one finding per invariant and run, at most kMaxFindingsPerRun in all; every
// AddFinding, kept or not, asks the run to stop.
#ifndef SNAPSIM_SIM_CHECK_VERDICTS_H_
#define SNAPSIM_SIM_CHECK_VERDICTS_H_

#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "sim/check/finding.h"

namespace snapsim {

class Verdicts {
 public:
  static constexpr size_t kMaxFindingsPerRun = 64;
  // Completes a new finding with the run's context, then traces and logs it.
  using Announce = std::function<void(Finding&)>;

  explicit Verdicts(Announce announce) : announce_(std::move(announce)) {}

  void Tally(std::string_view invariant, bool held);
  // `checked` checks of `invariant`, `failed` of them failed (a batch of Tally calls).
  void Tally(std::string_view invariant, uint64_t checked, uint64_t failed);
  void AddFinding(std::string_view invariant, std::string expected, std::string actual,
                  std::string detail);
  // Adds another run's counts (the explorer's scratch runs).
  void MergeCounts(const VerdictCounts& counts);
  // Counts, findings and the stop request become `earlier`'s again (the explorer checks the
  // next crash state from a checkpoint); the way findings are announced stays this one's.
  void RestoreFrom(const Verdicts& earlier);

  // Several snapshots: findings added from now on are about snapshot `index` (Finding::snapshot).
  void set_snapshot(uint32_t index) { snapshot_ = index; }

  bool stop_requested() const { return stop_requested_; }
  const VerdictCounts& counts() const { return counts_; }
  const std::vector<Finding>& findings() const { return findings_; }

 private:
  // The entry last tallied (map entries keep their address): checks tally the same few names
  // over and over. Never copied: a copy's entries are elsewhere.
  struct LastTallied {
    LastTallied() = default;
    LastTallied(const LastTallied&) {}
    LastTallied& operator=(const LastTallied&) {
      entry = nullptr;
      return *this;
    }
    VerdictCounts::value_type* entry = nullptr;
  };

  Announce announce_;
  VerdictCounts counts_;
  LastTallied last_tallied_;
  std::vector<Finding> findings_;
  bool stop_requested_ = false;
  uint32_t snapshot_ = 0;
};

}  // namespace snapsim

#endif  // SNAPSIM_SIM_CHECK_VERDICTS_H_
