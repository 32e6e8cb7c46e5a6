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
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/btree_set.h"
#include "core/inspect.h"
#include "sim/check/model.h"
#include "sim/check/verdicts.h"
#include "sim/workload/stamp.h"

namespace snapsim {

// What the run serves the checker.
class CheckedWorld {
 public:
  virtual ~CheckedWorld() = default;
  // Reads [sector, +count) of a view through the target as a user would into `out` (count
  // sectors) and returns once the read completed: 0 or -errno.
  virtual int ReadThroughTarget(View view, sector_t sector, uint32_t count, uint8_t* out) = 0;
  // The origin device's current content of one sector (what a read of the medium returns).
  virtual void ReadOriginMedium(sector_t sector, uint8_t* out) = 0;
  // The target's own word on the snapshot (its status line says Invalid when false).
  virtual bool TargetValid() const = 0;
  // The read ReadThroughTarget(view, sector, count) would do returns the same result (bytes and
  // error) in every later views' check (Checker::KeepViewsAcrossStates). Default: never.
  virtual bool ReadIsStable(View view, sector_t sector, uint32_t count) const { return false; }
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
  // An explorer's scratch check of a crash state: nothing reads the model after the checks, so
  // the views' checks after the crash leave it as it is (no rebase on what they read, no
  // sequence numbers taken), and a later crash state can be checked against the same model.
  bool model_ends_with_check = false;
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
  // From now on every CheckViews comes after a crash with model_ends_with_check, this model and
  // this table (the explorer's crash states that share a recovery): keep what a check computes
  // that does not depend on the bytes read (the chunks to read), and the outcome of every read
  // the world calls stable, instead of computing them again.
  void KeepViewsAcrossStates();
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
  // One chunk read of a views' check after a crash: the read's error, else the first sector
  // the model does not accept (count: none) and what it held.
  struct ChunkRead {
    int error = 0;
    uint32_t bad_sector = 0;
    std::optional<Stamp> bad_observed;
  };
  // One chunk a view's check reads, in the order it reads them, and what it is held to.
  struct PlannedRead {
    chunk_t chunk = 0;
    sector_t first = 0;
    uint32_t count = 0;
    bool is_mapped = false;         // the snapshot view, and the table maps it
    std::string_view name;          // the invariant the chunk breaks if wrong
    bool stable = false;            // KeepViewsAcrossStates: the world calls the read stable
    std::optional<ChunkRead> read;  // a stable read, once done
  };
  // KeepViewsAcrossStates: per view (index: View), its planned reads.
  struct ViewsMemo {
    std::optional<std::vector<PlannedRead>> plan[2];
  };

  std::vector<PlannedRead> PlanView(CheckedWorld& world, View view, bool after_crash,
                                    const absl::btree_set<chunk_t>& extra,
                                    const SnapshotTable& table, const CheckSettings& settings,
                                    bool ask_stable) const;
  ChunkRead ReadChunk(CheckedWorld& world, View view, const PlannedRead& planned, bool after_crash,
                      bool model_unchanged, std::vector<uint8_t>& data,
                      std::vector<std::pair<sector_t, std::optional<Stamp>>>& observed_all);

  void CheckView(CheckedWorld& world, View view, bool after_crash,
                 const absl::btree_set<chunk_t>& extra_chunks, const SnapshotTable& table,
                 const CheckSettings& settings);

  Model& model_;
  Verdicts& verdicts_;
  StampDecoder stamps_;
  std::unique_ptr<ViewsMemo> views_memo_;  // KeepViewsAcrossStates
};

// A sector's content as a person reads it in a finding.
std::string StampText(const std::optional<Stamp>& stamp);

}  // namespace snapsim

#endif  // SNAPSIM_SIM_CHECK_CHECKER_H_
