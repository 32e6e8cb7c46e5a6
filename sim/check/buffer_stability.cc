// SPDX-License-Identifier: GPL-2.0-only
#include "sim/check/buffer_stability.h"

#include <algorithm>
#include <cstring>
#include <string>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "sim/check/invariants.h"
#include "util/assert.h"

namespace snapsim {
namespace {

// Writes in flight at once on the devices the observer watches: the origin and every COW.
constexpr size_t kMaxTracked = (1 + kMaxScenarioSnapshots) * SimDevice::kMaxInFlight;

bool Tracked(const ObservedBio& bio) {
  return bio.is_write() && bio.sector_count != 0 && bio.data != nullptr;
}

}  // namespace

void BufferStability::OnSubmit(const ObservedBio& bio) {
  if (!Tracked(bio)) return;
  SNAPSIM_ASSERT(in_flight_.size() < kMaxTracked);
  const size_t bytes = size_t{bio.sector_count} << kSectorShift;
  in_flight_.emplace(std::make_tuple(bio.role, bio.snapshot, bio.number),
                     std::vector<uint8_t>(bio.data, bio.data + bytes));
}

void BufferStability::OnComplete(const ObservedBio& bio, int error) {
  (void)error;  // a failed write's buffer is promised just the same
  if (!Tracked(bio)) return;
  auto it = in_flight_.find(std::make_tuple(bio.role, bio.snapshot, bio.number));
  if (it == in_flight_.end()) return;
  const std::vector<uint8_t>& submitted = it->second;
  const bool held = std::memcmp(submitted.data(), bio.data, submitted.size()) == 0;
  const size_t first_diff =
      held ? submitted.size()
           : static_cast<size_t>(std::mismatch(submitted.begin(), submitted.end(), bio.data).first -
                                 submitted.begin());
  in_flight_.erase(it);  // `submitted` is gone from here on
  verdicts_.Tally(invariant::kWriteBufferStable, held);
  if (held) return;
  const std::string device = bio.role == DeviceRole::kOrigin ? std::string("origin")
                             : bio.snapshot == 0             ? std::string("COW")
                                                 : absl::StrCat("COW of snapshot ", bio.snapshot);
  verdicts_.set_snapshot(bio.snapshot);
  verdicts_.AddFinding(
      invariant::kWriteBufferStable, "the write's buffer is unchanged until the write completes",
      absl::StrFormat("%s write of sectors [%u, +%u): byte %u changed while in flight", device,
                      bio.sector, bio.sector_count, first_diff),
      "The submitter changed the data of a write before it completed; a real device may read "
      "the buffer at any moment until completion, so it may write either version.");
  verdicts_.set_snapshot(0);
}

}  // namespace snapsim
