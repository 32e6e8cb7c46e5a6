// SPDX-License-Identifier: GPL-2.0-only
//
// Model: the reference model kept beside a simulated run. It learns only what a user of the
// devices could see (which bios were submitted and acknowledged, which FLUSHes completed) plus the
// COW device's I/O stream (completed area writes, decoded with core/format.h). It never reads the
// store's or the target's private state.
//
// Two views, each a map from sector to the values that sector may hold:
//  - origin:   what reading the origin device returns (the origin's own writes);
//  - snapshot: what reading the snapshot returns (the point-in-time image plus the snapshot's own
//              writes). Sectors never written read as the origin's initial stamp.
// Once a merge starts, the merging snapshot device replaces the origin, so both views are one.
//
// Acceptable values (the rule every read is checked against). Every write W has a submit and an
// ack sequence number (ack = infinity if it failed or never ended). A value is acceptable for a
// read [R submitted, Q completed] if W was submitted before Q and no write W' acknowledged before
// R was submitted after W's ack (W' supersedes W). After a crash, W is acceptable unless a
// *durable* W' supersedes it: durable means acknowledged before a FLUSH on that view was
// submitted that then completed. The base value (initial, or what the last recovery read) is the
// write with submit = ack = 0.
//
// At a crash every sector is settled (SettleAtCrash): the values the crash may have left (the
// base and every write not superseded by a durable one) become the sector's base values, each
// behaving like the base, and the write history is forgotten. A FLUSH after the crash therefore
// cannot make a write the crash may have dropped or torn durable. A check that reads the sector
// narrows the base to what it read (Rebase); a sector the check could not read keeps every value
// the crash may have left until a read or an acknowledged later write settles it.
#ifndef SNAPSIM_SIM_CHECK_MODEL_H_
#define SNAPSIM_SIM_CHECK_MODEL_H_

#include <algorithm>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/btree_map.h"
#include "absl/container/btree_set.h"
#include "core/format.h"
#include "sim/workload/stamp.h"

namespace snapsim {

enum class View : uint8_t { kOrigin, kSnapshot };
const char* ViewName(View view);

inline constexpr uint64_t kNeverAcked = std::numeric_limits<uint64_t>::max();
// Writes remembered per sector before the oldest superseded ones are forgotten.
inline constexpr size_t kMaxCandidatesPerSector = 4096;

class SectorHistory {
 public:
  struct Candidate {
    uint64_t write_id = 0;  // 0: the base value
    uint32_t device = kStampDeviceOrigin;
    uint64_t submit_seq = 0;
    uint64_t ack_seq = 0;
    bool durable = false;
  };

  explicit SectorHistory(std::optional<Stamp> base);

  void AddWrite(uint32_t device, uint64_t write_id, uint64_t submit_seq);
  void Ack(uint64_t write_id, uint64_t ack_seq);
  // A FLUSH submitted at flush_submit_seq completed. Writes superseded for good are forgotten,
  // but only if no read still in flight could return them: reads_in_flight_from is the submit
  // number of the oldest read in flight (kNeverAcked: none). With `only_device`, only writes
  // stamped by that device become durable (the FLUSH reached that device alone).
  void MarkDurableBefore(uint64_t flush_submit_seq, uint64_t reads_in_flight_from = kNeverAcked,
                         std::optional<uint32_t> only_device = std::nullopt);
  // The read [read_submit, read_complete] may return `observed` (nullopt: not a stamp).
  bool AcceptableRead(sector_t sector, const std::optional<Stamp>& observed, uint64_t read_submit,
                      uint64_t read_complete) const;
  bool AcceptableAfterCrash(sector_t sector, const std::optional<Stamp>& observed) const;
  // After a crash and check: the observed value is the new base, everything else forgotten.
  void Rebase(const std::optional<Stamp>& observed);
  // A crash (number crash_index, 1-based) happened: whatever it may have left becomes the base.
  void SettleAtCrash(sector_t sector, uint64_t crash_index);
  // The values the sector may hold as its base (more than one after a crash nothing read back).
  const std::vector<Stamp>& bases() const { return bases_; }
  // What a person reads in a finding: the acceptable values, briefly.
  std::string Describe(sector_t sector, bool after_crash) const;

 private:
  bool Matches(const Candidate& c, sector_t sector, const std::optional<Stamp>& observed) const;
  bool SupersededForRead(const Candidate& c, uint64_t read_submit) const;
  bool SupersededDurably(const Candidate& c) const;
  bool IsBase(const std::optional<Stamp>& observed) const;
  void Forget(uint64_t reads_in_flight_from);

  // The base values, each a write with submit = ack = 0 (one unless a crash left a choice).
  std::vector<Stamp> bases_;
  // Unknown content (a recovery read garbage there): anything goes until rebased.
  bool base_unknown_ = false;
  // The crash that last settled this sector with more than one base value (0: none).
  uint64_t settled_at_crash_ = 0;
  std::vector<Candidate> writes_;
};

class ViewModel {
 public:
  explicit ViewModel(View view) : view_(view) {}

  View view() const { return view_; }
  void WriteSubmitted(sector_t sector, uint32_t count, uint32_t device, uint64_t write_id,
                      uint64_t seq);
  void WriteAcked(sector_t sector, uint32_t count, uint64_t write_id, uint64_t seq);
  // A FLUSH submitted at flush_submit_seq completed; `only_device` as in MarkDurableBefore.
  void FlushCompleted(uint64_t flush_submit_seq, uint64_t reads_in_flight_from = kNeverAcked,
                      std::optional<uint32_t> only_device = std::nullopt);
  // A crash happened: every sector keeps only what the crash may have left (SettleAtCrash).
  void SettleAtCrash(uint64_t crash_index);

