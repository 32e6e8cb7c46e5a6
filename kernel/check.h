// SPDX-License-Identifier: GPL-2.0-only
//
// `snapsim kernel check DIR`: activates an exported crash state (DIR/origin.img, DIR/cow.img, as
// `snapsim export` writes them) on the real dm-snapshot target and compares what the kernel
// says and reads with what snapsim predicts from the same images (core/inspect.h):
//  - table acceptance: the kernel creates the snapshot exactly when inspect finds it loadable;
//  - the status line ("<allocated>/<total> <metadata>" or "Invalid");
//  - the content of every chunk of the snapshot (and of the origin through the origin target);
//    an invalid snapshot must fail its reads.
// The user's images are never written: the guest works on copies in the work directory.
#ifndef SNAPSIM_KERNEL_CHECK_H_
#define SNAPSIM_KERNEL_CHECK_H_

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "kernel/setup.h"

namespace snapsim::kernel {

struct CheckOptions {
  std::string export_dir;
  std::string work_dir;  // copies, dumps and the transcript; must be new or empty
  uint32_t origin_block_bytes = 512;
  uint32_t cow_block_bytes = 512;
  bool kvm = false;
  int timeout_seconds = 900;
  std::ostream* log = nullptr;
};

struct CheckResult {
  bool same = true;
  std::vector<std::string> differences;  // where, one line each
  std::string predicted_activation;      // "ok" or "rejected"
  std::string predicted_status;
  std::string kernel_activation;
  std::string kernel_status;
  uint64_t chunks_compared = 0;
  std::string linux_version;
  double boot_seconds = 0;
  std::string transcript_path;
};

// InvalidArgument for a bad DIR, FailedPrecondition for a boot that failed.
absl::StatusOr<CheckResult> CheckExport(const KernelInstall& kernel, const CheckOptions& options);

// InvalidArgument when `dir` exists and is not an empty directory: nothing the user had is
// overwritten. PrepareWorkDir then creates it.
absl::Status RefuseUsedDirectory(const std::string& dir);
absl::Status PrepareWorkDir(const std::string& dir);

}  // namespace snapsim::kernel

#endif  // SNAPSIM_KERNEL_CHECK_H_
