// SPDX-License-Identifier: GPL-2.0-only
#include "sim/check/model.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/area_view.h"
#include "core/format.h"
#include "util/assert.h"

namespace snapsim {

const char* ViewName(View view) { return view == View::kOrigin ? "origin" : "snapshot"; }

SectorHistory::SectorHistory(std::optional<Stamp> base) {
  if (base) {
    bases_.push_back(*base);
  } else {
    base_unknown_ = true;
  }
}

void SectorHistory::AddWrite(uint32_t device, uint64_t write_id, uint64_t submit_seq) {
  if (writes_.size() >= kMaxCandidatesPerSector) Forget(submit_seq);
  SNAPSIM_ASSERT(writes_.size() < kMaxCandidatesPerSector);
  writes_.push_back(Candidate{write_id, device, submit_seq, kNeverAcked, false});
}

void SectorHistory::Ack(uint64_t write_id, uint64_t ack_seq) {
  for (Candidate& c : writes_) {
    if (c.write_id == write_id) c.ack_seq = ack_seq;
  }
}

void SectorHistory::MarkDurableBefore(uint64_t flush_submit_seq, uint64_t reads_in_flight_from,
                                      std::optional<uint32_t> only_device) {
  for (Candidate& c : writes_) {
    if (only_device && c.device != *only_device) continue;
    if (c.ack_seq < flush_submit_seq) c.durable = true;
  }
  Forget(reads_in_flight_from);
}

bool SectorHistory::Matches(const Candidate& c, sector_t sector,
                            const std::optional<Stamp>& observed) const {
  if (!observed) return false;
  return observed->device == c.device && observed->sector == sector &&
         observed->write_id == c.write_id;
}

// W' acknowledged before the read was submitted, and submitted after W was acknowledged.
bool SectorHistory::SupersededForRead(const Candidate& c, uint64_t read_submit) const {
  for (const Candidate& later : writes_) {
    if (later.ack_seq < read_submit && c.ack_seq != kNeverAcked && later.submit_seq > c.ack_seq) {
      return true;
    }
  }
  return false;
}

bool SectorHistory::SupersededDurably(const Candidate& c) const {
  for (const Candidate& later : writes_) {
    if (later.durable && c.ack_seq != kNeverAcked && later.submit_seq > c.ack_seq) return true;
  }
  return false;
}

bool SectorHistory::IsBase(const std::optional<Stamp>& observed) const {
  if (!observed) return false;
  for (const Stamp& b : bases_) {
    if (*observed == b) return true;
  }
  return false;
}

// Every base value is a write with submit = ack = 0, so supersession is the same for all of them.
bool SectorHistory::AcceptableRead(sector_t sector, const std::optional<Stamp>& observed,
                                   uint64_t read_submit, uint64_t read_complete) const {
  if (base_unknown_) return true;
  const Candidate base{0, kStampDeviceOrigin, 0, 0, true};
  if (IsBase(observed) && !SupersededForRead(base, read_submit)) return true;
  for (const Candidate& c : writes_) {
    if (c.submit_seq < read_complete && Matches(c, sector, observed) &&
        !SupersededForRead(c, read_submit)) {
      return true;
    }
  }
  return false;
}

bool SectorHistory::AcceptableAfterCrash(sector_t sector,
                                         const std::optional<Stamp>& observed) const {
  if (base_unknown_) return true;
  const Candidate base{0, kStampDeviceOrigin, 0, 0, true};
  if (IsBase(observed) && !SupersededDurably(base)) return true;
  for (const Candidate& c : writes_) {
    if (Matches(c, sector, observed) && !SupersededDurably(c)) return true;
  }
  return false;
}

void SectorHistory::Rebase(const std::optional<Stamp>& observed) {
  bases_.clear();
  if (observed) bases_.push_back(*observed);
  base_unknown_ = !observed.has_value();
  settled_at_crash_ = 0;
  writes_.clear();
}

void SectorHistory::SettleAtCrash(sector_t sector, uint64_t crash_index) {
  if (base_unknown_) {
    writes_.clear();
    return;
  }
  std::vector<Stamp> left;
  const Candidate base{0, kStampDeviceOrigin, 0, 0, true};
  if (!SupersededDurably(base)) left = bases_;
  for (const Candidate& c : writes_) {
    if (SupersededDurably(c)) continue;
    const Stamp stamp{c.device, sector, c.write_id};
    if (std::find(left.begin(), left.end(), stamp) == left.end()) left.push_back(stamp);
  }
  // The durable write submitted last is never superseded, so something is always left.
  SNAPSIM_ASSERT(!left.empty());
  if (left.size() > 1) settled_at_crash_ = crash_index;
  bases_ = std::move(left);
  writes_.clear();
}

// Drops writes no read or crash can return any more: those superseded by a durable later write
// that was acknowledged before the oldest read in flight was submitted (so that read, every later
// read and every crash exclude them). The durable write with the highest submit number is never
// superseded itself, so the base stays superseded (never accepted again) once any write became
// durable.
void SectorHistory::Forget(uint64_t reads_in_flight_from) {
  std::vector<Candidate> kept;
  kept.reserve(writes_.size());
  for (const Candidate& c : writes_) {
    bool gone = false;
    for (const Candidate& later : writes_) {
      gone |= later.durable && later.ack_seq < reads_in_flight_from && c.ack_seq != kNeverAcked &&
              later.submit_seq > c.ack_seq;
    }
    if (!gone) kept.push_back(c);
  }
  writes_ = std::move(kept);
}

std::string SectorHistory::Describe(sector_t sector, bool after_crash) const {
  if (base_unknown_) return "anything (content unknown since the last recovery)";
  std::string out;
  const Candidate base{0, kStampDeviceOrigin, 0, 0, true};
  auto name = [](uint32_t device, uint64_t write_id) {
    if (write_id == 0) return std::string("initial origin data");
    return absl::StrFormat("%s write #%u", device == kStampDeviceOrigin ? "origin" : "snapshot",
                           write_id);
  };
  bool base_ok = after_crash ? !SupersededDurably(base) : !SupersededForRead(base, kNeverAcked);
  size_t listed = 0;
  if (base_ok) {
    for (const Stamp& b : bases_) {
      if (++listed > 8) {
        absl::StrAppend(&out, ", ...");
        break;
      }
      absl::StrAppend(&out, out.empty() ? "" : " or ", name(b.device, b.write_id));
    }
    if (settled_at_crash_ != 0) {
      absl::StrAppend(&out, absl::StrFormat(" (unknown since crash %u)", settled_at_crash_));
    }
  }
  for (const Candidate& c : writes_) {
    bool ok = after_crash ? !SupersededDurably(c) : !SupersededForRead(c, kNeverAcked);
    if (!ok) continue;
    if (++listed > 8) {
      absl::StrAppend(&out, ", ...");
      break;
    }
    absl::StrAppend(&out, out.empty() ? "" : " or ", name(c.device, c.write_id));
  }
  (void)sector;
  return out.empty() ? "nothing (no acceptable value)" : out;
}

void ViewModel::WriteSubmitted(sector_t sector, uint32_t count, uint32_t device, uint64_t write_id,
                               uint64_t seq) {
  for (uint32_t i = 0; i < count; ++i) {
    MutableHistory(sector + i).AddWrite(device, write_id, seq);
  }
}

void ViewModel::WriteAcked(sector_t sector, uint32_t count, uint64_t write_id, uint64_t seq) {
  for (uint32_t i = 0; i < count; ++i) MutableHistory(sector + i).Ack(write_id, seq);
}

void ViewModel::SettleAtCrash(uint64_t crash_index) {
  for (auto& [sector, history] : sectors_) history.SettleAtCrash(sector, crash_index);
}

void ViewModel::FlushCompleted(uint64_t flush_submit_seq, uint64_t reads_in_flight_from,
                               std::optional<uint32_t> only_device) {
  for (auto& [sector, history] : sectors_) {
    history.MarkDurableBefore(flush_submit_seq, reads_in_flight_from, only_device);
  }
}

const SectorHistory& ViewModel::History(sector_t sector) const {
  auto it = sectors_.find(sector);
  if (it != sectors_.end()) return it->second;
  scratch_.emplace(InitialOriginStamp(sector));
  return *scratch_;
}

SectorHistory& ViewModel::MutableHistory(sector_t sector) {
  auto it = sectors_.find(sector);
  if (it == sectors_.end()) {
    it = sectors_.emplace(sector, SectorHistory(InitialOriginStamp(sector))).first;
  }
  return it->second;
}

void Model::AreaWritten(chunk_t area, const uint8_t* bytes, uint32_t exceptions_per_area) {
  AreaImage image;
  const AreaView view(bytes, exceptions_per_area);
  for (uint32_t slot = 0; slot < view.entry_count(); ++slot) {
    const DiskException e = view.entry(slot);
    image.entries.emplace_back(chunk_t{e.old_chunk}, chunk_t{e.new_chunk});
    if (!merged_ && e.new_chunk > max_new_chunk_) max_new_chunk_ = e.new_chunk;
  }
  CountEntries(image, /*add=*/true);
  if (auto old = areas_.find(area); old != areas_.end()) CountEntries(old->second, false);
  areas_[area] = std::move(image);
}

void Model::ResetAreas(absl::btree_map<chunk_t, AreaImage> areas) {
  areas_ = std::move(areas);
  committed_old_chunks_.clear();
  for (const auto& [area, image] : areas_) CountEntries(image, /*add=*/true);
}

void Model::CountEntries(const AreaImage& image, bool add) {
  for (const auto& [old_chunk, new_chunk] : image.entries) {
    if (add) {
      ++committed_old_chunks_[old_chunk];
      continue;
    }
    auto it = committed_old_chunks_.find(old_chunk);
    SNAPSIM_ASSERT(it != committed_old_chunks_.end() && it->second > 0);
    if (--it->second == 0) committed_old_chunks_.erase(it);
  }
}

void Model::AreaWriteSubmitted(chunk_t area, const uint8_t* bytes, uint32_t exceptions_per_area) {
  auto committed = areas_.find(area);
  if (committed == areas_.end()) return;
  const AreaView view(bytes, exceptions_per_area);
  std::vector<std::pair<chunk_t, chunk_t>> submitted;
  submitted.reserve(view.entry_count());
  for (uint32_t slot = 0; slot < view.entry_count(); ++slot) {
    const DiskException e = view.entry(slot);
    submitted.emplace_back(chunk_t{e.old_chunk}, chunk_t{e.new_chunk});
  }
  std::sort(submitted.begin(), submitted.end());
  AreaImage kept;
  for (const std::pair<chunk_t, chunk_t>& e : committed->second.entries) {
    if (std::binary_search(submitted.begin(), submitted.end(), e)) kept.entries.push_back(e);
  }
  CountEntries(committed->second, /*add=*/false);
  CountEntries(kept, /*add=*/true);
  committed->second = std::move(kept);
}

}  // namespace snapsim
