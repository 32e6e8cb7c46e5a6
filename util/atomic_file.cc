// SPDX-License-Identifier: GPL-2.0-only
#include "util/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

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

}  // namespace

absl::Status WriteFileAtomically(const std::string& path, std::string_view content) {
  // Same directory as the target, so rename() stays within one filesystem.
  std::string tmp = absl::StrCat(path, ".tmp.", ::getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return ErrnoStatus("create", tmp, errno);
  absl::Status status = WriteAll(fd, content, tmp);
  if (status.ok() && ::fsync(fd) != 0) status = ErrnoStatus("fsync", tmp, errno);
  if (::close(fd) != 0 && status.ok()) status = ErrnoStatus("close", tmp, errno);
  if (status.ok() && ::rename(tmp.c_str(), path.c_str()) != 0) {
    status = ErrnoStatus("rename to", path, errno);
  }
  if (!status.ok()) ::unlink(tmp.c_str());
  return status;
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
  std::ifstream in(path, std::ios::binary);
  if (!in) return ErrnoStatus("open", path, errno);
  std::ostringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

}  // namespace snapsim
