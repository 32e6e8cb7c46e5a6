// SPDX-License-Identifier: GPL-2.0-only
//
// Whole-file writes that readers never see half done, and line appends that survive a crash of
// the writer up to the last complete line.
//
// Contract: WriteFileAtomically writes `content` to a temporary file in the same directory, syncs
// it and renames it over `path`, so `path` holds either the old or the new content; it replaces
// only a regular file (a device node, a directory or a FIFO at `path` is refused and left alone).
// WriteNewFileAtomically also refuses an existing regular file: for paths the user named, where
// replacing what is there would lose it. A reader of a file written by AppendLine sees whole lines
// plus at most one unterminated last line. ReadWholeFile reports a read error as an error, never
// as a short file.
#ifndef SNAPSIM_UTIL_ATOMIC_FILE_H_
#define SNAPSIM_UTIL_ATOMIC_FILE_H_

#include <string>
#include <string_view>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace snapsim {

absl::Status WriteFileAtomically(const std::string& path, std::string_view content);
absl::Status WriteNewFileAtomically(const std::string& path, std::string_view content);
// The same for content too large to hold at once: `produce` calls its PieceWriter with each
// piece in order and returns the first error (its own or the writer's).
using PieceWriter = absl::FunctionRef<absl::Status(std::string_view)>;
using ContentProducer = absl::FunctionRef<absl::Status(PieceWriter)>;
absl::Status WriteNewFileAtomically(const std::string& path, ContentProducer produce);
// Renames `from` to `to` unless something is at `to` (AlreadyExists, `from` left): atomically
// with renameat2(RENAME_NOREPLACE), or where the filesystem lacks it by a check just before.
absl::Status RenameNoReplace(const std::string& from, const std::string& to);
// What WriteNewFileAtomically would refuse, checked up front: OK when nothing is at `path`.
absl::Status CheckNewFilePath(const std::string& path);

// Appends `line` and a newline to `path` (created if missing) and flushes it to the kernel.
absl::Status AppendLine(const std::string& path, std::string_view line);

// The whole content of `path`; NotFound when it does not exist, FailedPrecondition when it is a
// directory, Internal on a read error.
absl::StatusOr<std::string> ReadWholeFile(const std::string& path);

}  // namespace snapsim

#endif  // SNAPSIM_UTIL_ATOMIC_FILE_H_
