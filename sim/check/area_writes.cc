// SPDX-License-Identifier: GPL-2.0-only
#include "sim/check/area_writes.h"

namespace snapsim {

std::optional<chunk_t> AreaOfCowWrite(const ObservedBio& bio, uint32_t chunk_sectors) {
  if (bio.role != DeviceRole::kCow || !bio.is_write() || chunk_sectors == 0) return std::nullopt;
  if (!IsAreaIo(chunk_sectors, bio.sector, bio.sector_count)) return std::nullopt;
  return AreaOfIo(chunk_sectors, bio.sector);
}

void AreaWriteLearner::OnSubmit(const ObservedBio& bio) {
  if (!bio.fua) return;
  const std::optional<chunk_t> area = AreaOfCowWrite(bio, chunk_sectors_);
  if (area) model_.AreaWriteSubmitted(*area, bio.data, ExceptionsPerArea(chunk_sectors_));
}

void AreaWriteLearner::OnComplete(const ObservedBio& bio, int error) {
  if (error != 0 || !bio.fua) return;
  const std::optional<chunk_t> area = AreaOfCowWrite(bio, chunk_sectors_);
  if (area) model_.AreaWritten(*area, bio.data, ExceptionsPerArea(chunk_sectors_));
}

}  // namespace snapsim
