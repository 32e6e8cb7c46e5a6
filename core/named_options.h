// SPDX-License-Identifier: GPL-2.0-only
//
// kNamedOptions: the one table of the named boolean store and target options (StoreOptions,
// TargetOptions). `--option NAME`, `--option corrected`, the [store] and [target] sections of a
// scenario file and the help text all walk it, so an option with a row is known everywhere.
//
// Invariant: every bool of StoreOptions and TargetOptions has exactly one row (the
// static_asserts below and tests/named_options_test.cc catch one added without a row). Rows of
// one struct are in the order a scenario file writes them. The mutations are enums for tests of
// the checker, not named options.
#ifndef SNAPSIM_CORE_NAMED_OPTIONS_H_
#define SNAPSIM_CORE_NAMED_OPTIONS_H_

#include <array>
#include <string>
#include <string_view>
#include <variant>

#include "core/exception_store.h"
#include "core/snapshot_target.h"

namespace snapsim {

// `--option corrected`: every row with `corrected` set.
inline constexpr std::string_view kCorrectedOptionName = "corrected";

struct NamedOption {
  std::string_view name;  // the --option name and the scenario file's key
  std::variant<bool StoreOptions::*, bool TargetOptions::*> member;
  // Part of `corrected`: it answers a finding of the faithful 3.7.1 store (docs/findings.md).
  bool corrected;
  std::string_view help;  // one line: what it changes, and the finding it answers
};

inline constexpr std::array<NamedOption, 9> kNamedOptions = {{
    {"skip_metadata_after_load", &StoreOptions::skip_metadata_after_load, true,
     "move next_free past a metadata area after load (area-boundary reload reuses the area)"},
    {"durable_invalidation", &StoreOptions::durable_invalidation, true,
     "write the invalid header with FLUSH|FUA (a lost invalidation brings the snapshot back)"},
    {"clear_stale_slots_after_load", &StoreOptions::clear_stale_slots_after_load, true,
     "zero the area's slots past the terminator after load (a torn area write's stale entries)"},
    {"zero_area_before_header", &StoreOptions::zero_area_before_header, true,
     "a new snapshot zeroes area 0 durably before its header (a crash keeps leftover data)"},
    {"full_chunk_write_skips_copy", &TargetOptions::full_chunk_write_skips_copy, false,
     "a whole-chunk snapshot write skips the copy, as newer kernels do (no finding)"},
    {"flush_origin_before_commit_merge", &TargetOptions::flush_origin_before_commit_merge, true,
     "FLUSH the origin before commit_merge (a merge step committed before its origin writes)"},
    {"commit_failed_copies", &TargetOptions::commit_failed_copies, true,
     "a failed copy goes through the store's commit path (one failed copy hangs origin writes)"},
    {"complete_exceptions_in_order", &TargetOptions::complete_exceptions_in_order, true,
     "hand copies to the store in allocation order (a crash leaks chunks committed out of order)"},
    {"fail_origin_until_invalid_on_disk", &TargetOptions::fail_origin_until_invalid_on_disk, true,
     "fail origin writes while an invalidation's header write fails (the snapshot comes back)"},
}};

// A bool added to either struct changes its size: give it a row above, then update these.
static_assert(sizeof(StoreOptions) == 5, "a StoreOptions bool needs a kNamedOptions row");
static_assert(sizeof(TargetOptions) == 6, "a TargetOptions bool needs a kNamedOptions row");

// The row called `name`, or nullptr (`corrected` is not a row).
const NamedOption* FindNamedOption(std::string_view name);

// Switches the option on in whichever struct holds it.
void SetNamedOption(const NamedOption& option, StoreOptions& store, TargetOptions& target);

// The option's field in `store` or `target`, or nullptr if it lives in the other struct.
bool* NamedOptionField(const NamedOption& option, StoreOptions& store);
bool* NamedOptionField(const NamedOption& option, TargetOptions& target);

// Switches on every corrected option: what `--option corrected` means.
void ApplyCorrectedOptions(StoreOptions& store, TargetOptions& target);

// The names --option accepts: `corrected`, the corrected options, then the others, in table
// order, joined by ", ".
std::string NamedOptionNames();

}  // namespace snapsim

#endif  // SNAPSIM_CORE_NAMED_OPTIONS_H_
