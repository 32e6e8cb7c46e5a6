// SPDX-License-Identifier: GPL-2.0-only
#include "util/atomic_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace snapsim {
namespace {

absl::Status ErrnoStatus(std::string_view what, const std::string& path, int err) {
  std::string text = absl::StrCat(std::string(what), " ", path, ": ", std::strerror(err));
  return err == ENOENT ? absl::NotFoundError(text) : absl::InternalError(text);
}

absl::Status WriteAll(int fd, std::string_view data, const std::string& path) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoStatus("write", path, errno);
    data.remove_prefix(static_cast<size_t>(n));
  }
  return absl::OkStatus();
}

// OK when `path` is missing, or is a regular file and `replace` allows it.
absl::Status CheckReplaceable(const std::string& path, bool replace) {
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return absl::OkStatus();
    return ErrnoStatus("stat", path, errno);
  }
  if (!S_ISREG(st.st_mode)) {
    return absl::FailedPreconditionError(
        absl::StrCat(path, ": exists and is not a regular file; not replaced"));
  }
  if (!replace) {
    return absl::AlreadyExistsError(absl::StrCat(path, ": exists; not overwritten"));
  }
  return absl::OkStatus();
}

absl::Status WriteAtomically(const std::string& path, ContentProducer produce, bool replace) {
  if (absl::Status s = CheckReplaceable(path, replace); !s.ok()) return s;
  // Same directory as the target, so rename() stays within one filesystem. On any failure (a
  // full filesystem) it is removed: `path` never holds a truncated file.
  std::string tmp = absl::StrCat(path, ".tmp.", ::getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return ErrnoStatus("create", tmp, errno);
  absl::Status status = produce([&](std::string_view piece) { return WriteAll(fd, piece, tmp); });
  if (status.ok() && ::fsync(fd) != 0) status = ErrnoStatus("fsync", tmp, errno);
  if (::close(fd) != 0 && status.ok()) status = ErrnoStatus("close", tmp, errno);
  if (status.ok()) status = CheckReplaceable(path, replace);  // still so, just before rename
  if (status.ok() && !replace) {
    status = RenameNoReplace(tmp, path);
  } else if (status.ok() && ::rename(tmp.c_str(), path.c_str()) != 0) {
    status = ErrnoStatus("rename to", path, errno);
  }
  if (!status.ok()) ::unlink(tmp.c_str());
  return status;
}

}  // namespace

absl::Status WriteFileAtomically(const std::string& path, std::string_view content) {
  return WriteAtomically(
      path, [&](PieceWriter write) { return write(content); }, /*replace=*/true);
}

absl::Status WriteNewFileAtomically(const std::string& path, std::string_view content) {
  return WriteAtomically(
      path, [&](PieceWriter write) { return write(content); }, /*replace=*/false);
}

absl::Status WriteNewFileAtomically(const std::string& path, ContentProducer produce) {
  return WriteAtomically(path, produce, /*replace=*/false);
}

absl::Status RenameNoReplace(const std::string& from, const std::string& to) {
  // The kernel refuses atomically when `to` appeared since it was checked; a filesystem without
  // RENAME_NOREPLACE (EINVAL) falls back to the check just made and a plain rename.
  if (::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), RENAME_NOREPLACE) == 0) {
    return absl::OkStatus();
  }
  const int err = errno;
  if (err == EEXIST) return absl::AlreadyExistsError(absl::StrCat(to, ": exists; not overwritten"));
  if (err != EINVAL && err != ENOSYS) return ErrnoStatus("rename to", to, err);
  if (absl::Status s = CheckReplaceable(to, /*replace=*/false); !s.ok()) return s;
  if (::rename(from.c_str(), to.c_str()) != 0) return ErrnoStatus("rename to", to, errno);
  return absl::OkStatus();
}

absl::Status CheckNewFilePath(const std::string& path) {
  return CheckReplaceable(path, /*replace=*/false);
}

absl::Status AppendLine(const std::string& path, std::string_view line) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) return ErrnoStatus("open", path, errno);
  // One write() per line: a crash leaves at most the last line unterminated.
  std::string buffer = absl::StrCat(std::string(line), "\n");
  absl::Status status = WriteAll(fd, buffer, path);
  if (::close(fd) != 0 && status.ok()) status = ErrnoStatus("close", path, errno);
  return status;
}

absl::StatusOr<std::string> ReadWholeFile(const std::string& path) {
  // O_NONBLOCK: a FIFO with no writer must not hang the open; regular files ignore it.
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return ErrnoStatus("open", path, errno);
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    const int err = errno;
    ::close(fd);
    return ErrnoStatus("stat", path, err);
  }
  if (S_ISDIR(st.st_mode)) {
    ::close(fd);
    return absl::FailedPreconditionError(absl::StrCat(path, ": is a directory, not a file"));
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    return absl::FailedPreconditionError(absl::StrCat(path, ": not a regular file"));
  }
  std::string content;
  char buffer[1 << 16];
  for (;;) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      ::close(fd);
      return ErrnoStatus("read", path, err);
    }
    if (n == 0) break;
    content.append(buffer, static_cast<size_t>(n));
  }
  ::close(fd);
  return content;
}

}  // namespace snapsim
