// SPDX-License-Identifier: GPL-2.0-only
//
// Whole-file writes that readers never see half done, and line appends that survive a crash of
// the writer up to the last complete line.
//
// Contract: WriteFileAtomically writes `content` to a temporary file in the same directory, syncs
// it and renames it over `path`, so `path` holds either the old or the new content. A reader of a
// file written by AppendLine sees whole lines plus at most one unterminated last line.
#ifndef SNAPSIM_UTIL_ATOMIC_FILE_H_
#define SNAPSIM_UTIL_ATOMIC_FILE_H_

#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace snapsim {

absl::Status WriteFileAtomically(const std::string& path, std::string_view content);

// Appends `line` and a newline to `path` (created if missing) and flushes it to the kernel.
absl::Status AppendLine(const std::string& path, std::string_view line);

// The whole content of `path`; NotFound when it does not exist.
absl::StatusOr<std::string> ReadWholeFile(const std::string& path);

}  // namespace snapsim

#endif  // SNAPSIM_UTIL_ATOMIC_FILE_H_
