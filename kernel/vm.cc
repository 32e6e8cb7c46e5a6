// SPDX-License-Identifier: GPL-2.0-only
#include "kernel/vm.h"

#include <algorithm>
#include <filesystem>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "kernel/process.h"
#include "util/atomic_file.h"

namespace snapsim::kernel {
namespace {

namespace fs = std::filesystem;

// The job drive: the script padded with NULs to a whole 64 KiB (the guest strips them).
constexpr size_t kJobDriveBytes = 64 * 1024;

std::string VersionOf(const std::string& transcript) {
  for (const std::string& line : GuestLines(transcript, "kernel")) {
    // "Linux version 6.1.0-57-amd64 (debian-kernel@...) ... Debian 6.1.192-3 (2026-11-26)"
    std::vector<std::string> words = absl::StrSplit(line, ' ', absl::SkipEmpty());
    std::string release = words.size() > 2 ? words[2] : line;
    for (size_t i = 0; i + 1 < words.size(); ++i) {
      if (words[i] == "Debian") return absl::StrCat(release, " (Debian ", words[i + 1], ")");
    }
    return release;
  }
  return "";
}

}  // namespace

std::vector<std::string> GuestLines(const std::string& transcript, const std::string& key) {
  std::vector<std::string> out;
  const std::string prefix = absl::StrCat("SNAPSIM ", key, " ");
  const std::string bare = absl::StrCat("SNAPSIM ", key);
  for (absl::string_view line : absl::StrSplit(transcript, '\n')) {
    line = absl::StripTrailingAsciiWhitespace(line);
    if (absl::ConsumePrefix(&line, prefix)) {
      out.emplace_back(line);
    } else if (line == bare) {
      out.emplace_back();
    }
  }
  return out;
}

absl::StatusOr<BootResult> Boot(const KernelInstall& kernel, const BootOptions& options) {
  const std::string qemu = FindProgram("qemu-system-x86_64");
  if (qemu.empty()) {
    return absl::FailedPreconditionError(
        "qemu-system-x86_64 not found: apt-get install qemu-system-x86");
  }
  if (options.job_script.size() >= kJobDriveBytes) {
    return absl::InvalidArgumentError("the job script is longer than 64 KiB");
  }
  std::string job = options.job_script;
  job.resize(kJobDriveBytes, '\0');
  const std::string job_path = options.work_dir + "/job.img";
  if (absl::Status s = WriteFileAtomically(job_path, job); !s.ok()) return s;
  BootResult result;
  result.transcript_path = options.work_dir + "/transcript.txt";
  std::vector<std::string> argv = {qemu,
                                   "-nodefaults",
                                   "-no-reboot",
                                   "-display",
                                   "none",
                                   "-m",
                                   "512",
                                   "-smp",
                                   "1",
                                   "-monitor",
                                   "none",
                                   "-serial",
                                   "file:" + result.transcript_path,
                                   "-kernel",
                                   kernel.vmlinuz,
                                   "-initrd",
                                   kernel.initrd,
                                   "-append",
                                   "console=ttyS0 panic=-1 loglevel=5 quiet"};
  if (options.kvm) {
    argv.insert(argv.end(), {"-accel", "kvm", "-cpu", "host"});
  } else {
    argv.insert(argv.end(), {"-accel", "tcg"});
  }
  std::vector<Drive> drives = {{job_path, 512}};
  drives.insert(drives.end(), options.drives.begin(), options.drives.end());
  for (size_t i = 0; i < drives.size(); ++i) {
    const std::string id = absl::StrCat("d", i);
    argv.push_back("-drive");
    argv.push_back(
        absl::StrCat("file=", drives[i].path, ",format=raw,if=none,cache=writeback,id=", id));
    argv.push_back("-device");
    argv.push_back(absl::StrCat("virtio-blk-pci,drive=", id,
                                ",logical_block_size=", drives[i].block_bytes,
                                ",physical_block_size=", drives[i].block_bytes));
  }
  ProcessOptions process = ToFile(options.work_dir + "/qemu.log", options.timeout_seconds);
  // The guest printed its end and powers off; should qemu linger, it is ended after a grace.
  const std::string transcript_path = result.transcript_path;
  process.finished = [transcript_path] {
    return absl::StrContains(ReadWholeFile(transcript_path).value_or(""), "SNAPSIM end ");
  };
  const ProcessResult run = RunProcess(argv, process);
  result.seconds = run.seconds;
  result.transcript = ReadWholeFile(result.transcript_path).value_or("");
  result.finished = !GuestLines(result.transcript, "end").empty();
  result.linux_version = VersionOf(result.transcript);
  if (!run.started) {
    return absl::FailedPreconditionError("cannot start " + qemu);
  }
  if (!result.finished) {
    std::string last;
    for (absl::string_view line : absl::StrSplit(result.transcript, '\n', absl::SkipEmpty())) {
      last = std::string(absl::StripAsciiWhitespace(line));
    }
    std::string qemu_log = ReadWholeFile(options.work_dir + "/qemu.log").value_or("");
    std::replace(qemu_log.begin(), qemu_log.end(), '\n', ' ');
    return absl::FailedPreconditionError(
        absl::StrCat("the guest did not finish its job (",
                     run.timed_out ? "timed out" : absl::StrCat("qemu exit ", run.exit_code),
                     "; last console line: '", last, "'",
                     qemu_log.empty() ? "" : "; qemu: " + qemu_log.substr(0, 300), "); see ",
                     result.transcript_path));
  }
  return result;
}

}  // namespace snapsim::kernel
