// SPDX-License-Identifier: GPL-2.0-only
#include "sim/check/area_writes.h"

namespace snapsim {

std::optional<chunk_t> AreaOfCowWrite(const ObservedBio& bio, uint32_t chunk_sectors) {
  const uint32_t c = chunk_sectors;
  if (bio.role != DeviceRole::kCow || !bio.is_write() || bio.sector_count != c || c == 0) {
    return std::nullopt;
  }
  if (bio.sector % c != 0 || bio.sector == 0) return std::nullopt;
  const uint32_t e = ExceptionsPerArea(c);
  const chunk_t chunk = bio.sector / c;
  if (!IsMetadataChunk(e, chunk)) return std::nullopt;
  return (chunk - kNumSnapshotHeaderChunks) / (chunk_t{e} + 1);
}

void AreaWriteLearner::OnComplete(const ObservedBio& bio, int error) {
  if (error != 0 || !bio.fua) return;
  const std::optional<chunk_t> area = AreaOfCowWrite(bio, chunk_sectors_);
  if (area) model_.AreaWritten(*area, bio.data, ExceptionsPerArea(chunk_sectors_));
}

}  // namespace snapsim
