// SPDX-License-Identifier: GPL-2.0-only
#include "core/file_device.h"

#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "util/assert.h"

namespace snapsim {
namespace {

// Bounds the retries of one pread/pwrite: each round either makes progress or fails, except
// EINTR, and a bio never needs more rounds than it has sectors plus a few interruptions.
constexpr int kMaxInterruptedRetries = 64;

absl::Status OpenError(const std::string& path, int error_number) {
  return absl::NotFoundError(absl::StrCat("cannot open ", path, ": ", std::strerror(error_number)));
}

}  // namespace

int BioErrorFromErrno(int error_number) { return error_number == 0 ? -EIO : -error_number; }

absl::StatusOr<std::unique_ptr<FileDevice>> FileDevice::Open(const std::string& path,
                                                             FileAccess access) {
  // O_NONBLOCK so that a FIFO with no writer is refused below instead of hanging open(); it is
  // cleared again for the files and block devices that are kept.
  const int flags = (access == FileAccess::kReadOnly ? O_RDONLY : O_RDWR) | O_CLOEXEC;
  const int fd = ::open(path.c_str(), flags | O_NONBLOCK);
  if (fd < 0) return OpenError(path, errno);
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    const int error_number = errno;
    ::close(fd);
    return OpenError(path, error_number);
  }
  const bool is_block_device = S_ISBLK(st.st_mode);
  uint64_t size_bytes = static_cast<uint64_t>(st.st_size);
  uint32_t logical_block_size = kSectorSize;
  if (is_block_device) {
    int block_size = 0;
    if (::ioctl(fd, BLKGETSIZE64, &size_bytes) != 0 || ::ioctl(fd, BLKSSZGET, &block_size) != 0) {
      const int error_number = errno;
      ::close(fd);
      return OpenError(path, error_number);
    }
    logical_block_size = static_cast<uint32_t>(block_size);
  } else if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    return absl::InvalidArgumentError(
        absl::StrCat(path, " is not a regular file or a block device"));
  }
  const int status_flags = ::fcntl(fd, F_GETFL);
  if (status_flags < 0 || ::fcntl(fd, F_SETFL, status_flags & ~O_NONBLOCK) != 0) {
    const int error_number = errno;
    ::close(fd);
    return OpenError(path, error_number);
  }
  if (size_bytes == 0) {
    ::close(fd);
    return absl::InvalidArgumentError(absl::StrCat(path, " is empty"));
  }
  if (size_bytes % kSectorSize != 0) {
    ::close(fd);
    return absl::InvalidArgumentError(absl::StrCat(path, " size is not a multiple of 512 bytes"));
  }
  return std::unique_ptr<FileDevice>(new FileDevice(fd, path, access, size_bytes >> kSectorShift,
                                                    logical_block_size, is_block_device));
}

FileDevice::FileDevice(int fd, std::string path, FileAccess access, sector_t size_sectors,
                       uint32_t logical_block_size, bool is_block_device)
    : fd_(fd),
      path_(std::move(path)),
      access_(access),
      size_sectors_(size_sectors),
      logical_block_size_(logical_block_size),
      is_block_device_(is_block_device) {
  SNAPSIM_ASSERT(fd_ >= 0);
}

FileDevice::~FileDevice() { ::close(fd_); }

int FileDevice::Sync() { return ::fdatasync(fd_) == 0 ? 0 : BioErrorFromErrno(errno); }

int FileDevice::Transfer(const Bio& bio) {
  uint8_t* data = bio.data;
  uint64_t left = bio.bytes();
  off_t offset = static_cast<off_t>(bio.sector << kSectorShift);
  int interruptions = 0;
  while (left != 0) {
    const ssize_t done =
        bio.is_write() ? ::pwrite(fd_, data, left, offset) : ::pread(fd_, data, left, offset);
    if (done < 0 && (errno == EINTR || errno == EAGAIN) &&
        ++interruptions <= kMaxInterruptedRetries) {
      continue;
    }
    if (done < 0) return BioErrorFromErrno(errno);
    if (done == 0) return BioErrorFromErrno(0);  // the file shrank under us
    data += done;
    left -= static_cast<uint64_t>(done);
    offset += done;
  }
  return 0;
}

void FileDevice::Submit(Bio bio) {
  if (bio.sector > size_sectors_ || bio.sector_count > size_sectors_ - bio.sector) {
    bio.end_io(-EIO);
    return;
  }
  if (bio.is_write() && read_only()) {
    bio.end_io(-EROFS);
    return;
  }
  int error = 0;
  if (bio.preflush) error = Sync();
  if (error == 0 && bio.sector_count != 0) {
    SNAPSIM_ASSERT(bio.data != nullptr);
    error = Transfer(bio);
  }
  if (error == 0 && bio.fua) error = Sync();
  bio.end_io(error);
}

void FileDevice::WaitFor(const bool& done) {
  // Every bio completed inside Submit().
  SNAPSIM_ASSERT(done);
}

}  // namespace snapsim
