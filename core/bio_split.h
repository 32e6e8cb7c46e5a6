// SPDX-License-Identifier: GPL-2.0-only
//
// dm core's part of a bio's journey into a target: the split of a bio at the target's
// max_io_len (split_io) boundaries, and the join of the pieces' completions into one end_io of
// the parent (dec_pending in dm.c).
//
// Contract:
//  - Pieces never cross a multiple of `boundary` sectors; they are handed out in ascending
//    sector order and point into the parent's data buffer (the submitter keeps it alive until
//    the parent's end_io, which runs only after every piece has ended).
//  - The parent's end_io runs exactly once, after all pieces ended, with the first error any
//    piece reported (0 if none). Pieces may end in any order, inside or after the map call.
#ifndef SNAPSIM_CORE_BIO_SPLIT_H_
#define SNAPSIM_CORE_BIO_SPLIT_H_

#include <cstdint>
#include <optional>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/functional/function_ref.h"
#include "core/block_device.h"

namespace snapsim {

// Longest bio the target accepts, in sectors (1 MiB), as a block queue's max_sectors would.
inline constexpr uint32_t kMaxBioSectors = 2048;
// Most children one parent is forked into (a bio of kMaxBioSectors split into 1-sector chunks).
inline constexpr uint32_t kMaxBioPieces = kMaxBioSectors;

// Returns `count` end_io callbacks; when all of them have run, `parent` runs once with the first
// non-zero error among them (0 if none). REQUIRES: 1 <= count <= kMaxBioPieces.
std::vector<BioEndIo> ForkEndIo(BioEndIo parent, uint32_t count);

// dm core's count of a target's bios in flight: *in_flight counts `bio` until its end_io runs.
// REQUIRES: *in_flight < max_in_flight; bio.sector_count <= kMaxBioSectors (both asserted).
void CountInFlight(Bio& bio, uint64_t* in_flight, uint64_t max_in_flight);

// dm core before the split (__split_and_process_bio): an empty FLUSH goes to `map_flush`; a bio
// with no sectors ends with 0; one beyond `device_sectors` ends with -EIO (generic_make_request);
// a preflush with data becomes an empty FLUSH to `map_flush` and then, if it succeeded, the data
// without REQ_FLUSH to `redispatch` (its error ends the data bio otherwise). Returns the bio when
// it is data to split and map now, nullopt when it was handled here.
std::optional<Bio> PrepareForSplit(Bio bio, sector_t device_sectors,
                                   absl::FunctionRef<void(Bio)> map_flush,
                                   absl::AnyInvocable<void(Bio)> redispatch);

// Splits `bio` at multiples of `boundary` sectors and passes each piece to `map`.
// REQUIRES: boundary is a power of two; 1 <= bio.sector_count <= kMaxBioSectors.
void SplitBio(Bio bio, uint32_t boundary, absl::FunctionRef<void(Bio)> map);

}  // namespace snapsim

#endif  // SNAPSIM_CORE_BIO_SPLIT_H_
