// SPDX-License-Identifier: GPL-2.0-only
//
// `snapsim kernel replay CASE`: a replay case (a minimized finding) on the real kernel.
//
// One boot does it all (docs/kernel.md):
//  1. Before the crash (crash state "log"): the origin and the COW are write-back drives with
//     dm-log-writes between them and the snapshot stack; the origin starts with every sector
//     stamped "initial", the COW zeroed. The case's steps up to its first crash step run one at a
//     time (each write is a synchronous O_DIRECT write of stamped sectors: "o<step>" through the
//     origin, "s<step>" through the snapshot), then a mark "crash" goes into both logs and the
//     stack is torn down.
//  2. The crash state: the guest applies each log up to the mark to fresh copies of the initial
//     images under each device's fate (kernel/guest/log_writes.h): by default the COW keeps only
//     what is durable (FUA writes and writes before its last FLUSH) and the origin keeps every
//     write it completed: the two caches are independent, and this is the state in which an
//     origin moved on that the COW never heard of. With crash state "snapsim", the crash state is
//     instead the one snapsim's run of the case reaches (`snapsim export`): used for crash points
//     inside an in-flight area write (trigger area_write_submitted), which a run of whole steps
//     on the kernel cannot stop in; its content is the simulator's, not stamped.
//  3. After the crash: the snapshot is activated on the crash images (a new device-mapper stack on
//     other drives: nothing of the first stack is left), the case's remaining steps run, and a
//     final reload reads everything back.
// The host then checks what the kernel returned with snapsim's invariants:
//  - activation_succeeds: the snapshot activates after the crash;
//  - valid_flag_sticky: a snapshot the kernel reported Invalid before the crash does not come
//    back valid with wrong data (valid with right data is only noted);
//  - table_well_formed: `snapsim inspect` (core/inspect.h) finds no error in the final COW;
//  - snapshot_image / origin_image: every sector read back is data that belongs there
//    (job.h CheckDump).
// Findings print "reproduced on Linux <version>: ..." (exit 1), else "the kernel holds".
#ifndef SNAPSIM_KERNEL_REPLAY_H_
#define SNAPSIM_KERNEL_REPLAY_H_

#include <ostream>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "kernel/setup.h"
#include "sim/run/replay_case.h"

namespace snapsim::kernel {

enum class CrashStateSource { kAuto, kLog, kSnapsim };

struct ReplayOptions {
  std::string case_path;
  std::string out_dir;  // must be new or empty
  CrashStateSource crash_state = CrashStateSource::kAuto;
  std::string origin_fate = "keep";  // "keep" or "drop" (log_writes.h)
  std::string cow_fate = "drop";
  bool kvm = false;
  int timeout_seconds = 1200;
  std::ostream* log = nullptr;
};

struct Violation {
  std::string invariant;
  std::string message;
};

struct ReplayResult {
  std::string linux_version;
  std::string crash_state;  // "log (origin keep, cow drop)", "snapsim", "none (no crash step)"
  std::string expected_invariant;
  std::vector<Violation> violations;
  std::vector<std::string> notes;
  double boot_seconds = 0;
  std::string out_dir;
};

// The case at `path`, if the kernel replay can run it: InvalidArgument (one line) for a case that
// does not load, merges (not replayed yet), or injected I/O or allocation errors (the kernel
// replay has write caches and a power cut only).
absl::StatusOr<ReplayCase> LoadKernelCase(const std::string& path);

// InvalidArgument for a bad case or options (unsupported steps among them), FailedPrecondition
// for a boot that failed.
absl::StatusOr<ReplayResult> ReplayOnKernel(const KernelInstall& kernel,
                                            const ReplayOptions& options);

}  // namespace snapsim::kernel

#endif  // SNAPSIM_KERNEL_REPLAY_H_
