// SPDX-License-Identifier: GPL-2.0-only
//
// Checker: holds the store to the invariants (sim/check/invariants.h) by comparing what the run
// observes with the reference model. It sees the model, the COW table decoded by core/inspect,
// and reads it asks the run for (CheckedWorld); never the store's private state, never the
// scheduler, devices or fault profile: the run owns the world and serves the reads.
//
// Checks after a recovery (after_crash) accept any value a crash may have left (the model's
// AcceptableAfterCrash) and then make what they read the model's new base; checks at quiescent
// points and of user reads during the run accept what the read's time window allows.
#ifndef SNAPSIM_SIM_CHECK_CHECKER_H_
#define SNAPSIM_SIM_CHECK_CHECKER_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/inspect.h"
#include "sim/check/model.h"
#include "sim/check/verdicts.h"
#include "sim/workload/stamp.h"

namespace snapsim {

// What the run serves the checker.
class CheckedWorld {
 public:
  virtual ~CheckedWorld() = default;
  // Reads [sector, +count) of a view through the target as a user would and returns once the
  // read completed; `error` is 0 or -errno.
  virtual std::vector<uint8_t> ReadThroughTarget(View view, sector_t sector, uint32_t count,
                                                 int* error) = 0;
  // The origin device's current content of one sector (what a read of the medium returns).
  virtual void ReadOriginMedium(sector_t sector, uint8_t* out) = 0;
  // The target's own word on the snapshot (its status line says Invalid when false).
  virtual bool TargetValid() const = 0;
};

// Facts of the run the checks depend on.
struct CheckSettings {
  uint32_t chunk_sectors = 0;
  sector_t origin_sectors = 0;
  // I/O errors or allocation failures are injected (or the contract is broken): a failed read
  // or an unreadable table is then allowed.
  bool eio_faults_on = false;
  std::string_view last_crash_point;  // for messages; the run's, valid while a check runs
  // False for a further snapshot's checks: the origin view is the first snapshot's to check.
  bool check_origin_view = true;
};

class Checker {
 public:
  Checker(Model& model, Verdicts& verdicts) : model_(model), verdicts_(verdicts) {}

  // Decode stamps with `other`'s memo (a scratch check of a crash state, its parent's).
  void ShareStampMemoWith(const Checker& other) { stamps_ = other.stamps_.Share(); }

  // The on-disk table after an activation (inspect's report of the COW device).
  void CheckTable(const InspectReport& report, bool after_crash, bool target_valid,
                  const CheckSettings& settings);
  // Reads every chunk the model knows of through the snapshot (if the target is valid) and the
  // origin (unless merging) and checks each sector. `report` is the table CheckTable saw.
  void CheckViews(CheckedWorld& world, const InspectReport& report, bool after_crash,
                  const CheckSettings& settings);
  // After a merge completed: the origin medium itself holds the snapshot image.
  void CheckMergedOrigin(CheckedWorld& world, const CheckSettings& settings);

  // A user bio ended during the run. `invalid_seq`: when the target was first seen invalid.
  void UserWriteEnded(View view, uint64_t submit_seq, int error,
                      std::optional<uint64_t> invalid_seq);
  // An origin write of [sector, +count) was acknowledged while the target said valid and no
  // merge had started: every chunk it touched must have a committed exception by now.
  void OriginWriteAcknowledged(sector_t sector, uint32_t count, const CheckSettings& settings);
  void UserReadEnded(View view, sector_t sector, uint32_t count, const uint8_t* data,
                     uint64_t submit_seq, uint64_t complete_seq, int error,
                     std::optional<uint64_t> invalid_seq, const CheckSettings& settings);

 private:
  void CheckView(CheckedWorld& world, View view, bool after_crash,
                 const absl::btree_set<chunk_t>& extra_chunks, const SnapshotTable& table,
                 const CheckSettings& settings);

  Model& model_;
  Verdicts& verdicts_;
  StampDecoder stamps_;
};

// A sector's content as a person reads it in a finding.
std::string StampText(const std::optional<Stamp>& stamp);

}  // namespace snapsim

#endif  // SNAPSIM_SIM_CHECK_CHECKER_H_
