// SPDX-License-Identifier: GPL-2.0-only
#include "core/bio_split.h"

#include <algorithm>
#include <cerrno>
#include <memory>
#include <utility>

#include "util/assert.h"

namespace snapsim {
namespace {

// The parent's side of a fork: shared by its children, freed with the last one.
struct ForkState {
  BioEndIo parent;
  uint32_t remaining = 0;
  int error = 0;
};

}  // namespace

std::vector<BioEndIo> ForkEndIo(BioEndIo parent, uint32_t count) {
  SNAPSIM_ASSERT(count >= 1 && count <= kMaxBioPieces);
  auto state = std::make_shared<ForkState>();
  state->parent = std::move(parent);
  state->remaining = count;
  std::vector<BioEndIo> children;
  children.reserve(count);
  for (uint32_t i = 0; i < count; ++i) {
    children.push_back([state](int error) {
      SNAPSIM_ASSERT(state->remaining > 0);
      if (error != 0 && state->error == 0) state->error = error;
      if (--state->remaining == 0) state->parent(state->error);
    });
  }
  return children;
}

void CountInFlight(Bio& bio, uint64_t* in_flight, uint64_t max_in_flight) {
  SNAPSIM_ASSERT(*in_flight < max_in_flight);
  SNAPSIM_ASSERT(bio.sector_count <= kMaxBioSectors);
  ++*in_flight;
  bio.end_io = [in_flight, end_io = std::move(bio.end_io)](int error) mutable {
    SNAPSIM_ASSERT(*in_flight > 0);
    --*in_flight;
    end_io(error);
  };
}

std::optional<Bio> PrepareForSplit(Bio bio, sector_t device_sectors,
                                   absl::FunctionRef<void(Bio)> map_flush,
                                   absl::AnyInvocable<void(Bio)> redispatch) {
  if (bio.is_empty_flush()) {
    map_flush(std::move(bio));
    return std::nullopt;
  }
  if (bio.sector_count == 0) {  // nothing to do and no flush asked for
    bio.end_io(0);
    return std::nullopt;
  }
  if (bio.sector + bio.sector_count > device_sectors) {
    bio.end_io(-EIO);  // beyond the device: generic_make_request refuses it
    return std::nullopt;
  }
  if (bio.preflush) {
    // dm core sends the flush on its own first, then the data without REQ_FLUSH.
    Bio flush;
    flush.op = BioOp::kWrite;
    flush.preflush = true;
    flush.end_io = [redispatch = std::move(redispatch), data = std::move(bio)](int error) mutable {
      if (error != 0) {
        data.end_io(error);
        return;
      }
      data.preflush = false;
      redispatch(std::move(data));
    };
    map_flush(std::move(flush));
    return std::nullopt;
  }
  return bio;
}

void SplitBio(Bio bio, uint32_t boundary, absl::FunctionRef<void(Bio)> map) {
  SNAPSIM_ASSERT(boundary != 0 && (boundary & (boundary - 1)) == 0);
  SNAPSIM_ASSERT(bio.sector_count >= 1 && bio.sector_count <= kMaxBioSectors);
  // Cut first, then map: a piece may end inside `map`, and the count must be final by then.
  std::vector<Bio> pieces;
  sector_t sector = bio.sector;
  uint32_t left = bio.sector_count;
  uint8_t* data = bio.data;
  while (left > 0) {
    SNAPSIM_ASSERT(pieces.size() < kMaxBioPieces);
    const sector_t to_boundary = boundary - (sector & (boundary - 1));
    const uint32_t count = static_cast<uint32_t>(std::min<sector_t>(left, to_boundary));
    Bio piece;
    piece.op = bio.op;
    piece.sector = sector;
    piece.sector_count = count;
    piece.fua = bio.fua;
    piece.preflush = false;  // dm core issues the preflush on its own, before the data
    piece.data = data;
    pieces.push_back(std::move(piece));
    sector += count;
    left -= count;
    data += uint64_t{count} << kSectorShift;
  }
  std::vector<BioEndIo> ends = ForkEndIo(std::move(bio.end_io), pieces.size());
  for (size_t i = 0; i < pieces.size(); ++i) {
    pieces[i].end_io = std::move(ends[i]);
    map(std::move(pieces[i]));
  }
}

}  // namespace snapsim
