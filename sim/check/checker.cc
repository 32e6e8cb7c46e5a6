// SPDX-License-Identifier: GPL-2.0-only
#include "sim/check/checker.h"

#include <algorithm>
#include <array>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "sim/check/invariants.h"
#include "sim/workload/stamp.h"
#include "util/assert.h"
#include "util/errno_name.h"

namespace snapsim {

std::string StampText(const std::optional<Stamp>& stamp) {
  if (!stamp) return "unrecognisable data (not a stamp: torn, corrupted or metadata)";
  if (stamp->write_id == 0) {
    return absl::StrFormat("initial origin data of sector %u", stamp->sector);
  }
  return absl::StrFormat("%s write #%u (meant for sector %u)",
                         stamp->device == kStampDeviceOrigin ? "origin" : "snapshot",
                         stamp->write_id, stamp->sector);
}

void Checker::CheckTable(const InspectReport& report, bool after_crash, bool target_valid,
                         const CheckSettings& settings) {
  // A latent read error or failing medium can hide the table from the decoder; then there is
  // nothing to compare (the image checks still read what they can).
  if (settings.eio_faults_on) {
    for (const Damage& d : report.damage) {
      if (d.kind == DamageKind::kAreaUnreadable || d.kind == DamageKind::kHeaderUnreadable) return;
    }
  }
  bool well_formed = true;
  for (const Damage& d : report.damage) {
    if (d.severity != Severity::kError) continue;
    well_formed = false;
    verdicts_.AddFinding(
        invariant::kTableWellFormed, "no damage in the on-disk table",
        absl::StrCat(DamageKindName(d.kind), ": ", d.message),
        "snapsim's inspect decoder found damage in the COW device after recovery.");
    break;
  }
  verdicts_.Tally(invariant::kTableWellFormed, well_formed);

  const bool disk_valid = report.loadable && (report.is_new || report.header.valid != 0);
  if (model_.saw_invalid_on_disk()) {
    verdicts_.Tally(invariant::kValidFlagSticky, !disk_valid);
    if (disk_valid) {
      verdicts_.AddFinding(
          invariant::kValidFlagSticky, "the header stays invalid", "the header says valid again",
          "An earlier recovery found the snapshot invalid on disk; now it is valid.");
    }
  }
  if (!disk_valid) {
    if (after_crash) model_.SawInvalidOnDisk();
    verdicts_.Tally(invariant::kValidFlagSticky, !target_valid);
    if (target_valid) {
      verdicts_.AddFinding(
          invariant::kValidFlagSticky, "an invalid header activates an invalid snapshot",
          "the target reports valid", "read_metadata must return 1 and load nothing.");
    }
    return;
  }

  const SnapshotTable table = SnapshotTableOf(report);
  bool none_lost = true;
  for (const auto& [area, image] : model_.committed_areas()) {
    for (const auto& [old_chunk, new_chunk] : image.entries) {
      auto it = table.find(old_chunk);
      if (it != table.end() && it->second == new_chunk) continue;
      none_lost = false;
      verdicts_.AddFinding(
          invariant::kNoLostCommittedException,
          absl::StrFormat("exception %u -> %u (area %u, acknowledged)", old_chunk, new_chunk, area),
          it == table.end() ? std::string("no mapping for that origin chunk")
                            : absl::StrFormat("%u -> %u", old_chunk, it->second),
          "An area write that completed with FUA recorded this exception; the table "
          "read back does not hold it.");
      break;
    }
    if (!none_lost) break;
  }
  verdicts_.Tally(invariant::kNoLostCommittedException, none_lost);

  if (model_.max_committed_new_chunk() > 0 && !model_.merged()) {
    const bool above = report.next_free > model_.max_committed_new_chunk();
    verdicts_.Tally(invariant::kNextFreeAboveCommitted, above);
    if (!above) {
      verdicts_.AddFinding(
          invariant::kNextFreeAboveCommitted,
          absl::StrFormat("next_free > %u", model_.max_committed_new_chunk()),
          absl::StrFormat("next_free = %u", report.next_free),
          "After activation the store would hand out a chunk already holding data.");
    }
  }
  if (model_.last_next_free && !model_.merged()) {
    const bool monotonic = report.next_free >= *model_.last_next_free;
    verdicts_.Tally(invariant::kNextFreeMonotonic, monotonic);
    if (!monotonic) {
      verdicts_.AddFinding(invariant::kNextFreeMonotonic,
                           absl::StrFormat("next_free >= %u", *model_.last_next_free),
                           absl::StrFormat("next_free = %u", report.next_free),
                           "next_free went back between two activations without a merge.");
    }
  }
  model_.last_next_free = report.next_free;
  // A merge clears exceptions from the end of the table, so it may leave chunks below next_free.
  if (!model_.merged()) {
    const auto leak = std::find_if(report.damage.begin(), report.damage.end(), [](const Damage& d) {
      return d.kind == DamageKind::kUnreferencedChunk;
    });
    verdicts_.Tally(invariant::kCowSpaceAccounted, leak == report.damage.end());
    if (leak != report.damage.end()) {
      verdicts_.AddFinding(invariant::kCowSpaceAccounted,
                           "every data chunk below next_free is used by an exception",
                           leak->message,
                           absl::StrCat("After ", after_crash ? "recovery" : "a reload",
                                        ", the table leaves chunks below next_free unused; the "
                                        "store never hands them out again."));
    }
  }
  if (after_crash) {
    // The table read back is the truth from here on.
    absl::btree_map<chunk_t, AreaImage> areas;
    const uint32_t e = report.exceptions_per_area;
    for (size_t i = 0; i < report.exceptions.size(); ++i) {
      areas[i / e].entries.emplace_back(chunk_t{report.exceptions[i].old_chunk},
                                        chunk_t{report.exceptions[i].new_chunk});
    }
    model_.ResetAreas(std::move(areas));
  }
}

void Checker::CheckViews(CheckedWorld& world, const InspectReport& report, bool after_crash,
                         const CheckSettings& settings) {
  SnapshotTable table;
  if (report.loadable && report.header.valid != 0) table = SnapshotTableOf(report);
  absl::btree_set<chunk_t> mapped;
  for (const auto& [old_chunk, new_chunk] : table) mapped.insert(old_chunk);
  if (!verdicts_.stop_requested() && world.TargetValid()) {
    CheckView(world, View::kSnapshot, after_crash, mapped, table, settings);
  }
  if (!verdicts_.stop_requested() && !model_.merged() && settings.check_origin_view) {
    CheckView(world, View::kOrigin, after_crash, {}, table, settings);
  }
}

void Checker::KeepViewsAcrossStates() { views_memo_ = std::make_unique<ViewsMemo>(); }

std::vector<Checker::PlannedRead> Checker::PlanView(
    CheckedWorld& world, View view, bool after_crash, const absl::btree_set<chunk_t>& extra,
    const SnapshotTable& table, const CheckSettings& settings, bool ask_stable) const {
  const ViewModel& model_view = model_.view(view);
  const uint32_t c = settings.chunk_sectors;
  absl::btree_set<chunk_t> chunks = extra;
  for (const auto& [sector, history] : model_view.sectors()) chunks.insert(sector / c);
  // The snapshot must show the point-in-time data wherever the origin moved on.
  if (view == View::kSnapshot) {
    for (sector_t sector : model_.touched()) chunks.insert(sector / c);
  }
  const std::string_view fallback = model_.merged()         ? invariant::kMergeImage
                                    : view == View::kOrigin ? invariant::kOriginImage
                                                            : invariant::kSnapshotImage;
  std::vector<PlannedRead> plan;
  for (chunk_t chunk : chunks) {
    PlannedRead planned;
    planned.chunk = chunk;
    planned.first = chunk * c;
    if (planned.first >= settings.origin_sectors) continue;
    planned.count =
        static_cast<uint32_t>(std::min<sector_t>(c, settings.origin_sectors - planned.first));
    planned.is_mapped = view == View::kSnapshot && table.contains(chunk);
    planned.name =
        planned.is_mapped && !model_.merged() ? invariant::kExceptionDataIntact : fallback;
    // An invalidated snapshot that came back valid (its invalid header was lost) and now reads
    // wrong data is the valid-flag promise broken, whatever chunk shows it.
    if (view == View::kSnapshot && after_crash && model_.saw_invalid()) {
      planned.name = invariant::kValidFlagSticky;
    }
    planned.stable = ask_stable && world.ReadIsStable(view, planned.first, planned.count);
    plan.push_back(planned);
  }
  return plan;
}

Checker::ChunkRead Checker::ReadChunk(
    CheckedWorld& world, View view, const PlannedRead& planned, bool after_crash,
    bool model_unchanged, std::vector<uint8_t>& data,
    std::vector<std::pair<sector_t, std::optional<Stamp>>>& observed_all) {
  const ViewModel& model_view = model_.view(view);
  ChunkRead read;
  const uint64_t submit_seq = model_unchanged ? 0 : model_.NextSeq();
  read.error = world.ReadThroughTarget(view, planned.first, planned.count, data.data());
  const uint64_t complete_seq = model_unchanged ? 0 : model_.NextSeq();
  read.bad_sector = planned.count;
  for (uint32_t i = 0; i < planned.count && read.error == 0; ++i) {
    const sector_t sector = planned.first + i;
    std::optional<Stamp> observed = stamps_.Decode(data.data() + (size_t{i} << kSectorShift));
    const SectorHistory& history = model_view.History(sector);
    const bool ok = after_crash
                        ? history.AcceptableAfterCrash(sector, observed)
                        : history.AcceptableRead(sector, observed, submit_seq, complete_seq);
    if (!ok) {
      read.bad_sector = i;
      read.bad_observed = observed;
      break;
    }
    if (after_crash && !model_unchanged) observed_all.emplace_back(sector, observed);
  }
  return read;
}

namespace {

// A view's tallies, added to the verdicts once at its end: a handful of names, many chunks.
class TallyBatch {
 public:
  void Add(std::string_view name, bool held) {
    Entry* entry = nullptr;
    for (size_t i = 0; i < used_ && entry == nullptr; ++i) {
      if (entries_[i].name == name) entry = &entries_[i];
    }
    if (entry == nullptr) {
      SNAPSIM_ASSERT(used_ < entries_.size());  // fallback, its finer name, valid_flag_sticky
      entry = &entries_[used_++];
      entry->name = name;
    }
    ++entry->checked;
    if (!held) ++entry->failed;
  }
  void AddTo(Verdicts& verdicts) const {
    for (size_t i = 0; i < used_; ++i) {
      verdicts.Tally(entries_[i].name, entries_[i].checked, entries_[i].failed);
    }
  }

