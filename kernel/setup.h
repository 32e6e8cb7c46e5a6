// SPDX-License-Identifier: GPL-2.0-only
//
// The kernel cache of `snapsim kernel`: a Linux kernel and an initramfs that boot under qemu and
// run one job script. `SetupKernel` fills it once (apt-get download + dpkg -x of a Debian kernel
// package, never installed into the host; or a developer's own vmlinuz and modules); everything
// after that is offline. `LoadKernel` finds it again and builds the initramfs of the current
// guest tool the first time that tool boots (offline, a second or two).
//
// The cache ($SNAPSIM_KERNEL_DIR, default ~/.cache/snapsim/kernel) holds kernel.json (what is
// there), for a package its unpacked tree (root/) and the .deb, for one's own kernel a copy of
// vmlinuz, and one initrd-v<layout>-<sha256 of the guest tool>.cpio per guest tool that booted it.
//
// The initramfs: busybox (static, from busybox-static), dmsetup with the libraries it links,
// snapsim-guest (kernel/guest/), the modules virtio_pci, virtio_blk, dm-snapshot and
// dm-log-writes with their dependencies, and an /init that loads them, runs the job script on the
// first drive (/dev/vda), prints "SNAPSIM end <status>" and powers off.
#ifndef SNAPSIM_KERNEL_SETUP_H_
#define SNAPSIM_KERNEL_SETUP_H_

#include <ostream>
#include <string>

#include "absl/status/statusor.h"

namespace snapsim::kernel {

struct KernelInstall {
  std::string dir;              // the cache directory
  std::string vmlinuz;          // path of the kernel image
  std::string initrd;           // path of the initramfs (newc cpio)
  std::string modules_dir;      // lib/modules/<release> the initramfs was built from
  std::string release;          // "6.1.0-57-amd64"
  std::string package;          // "linux-image-6.1.0-57-amd64", or "" for --vmlinuz
  std::string package_version;  // "6.1.192-3", or ""
  std::string guest_sha256;     // of the snapsim-guest in the initramfs
};

struct SetupOptions {
  std::string dir;          // "" = KernelCacheDir()
  std::string package;      // "" = the kernel Debian installs today (linux-image-amd64's)
  std::string vmlinuz;      // with modules_dir: a kernel of one's own instead of a package
  std::string modules_dir;  // lib/modules/<release> with modules.dep
  std::ostream* log = nullptr;
};

// $SNAPSIM_KERNEL_DIR, else $HOME/.cache/snapsim/kernel.
std::string KernelCacheDir();

// The snapsim-guest binary this build made (kernel/CMakeLists.txt), or $SNAPSIM_GUEST.
std::string GuestBinaryPath();

// Errors are one line: FailedPrecondition for a missing tool or package, InvalidArgument for bad
// options, Unavailable when apt cannot fetch.
absl::StatusOr<KernelInstall> SetupKernel(const SetupOptions& options);

// The installed kernel in `dir` ("" = KernelCacheDir()). FailedPrecondition "no kernel in DIR:
// run `snapsim kernel setup`" when there is none.
absl::StatusOr<KernelInstall> LoadKernel(const std::string& dir, std::ostream* log = nullptr);

}  // namespace snapsim::kernel

#endif  // SNAPSIM_KERNEL_SETUP_H_
