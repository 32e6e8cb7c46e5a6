// SPDX-License-Identifier: GPL-2.0-only
//
// One boot of the cached kernel under qemu: the job script on the first drive (/dev/vda), the
// given image files as /dev/vdb, /dev/vdc, ... (virtio-blk, cache=writeback: the guest sees a
// volatile write cache, so FLUSH and FUA stay on the bios), the serial console into a
// transcript file. TCG (software emulation) by default: KVM only when asked for.
#ifndef SNAPSIM_KERNEL_VM_H_
#define SNAPSIM_KERNEL_VM_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "kernel/setup.h"

namespace snapsim::kernel {

struct Drive {
  std::string path;
  uint32_t block_bytes = 512;  // the logical (and physical) block size the guest sees
};

struct BootOptions {
  std::string job_script;     // shell text run by the guest's busybox sh
  std::string work_dir;       // job.img and the transcript go here
  std::vector<Drive> drives;  // /dev/vdb, /dev/vdc, ...
  int timeout_seconds = 900;
  bool kvm = false;
};

struct BootResult {
  std::string transcript_path;
  std::string transcript;  // the serial console
  double seconds = 0;
  bool finished = false;      // the job script ran to its end ("SNAPSIM end")
  std::string linux_version;  // "6.1.0-57-amd64 (Debian 6.1.192-3)", from /proc/version
};

// FailedPrecondition when qemu is missing or the guest never ran the job (with the transcript's
// last line).
absl::StatusOr<BootResult> Boot(const KernelInstall& kernel, const BootOptions& options);

// The guest's "SNAPSIM <key> <rest>" lines: the rest of every line that starts with the key.
std::vector<std::string> GuestLines(const std::string& transcript, const std::string& key);

}  // namespace snapsim::kernel

#endif  // SNAPSIM_KERNEL_VM_H_
