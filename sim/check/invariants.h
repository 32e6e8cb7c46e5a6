// SPDX-License-Identifier: GPL-2.0-only
//
// The invariants the checker holds the store to, by stable name. Reports, known findings and
// ctest key on these names: add names, never rename one. SPEC section 5 is the floor.
#ifndef SNAPSIM_SIM_CHECK_INVARIANTS_H_
#define SNAPSIM_SIM_CHECK_INVARIANTS_H_

#include <array>
#include <string_view>

#include "sim/check/finding.h"

namespace snapsim {

struct InvariantInfo {
  std::string_view name;
  FindingSeverity severity;
  std::string_view summary;
};

namespace invariant {
inline constexpr std::string_view kActivationSucceeds = "activation_succeeds";
inline constexpr std::string_view kTableWellFormed = "table_well_formed";
inline constexpr std::string_view kNoLostCommittedException = "no_lost_committed_exception";
inline constexpr std::string_view kNextFreeAboveCommitted = "next_free_above_committed";
inline constexpr std::string_view kNextFreeMonotonic = "next_free_monotonic";
inline constexpr std::string_view kValidFlagSticky = "valid_flag_sticky";
inline constexpr std::string_view kSnapshotImage = "snapshot_image";
inline constexpr std::string_view kExceptionDataIntact = "exception_data_intact";
inline constexpr std::string_view kOriginImage = "origin_image";
inline constexpr std::string_view kMergeImage = "merge_image";
inline constexpr std::string_view kLiveness = "liveness";
inline constexpr std::string_view kAssertionsHold = "assertions_hold";
inline constexpr std::string_view kCowSpaceAccounted = "cow_space_accounted";
inline constexpr std::string_view kWriteBufferStable = "write_buffer_stable";
inline constexpr std::string_view kInvalidationHasCause = "invalidation_has_cause";
inline constexpr std::string_view kOriginWriteAfterCommit = "origin_write_after_commit";
}  // namespace invariant

inline constexpr std::array<InvariantInfo, 16> kInvariants = {{
    {invariant::kActivationSucceeds, FindingSeverity::kError,
     "after a crash within the contract, the snapshot activates again from disk"},
    {invariant::kTableWellFormed, FindingSeverity::kCritical,
     "the on-disk table has no entry pointing at metadata or past the end, no duplicates"},
    {invariant::kNoLostCommittedException, FindingSeverity::kCritical,
     "every exception of an acknowledged area write is in the reloaded table, same mapping"},
    {invariant::kNextFreeAboveCommitted, FindingSeverity::kCritical,
     "after activation next_free is above every committed new_chunk"},
    {invariant::kNextFreeMonotonic, FindingSeverity::kError,
     "next_free never decreases between activations, except by merge"},
    {invariant::kValidFlagSticky, FindingSeverity::kCritical,
     "an invalidated snapshot never reports success again; invalid on disk stays invalid"},
    {invariant::kSnapshotImage, FindingSeverity::kCritical,
     "reading the snapshot returns the point-in-time image plus its own acknowledged writes"},
    {invariant::kExceptionDataIntact, FindingSeverity::kCritical,
     "the COW chunk of every exception holds the origin data of the snapshot's moment"},
    {invariant::kOriginImage, FindingSeverity::kCritical,
     "reading the origin returns its own acknowledged writes"},
    {invariant::kMergeImage, FindingSeverity::kCritical,
     "during and after a merge, origin plus remaining exceptions is the snapshot image"},
    {invariant::kLiveness, FindingSeverity::kError, "every bio completes, with success or error"},
    {invariant::kAssertionsHold, FindingSeverity::kCritical,
     "no SNAPSIM_ASSERT of the store, the target or the simulator fires (util/assert.h)"},
    {invariant::kCowSpaceAccounted, FindingSeverity::kWarning,
     "every data chunk below next_free holds a committed exception: no COW space leaked"},
    {invariant::kWriteBufferStable, FindingSeverity::kCritical,
     "no write's buffer changes between its submission and its completion"},
    {invariant::kInvalidationHasCause, FindingSeverity::kError,
     "an invalidation is earned: out of space only when the writes used the COW up, an I/O "
     "error only after an injected fault"},
    {invariant::kOriginWriteAfterCommit, FindingSeverity::kCritical,
     "an origin write to a chunk is acknowledged only once a committed area holds its exception"},
}};

inline const InvariantInfo* FindInvariant(std::string_view name) {
  for (const InvariantInfo& info : kInvariants) {
    if (info.name == name) return &info;
  }
  return nullptr;
}

}  // namespace snapsim

#endif  // SNAPSIM_SIM_CHECK_INVARIANTS_H_