  // Takes every sector's history of `other` (a snapshot made of the origin view).
  void CopySectorsFrom(const ViewModel& other) { sectors_ = other.sectors_; }

  // Sectors with a history (written at least once, or rebased): the ones a check must read.
  const absl::btree_map<sector_t, SectorHistory>& sectors() const { return sectors_; }
  // The history of `sector` (a fresh one holding the initial origin stamp if never written).
  const SectorHistory& History(sector_t sector) const;
  SectorHistory& MutableHistory(sector_t sector);

 private:
  View view_;
  absl::btree_map<sector_t, SectorHistory> sectors_;
  mutable std::optional<SectorHistory> scratch_;
};

// One area's content as the last successfully completed area write left it.
struct AreaImage {
  std::vector<std::pair<chunk_t, chunk_t>> entries;  // (old, new) in slot order
};

class Model {
 public:
  Model() : origin_(View::kOrigin), snapshot_(View::kSnapshot) {}

  uint64_t NextSeq() { return ++seq_; }
  // The last sequence number handed out. Models of one run share one clock: a further
  // snapshot's model adopts the run's before its checks and gives it back after (AdoptSeq).
  uint64_t seq() const { return seq_; }
  void AdoptSeq(uint64_t seq) { seq_ = std::max(seq_, seq); }
  // A further snapshot made now (several snapshots): its view is what the origin holds, written
  // history and all; nothing else is known of it yet.
  void StartSnapshotOf(const ViewModel& origin) { snapshot_.CopySectorsFrom(origin); }
  uint64_t NextWriteId() { return ++last_write_id_; }

  // The origin view: the snapshot view itself once a merge started.
  ViewModel& origin() { return merged_ ? snapshot_ : origin_; }
  ViewModel& snapshot() { return snapshot_; }
  ViewModel& view(View v) { return v == View::kOrigin ? origin() : snapshot(); }
  const ViewModel& origin() const { return merged_ ? snapshot_ : origin_; }
  const ViewModel& snapshot() const { return snapshot_; }

  // Chunk-size independent record of every sector any write (origin or snapshot) ever touched:
  // where a lost exception or a wrong merge would show, so every check reads them.
  void Touch(sector_t sector, uint32_t count) {
    for (uint32_t i = 0; i < count; ++i) touched_.insert(sector + i);
  }
  const absl::btree_set<sector_t>& touched() const { return touched_; }

  // A crash (number crash_index, 1-based) happened; call before anything runs after it.
  void SettleAtCrash(uint64_t crash_index) {
    origin_.SettleAtCrash(crash_index);
    snapshot_.SettleAtCrash(crash_index);
  }

  // Merge start: from now on the origin device shows the snapshot image.
  void StartMerge() { merged_ = true; }
  bool merged() const { return merged_; }

  // A completed, successful area write of `area` holding `bytes` (one chunk).
  void AreaWritten(chunk_t area, const uint8_t* bytes, uint32_t exceptions_per_area);
  // An area write of `area` holding `bytes` was submitted. Until it completes either image may be
  // on the medium after a crash, so an acknowledged exception the write drops (a merge clears
  // slots) is no longer required: only what both images hold is.
  void AreaWriteSubmitted(chunk_t area, const uint8_t* bytes, uint32_t exceptions_per_area);
  const absl::btree_map<chunk_t, AreaImage>& committed_areas() const { return areas_; }
  void ResetAreas(absl::btree_map<chunk_t, AreaImage> areas);
  // True when a committed area holds an exception of origin chunk `old_chunk`.
  bool HasCommittedException(chunk_t old_chunk) const {
    return committed_old_chunks_.contains(old_chunk);
  }
  // Highest new_chunk any acknowledged area write recorded since the last merge started.
  chunk_t max_committed_new_chunk() const { return max_new_chunk_; }

  // The target said the snapshot is invalid (status), or a recovery found it invalid on disk.
  void SawInvalid() { saw_invalid_ = true; }
  bool saw_invalid() const { return saw_invalid_; }
  void ClearSawInvalid() { saw_invalid_ = false; }
  void SawInvalidOnDisk() { saw_invalid_on_disk_ = true; }
  bool saw_invalid_on_disk() const { return saw_invalid_on_disk_; }

  // next_free as the last activation's on-disk table implied it (inspect), for monotonicity.
  std::optional<chunk_t> last_next_free;

 private:
  uint64_t seq_ = 0;
  uint64_t last_write_id_ = 0;
  ViewModel origin_;
  ViewModel snapshot_;
  bool merged_ = false;
  absl::btree_map<chunk_t, AreaImage> areas_;
  // old_chunk -> how many entries of areas_ name it (kept with areas_).
  absl::btree_map<chunk_t, uint32_t> committed_old_chunks_;
  void CountEntries(const AreaImage& image, bool add);
  absl::btree_set<sector_t> touched_;
  chunk_t max_new_chunk_ = 0;
  bool saw_invalid_ = false;
  bool saw_invalid_on_disk_ = false;
};

}  // namespace snapsim

#endif  // SNAPSIM_SIM_CHECK_MODEL_H_
