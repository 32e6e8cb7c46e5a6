// SPDX-License-Identifier: GPL-2.0-only
//
// FileDevice: a BlockDevice over an image file or a real block device (/dev/vg/snap-cow).
//
// Contract:
//  - Open() succeeds only for a non-empty file whose size is a multiple of 512 bytes; the size
//    is fixed at open (fstat for files, BLKGETSIZE64 for block devices). Errors are one line:
//    "cannot open X: <strerror>", "X is empty", "X size is not a multiple of 512 bytes".
//  - The logical block size is 512 for regular files and BLKSSZGET for block devices.
//  - Submit() does the I/O inline (pread/pwrite) and completes the bio inside the call, so
//    WaitFor() never waits. A bio past the end completes with -EIO.
//  - FLUSH (preflush) and FUA become fdatasync(): before the write for FLUSH, after it for FUA.
//  - A device opened read-only never writes: every write bio, including an empty FLUSH,
//    completes with -EROFS (what a read-only block device returns) and the file is untouched.
//  - errno values are translated to bio errors in one place (BioErrorFromErrno).
#ifndef SNAPSIM_CORE_FILE_DEVICE_H_
#define SNAPSIM_CORE_FILE_DEVICE_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "core/block_device.h"
#include "core/format.h"

namespace snapsim {

enum class FileAccess : uint8_t { kReadOnly, kReadWrite };

class FileDevice final : public BlockDevice {
 public:
  static absl::StatusOr<std::unique_ptr<FileDevice>> Open(const std::string& path,
                                                          FileAccess access);
  ~FileDevice() override;
  FileDevice(const FileDevice&) = delete;
  FileDevice& operator=(const FileDevice&) = delete;

  sector_t size_sectors() const override { return size_sectors_; }
  uint32_t logical_block_size() const override { return logical_block_size_; }
  std::string name() const override { return path_; }
  void Submit(Bio bio) override;
  void WaitFor(const bool& done) override;

  bool read_only() const { return access_ == FileAccess::kReadOnly; }
  bool is_block_device() const { return is_block_device_; }

 private:
  FileDevice(int fd, std::string path, FileAccess access, sector_t size_sectors,
             uint32_t logical_block_size, bool is_block_device);
  // 0 or -errno for one bio's data transfer, retrying short transfers.
  int Transfer(const Bio& bio);
  int Sync();

  int fd_;
  std::string path_;
  FileAccess access_;
  sector_t size_sectors_;
  uint32_t logical_block_size_;
  bool is_block_device_;
};

// The bio error for an errno from a failed system call: -errno, with EINTR/EAGAIN never reaching
// here (retried) and 0 mapped to -EIO (a short transfer that made no progress).
int BioErrorFromErrno(int error_number);

}  // namespace snapsim

#endif  // SNAPSIM_CORE_FILE_DEVICE_H_
