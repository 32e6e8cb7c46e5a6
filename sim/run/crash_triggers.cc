// SPDX-License-Identifier: GPL-2.0-only
#include "sim/run/crash_triggers.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "sim/check/area_writes.h"

namespace snapsim {
namespace {

bool AllZero(const uint8_t* data, size_t bytes) {
  for (size_t i = 0; i < bytes; ++i) {
    if (data[i] != 0) return false;
  }
  return true;
}

// Which COW a trigger fired on: nothing for the first (the one-snapshot messages stay as they
// were), " of cow-N" for further snapshot N.
std::string OfCow(const ObservedBio& bio) {
  return bio.snapshot == 0 ? std::string() : absl::StrCat(" of cow-", bio.snapshot);
}

}  // namespace

void CrashTriggers::Arm(CrashTrigger trigger, uint64_t count) {
  armed_ = true;
  trigger_ = trigger;
  fire_at_event_ = scheduler_.events_run() + count;
  if (trigger == CrashTrigger::kAfterEvents && count == 0) Fire("at once");
}

void CrashTriggers::Fire(const std::string& point) {
  armed_ = false;
  throw SimulatedCrash(point);
}

void CrashTriggers::CountCompletion() {
  ++completions_;
  if (crash_at_completion_ != 0 && completions_ == crash_at_completion_ && !checking_) {
    Fire(absl::StrCat("I/O completion #", completions_));
  }
  if (armed_ && trigger_ == CrashTrigger::kAfterEvents &&
      scheduler_.events_run() >= fire_at_event_) {
    Fire(absl::StrCat("after ", scheduler_.events_run(), " events"));
  }
}

void CrashTriggers::OnSubmit(const ObservedBio& bio) {
  if (!armed_ || trigger_ != CrashTrigger::kAreaWriteSubmitted || !bio.fua) return;
  const uint32_t c = chunk_sectors_[bio.snapshot];
  if (c == 0) return;
  if (AreaOfCowWrite(bio, c).has_value()) {
    Fire(absl::StrFormat("area write to chunk %u%s queued, not complete", bio.sector / c,
                         OfCow(bio)));
  }
}

void CrashTriggers::OnComplete(const ObservedBio& bio, int error) {
  if (checking_) return;
  if (armed_ && error == 0) {
    // Before the first activation has chosen a chunk size (a crash armed for the setup writes)
    // only the header and event triggers can tell where they are.
    const uint32_t c = chunk_sectors_[bio.snapshot];
    const bool cow_write = bio.role == DeviceRole::kCow && bio.is_write() && bio.sector_count > 0;
    const bool at_area = c != 0 && AreaOfCowWrite(bio, c).has_value();
    switch (trigger_) {
      case CrashTrigger::kAreaWriteCompleted:
        if (at_area && bio.fua) {
          Fire(absl::StrFormat("area write to chunk %u%s complete, callbacks not run",
                               bio.sector / c, OfCow(bio)));
        }
        break;
      case CrashTrigger::kNextAreaZeroed:
        if (at_area && !bio.fua && AllZero(bio.data, size_t{bio.sector_count} << kSectorShift)) {
          Fire(absl::StrFormat("next area (chunk %u%s) zeroed", bio.sector / c, OfCow(bio)));
        }
        break;
      case CrashTrigger::kCopyCompleted:
        if (cow_write && c != 0 &&
            !IsMetadataChunk(ExceptionsPerArea(c), ChunkOfSector(c, bio.sector))) {
          Fire(absl::StrFormat("copy into COW chunk %u%s complete", bio.sector / c, OfCow(bio)));
        }
        break;
      case CrashTrigger::kHeaderWritten:
        if (cow_write && bio.sector == 0)
          Fire(absl::StrCat("header write", OfCow(bio), " complete"));
        break;
      case CrashTrigger::kMergeStep:
        if (bio.role == DeviceRole::kOrigin && bio.is_write() && bio.sector_count > 0 &&
            kind_ == TargetKind::kSnapshotMerge) {
          Fire(absl::StrFormat("merge copy to origin sector %u complete", bio.sector));
        }
        break;
      default:
        break;
    }
  }
  CountCompletion();
}

}  // namespace snapsim