 private:
  struct Entry {
    std::string_view name;
    uint64_t checked = 0;
    uint64_t failed = 0;
  };
  std::array<Entry, 4> entries_;
  size_t used_ = 0;
};

}  // namespace

void Checker::CheckView(CheckedWorld& world, View view, bool after_crash,
                        const absl::btree_set<chunk_t>& extra, const SnapshotTable& table,
                        const CheckSettings& settings) {
  // Reads after a crash ignore their time window; a check that leaves the model alone takes none.
  const bool model_unchanged = after_crash && settings.model_ends_with_check;
  ViewsMemo* memo = views_memo_.get();
  SNAPSIM_ASSERT(memo == nullptr || model_unchanged);
  const size_t v = static_cast<size_t>(view);
  std::vector<PlannedRead> fresh_plan;
  if (memo == nullptr) {
    fresh_plan = PlanView(world, view, after_crash, extra, table, settings, /*ask_stable=*/false);
  } else if (!memo->plan[v]) {
    memo->plan[v] = PlanView(world, view, after_crash, extra, table, settings, /*ask_stable=*/true);
  }
  std::vector<PlannedRead>& plan = memo != nullptr ? *memo->plan[v] : fresh_plan;
  const std::string_view fallback = model_.merged()         ? invariant::kMergeImage
                                    : view == View::kOrigin ? invariant::kOriginImage
                                                            : invariant::kSnapshotImage;
  const ViewModel& model_view = model_.view(view);
  TallyBatch tallies;
  bool held = true;
  std::vector<std::pair<sector_t, std::optional<Stamp>>> observed_all;
  std::vector<uint8_t> data(size_t{settings.chunk_sectors} << kSectorShift);  // read after read
  for (PlannedRead& planned : plan) {
    // A stable read gives what it gave the first time (KeepViewsAcrossStates).
    ChunkRead fresh;
    if (!planned.read) {
      fresh = ReadChunk(world, view, planned, after_crash, model_unchanged, data, observed_all);
      if (planned.stable) planned.read = fresh;
    }
    const ChunkRead& read = planned.read ? *planned.read : fresh;
    const std::string_view name = planned.name;
    if (read.error != 0 && settings.eio_faults_on) continue;  // a latent error or failed medium
    if (read.error != 0) {
      held = false;
      tallies.Add(name, false);
      verdicts_.AddFinding(name, "the read succeeds", ErrorText(read.error),
                           absl::StrFormat("Reading %s chunk %u after %s failed.", ViewName(view),
                                           planned.chunk, after_crash ? "recovery" : "a drain"));
      break;
    }
    if (read.bad_sector < planned.count) {
      held = false;
      const sector_t sector = planned.first + read.bad_sector;
      verdicts_.AddFinding(
          name, model_view.History(sector).Describe(sector, after_crash),
          StampText(read.bad_observed),
          absl::StrFormat("Sector %u (chunk %u%s) of the %s read back %s%s.", sector, planned.chunk,
                          planned.is_mapped
                              ? absl::StrFormat(", mapped to COW chunk %u", table.at(planned.chunk))
                              : std::string(", not mapped"),
                          model_.merged() ? "merging snapshot" : ViewName(view),
                          after_crash ? "after recovery from crash point " : "at a quiescent point",
                          after_crash ? settings.last_crash_point : std::string_view()));
    }
    if (name != fallback) tallies.Add(name, held);
    if (!held) break;
  }
  tallies.Add(fallback, held);
  tallies.AddTo(verdicts_);
  if (after_crash) {
    ViewModel& rebased = model_.view(view);
    for (const auto& [sector, observed] : observed_all) {
      rebased.MutableHistory(sector).Rebase(observed);
    }
  }
}

void Checker::CheckMergedOrigin(CheckedWorld& world, const CheckSettings& settings) {
  const uint32_t c = settings.chunk_sectors;
  uint8_t sector_bytes[kSectorSize];
  bool held = true;
  const uint64_t seq = model_.NextSeq();
  for (const auto& [sector, history] : model_.snapshot().sectors()) {
    world.ReadOriginMedium(sector, sector_bytes);
    std::optional<Stamp> observed = stamps_.Decode(sector_bytes);
    if (!history.AcceptableRead(sector, observed, seq, seq)) {
      held = false;
      verdicts_.AddFinding(invariant::kMergeImage, history.Describe(sector, false),
                           StampText(observed),
                           absl::StrFormat("After the merge completed, origin sector %u (chunk %u) "
                                           "does not hold the snapshot's data.",
                                           sector, sector / c));
      break;
    }
  }
  verdicts_.Tally(invariant::kMergeImage, held);
}

void Checker::UserWriteEnded(View view, uint64_t submit_seq, int error,
                             std::optional<uint64_t> invalid_seq) {
  if (error == 0 && view == View::kSnapshot && invalid_seq && submit_seq > *invalid_seq) {
    verdicts_.Tally(invariant::kValidFlagSticky, false);
    verdicts_.AddFinding(invariant::kValidFlagSticky, "snapshot writes fail with EIO once invalid",
                         "a snapshot write succeeded",
                         "The target accepted a snapshot write after it "
                         "had reported the snapshot invalid.");
  }
}

void Checker::UserReadEnded(View view, sector_t first_sector, uint32_t count, const uint8_t* data,
                            uint64_t submit_seq, uint64_t complete_seq, int error,
                            std::optional<uint64_t> invalid_seq, const CheckSettings& settings) {
  if (error != 0) {
    const bool allowed = settings.eio_faults_on || (view == View::kSnapshot && invalid_seq);
    std::string_view name =
        view == View::kOrigin ? invariant::kOriginImage : invariant::kSnapshotImage;
    verdicts_.Tally(name, allowed);
    if (!allowed) {
      verdicts_.AddFinding(
          name, "the read succeeds", ErrorText(error),
          absl::StrFormat("A %s read of sectors [%u, +%u) failed with no fault injected.",
                          ViewName(view), first_sector, count));
    }
    return;
  }
  if (view == View::kSnapshot && invalid_seq && submit_seq > *invalid_seq) {
    verdicts_.Tally(invariant::kValidFlagSticky, false);
    verdicts_.AddFinding(invariant::kValidFlagSticky, "snapshot reads fail with EIO once invalid",
                         "a snapshot read succeeded",
                         "The target returned data for a snapshot read after it had reported the "
                         "snapshot invalid.");
    return;
  }
  if (view == View::kSnapshot && invalid_seq) return;  // raced with the invalidation
  std::string_view name = model_.merged()         ? invariant::kMergeImage
                          : view == View::kOrigin ? invariant::kOriginImage
                                                  : invariant::kSnapshotImage;
  const ViewModel& model_view = model_.view(view);
  for (uint32_t i = 0; i < count; ++i) {
    const sector_t sector = first_sector + i;
    std::optional<Stamp> observed = stamps_.Decode(data + (size_t{i} << kSectorShift));
    const SectorHistory& history = model_view.History(sector);
    const bool ok = history.AcceptableRead(sector, observed, submit_seq, complete_seq);
    verdicts_.Tally(name, ok);
    if (!ok) {
      verdicts_.AddFinding(name, history.Describe(sector, false), StampText(observed),
                           absl::StrFormat("A %s read of sector %u during the run returned data "
                                           "the model does not allow.",
                                           ViewName(view), sector));
      return;
    }
  }
}

void Checker::OriginWriteAcknowledged(sector_t sector, uint32_t count,
                                      const CheckSettings& settings) {
  if (count == 0) return;
  const chunk_t first = sector / settings.chunk_sectors;
  const chunk_t last = (sector + count - 1) / settings.chunk_sectors;
  for (chunk_t chunk = first; chunk <= last; ++chunk) {
    const bool committed = model_.HasCommittedException(chunk);
    verdicts_.Tally(invariant::kOriginWriteAfterCommit, committed);
    if (committed) continue;
    verdicts_.AddFinding(
        invariant::kOriginWriteAfterCommit,
        absl::StrFormat("origin chunk %u has a committed exception before its write is "
                        "acknowledged",
                        chunk),
        absl::StrFormat("origin write of sectors [%u, +%u) acknowledged; no completed FUA area "
                        "write holds an exception for chunk %u",
                        sector, count, chunk),
        "The origin moved on before the snapshot's copy of the chunk was durable: a crash now "
        "loses the point-in-time data.");
    return;
  }
}

}  // namespace snapsim
