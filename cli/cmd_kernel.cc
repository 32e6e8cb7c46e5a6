// SPDX-License-Identifier: GPL-2.0-only
//
// snapsim kernel setup|check|replay: the real Linux kernel in the loop (kernel/, docs/kernel.md).
//   setup   fetch a Debian kernel with apt (or take one's own) and build the initramfs, once
//   check   activate an exported crash state on the real target; compare with snapsim
//   replay  run a replay case on the real kernel; check what it returns with snapsim's invariants
// Exit status: 0 same / the kernel holds / set up, 1 different / reproduced, 2 bad input or a
// setup or boot failure.
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include "absl/flags/declare.h"
#include "absl/flags/flag.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "cli/command.h"
#include "kernel/check.h"
#include "kernel/job.h"
#include "kernel/replay.h"
#include "kernel/setup.h"
#include "kernel/vm.h"
#include "util/atomic_file.h"

ABSL_FLAG(std::string, package, "",
          "setup: the Debian kernel package (default: the one linux-image-amd64 depends on)");
ABSL_FLAG(std::string, vmlinuz, "", "setup: a kernel image of one's own (with --modules)");
ABSL_FLAG(std::string, modules, "",
          "setup: its lib/modules/<release> folder, with modules.dep (with --vmlinuz)");
ABSL_FLAG(std::string, crash_state, "auto",
          "replay: where the crash state comes from: log (the kernel's dm-log-writes logs), "
          "snapsim (snapsim's own run of the case), auto (snapsim for a crash inside an area "
          "write, else log)");
ABSL_FLAG(std::string, origin_fate, "keep",
          "replay: what the origin's cache keeps at the crash: keep (every completed write) or "
          "drop (only what a flush made durable)");
ABSL_FLAG(std::string, cow_fate, "drop", "replay: what the COW's cache keeps at the crash");
ABSL_FLAG(std::vector<std::string>, drives, {},
          "script: the sizes of the scratch drives the script gets as $1, $2, ... (4M,64K,...)");
ABSL_FLAG(bool, kvm, false, "boot with KVM instead of TCG (only where KVM works)");
ABSL_FLAG(uint32_t, origin_block_bytes, 512, "check: the origin's logical block size");
ABSL_FLAG(uint32_t, cow_block_bytes, 512, "check: the COW's logical block size");
ABSL_DECLARE_FLAG(std::string, out);

namespace snapsim::cli {
namespace {

namespace fs = std::filesystem;

constexpr char kUsage[] =
    "usage: snapsim kernel setup [--package NAME | --vmlinuz PATH --modules DIR]\n"
    "       snapsim kernel check DIR [--out WORKDIR] [--origin-block-bytes N] "
    "[--cow-block-bytes N]\n"
    "       snapsim kernel replay CASE [--out DIR] [--crash-state auto|log|snapsim]\n"
    "                             [--origin-fate keep|drop] [--cow-fate keep|drop]\n"
    "       snapsim kernel script FILE --drives SIZE,... [--out DIR]\n\n"
    "The real Linux kernel under qemu (docs/kernel.md). The cache is $SNAPSIM_KERNEL_DIR\n"
    "(default ~/.cache/snapsim/kernel); setup fills it with apt-get download and dpkg -x\n"
    "(nothing is installed into the host) and is offline afterwards.\n"
    "check activates an exported crash state (DIR/origin.img, DIR/cow.img) on the real\n"
    "dm-snapshot and compares acceptance, status line and every chunk with snapsim's\n"
    "prediction: exit 0 same, 1 different (says where).\n"
    "replay runs a replay case (scenarios/findings/*.case.json) on the kernel with\n"
    "dm-log-writes under origin and COW, builds the crash state, runs the remaining steps and\n"
    "checks the result with snapsim's invariants: exit 1 \"reproduced on Linux <version>\", 0\n"
    "\"the kernel holds\". The log, the images and the transcript stay in --out.\n"
    "script runs a shell script (busybox sh, dmsetup, dd) in the guest with zeroed scratch\n"
    "drives of the given sizes as its arguments, prints what it printed, and exits 0 when it\n"
    "exits 0, else 1: how docs/upstream/*-repro.sh are run on the cached kernel.\n"
    "Exit 2: bad input, or a setup or boot failure. Boots use TCG unless --kvm.";

int Fail(const std::string& problem) {
  absl::FPrintF(stderr, "snapsim kernel: %s\n", problem);
  return kExitUsage;
}

int Setup(const std::vector<std::string>& args) {
  if (args.size() != 1) return Fail("setup takes no arguments");
  kernel::SetupOptions options;
  options.package = absl::GetFlag(FLAGS_package);
  options.vmlinuz = absl::GetFlag(FLAGS_vmlinuz);
  options.modules_dir = absl::GetFlag(FLAGS_modules);
  options.log = &std::cout;
  absl::StatusOr<kernel::KernelInstall> k = kernel::SetupKernel(options);
  if (!k.ok()) return Fail(std::string(k.status().message()));
  absl::PrintF(
      "kernel %s%s ready in %s\n", k->release,
      k->package.empty() ? "" : absl::StrCat(" (", k->package, " ", k->package_version, ")"),
      k->dir);
  return kExitOk;
}

absl::StatusOr<kernel::KernelInstall> Installed() { return kernel::LoadKernel("", &std::cout); }

int Check(const std::vector<std::string>& args) {
  if (args.size() != 2) return Fail("check takes one export directory");
  kernel::CheckOptions options;
  options.export_dir = args[1];
  options.origin_block_bytes = absl::GetFlag(FLAGS_origin_block_bytes);
  options.cow_block_bytes = absl::GetFlag(FLAGS_cow_block_bytes);
  options.kvm = absl::GetFlag(FLAGS_kvm);
  std::string out = absl::GetFlag(FLAGS_out);
  const bool temporary = out.empty();
  if (temporary) {
    if (!fs::is_directory(options.export_dir))
      return Fail(options.export_dir + " is not a directory");
    std::string pattern = (fs::temp_directory_path() / "snapsim-kernel-check-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) return Fail("cannot make a temporary directory");
    out = pattern;
  }
  options.work_dir = out;
  for (const char* image : {"/origin.img", "/cow.img"}) {
    std::error_code ec;
    if (!fs::is_regular_file(options.export_dir + image, ec)) {
      return Fail(absl::StrCat(options.export_dir, image,
                               " not found (check takes a directory from snapsim export)"));
    }
  }
  if (absl::Status s = kernel::RefuseUsedDirectory(out); !s.ok())
    return Fail(std::string(s.message()));
  absl::StatusOr<kernel::KernelInstall> k = Installed();
  if (!k.ok()) return Fail(std::string(k.status().message()));
  absl::StatusOr<kernel::CheckResult> r = kernel::CheckExport(*k, options);
  if (!r.ok()) return Fail(std::string(r.status().message()));
  absl::PrintF("Linux %s, boot %.1f s: table %s, status '%s', %u snapshot chunks compared\n",
               r->linux_version, r->boot_seconds,
               r->kernel_activation == "ok" ? "accepted" : "rejected", r->kernel_status,
               r->chunks_compared);
  if (r->same) {
    absl::PrintF("same: the kernel reads %s as snapsim predicts\n", options.export_dir);
  } else {
    absl::PrintF("different: the kernel and snapsim disagree on %s\n", options.export_dir);
    for (const std::string& line : r->differences) absl::PrintF("  %s\n", line);
  }
  std::error_code ec;
  if (temporary && r->same) {
    fs::remove_all(out, ec);
  } else {
    absl::PrintF("work directory: %s\n", out);
  }
  return r->same ? kExitOk : kExitFindings;
}

int Replay(const std::vector<std::string>& args) {
  if (args.size() != 2) return Fail("replay takes one case file");
  kernel::ReplayOptions options;
  options.case_path = args[1];
  const std::string source = absl::GetFlag(FLAGS_crash_state);
  if (source == "auto") {
    options.crash_state = kernel::CrashStateSource::kAuto;
  } else if (source == "log") {
    options.crash_state = kernel::CrashStateSource::kLog;
  } else if (source == "snapsim") {
    options.crash_state = kernel::CrashStateSource::kSnapsim;
  } else {
    return Fail("--crash-state must be auto, log or snapsim, not '" + source + "'");
  }
  options.origin_fate = absl::GetFlag(FLAGS_origin_fate);
  options.cow_fate = absl::GetFlag(FLAGS_cow_fate);
  options.kvm = absl::GetFlag(FLAGS_kvm);
  options.out_dir = absl::GetFlag(FLAGS_out);
  if (options.out_dir.empty()) {
    options.out_dir = "kernel-replay-" + fs::path(options.case_path).stem().stem().string();
  }
  std::error_code ec;
  if (!fs::is_regular_file(options.case_path, ec)) return Fail(options.case_path + " not found");
  if (absl::StatusOr<ReplayCase> c = kernel::LoadKernelCase(options.case_path); !c.ok()) {
    return Fail(std::string(c.status().message()));
  }
  if (absl::Status s = kernel::RefuseUsedDirectory(options.out_dir); !s.ok()) {
    return Fail(std::string(s.message()));
  }
  absl::StatusOr<kernel::KernelInstall> k = Installed();
  if (!k.ok()) return Fail(std::string(k.status().message()));
  absl::StatusOr<kernel::ReplayResult> r = kernel::ReplayOnKernel(*k, options);
  if (!r.ok()) return Fail(std::string(r.status().message()));
  absl::PrintF("Linux %s, boot %.1f s; crash state: %s\n", r->linux_version, r->boot_seconds,
               r->crash_state);
  for (const std::string& note : r->notes) absl::PrintF("  %s\n", note);
  if (r->violations.empty()) {
    absl::PrintF("the kernel holds: Linux %s keeps every checked promise on %s%s\n",
                 r->linux_version, options.case_path,
                 r->expected_invariant.empty()
                     ? ""
                     : absl::StrCat(" (snapsim's 3.7.1 store breaks ", r->expected_invariant, ")"));
  } else {
    absl::PrintF("reproduced on Linux %s: %s: %s\n", r->linux_version, r->violations[0].invariant,
                 r->violations[0].message);
    for (size_t i = 1; i < r->violations.size(); ++i) {
      absl::PrintF("  %s: %s\n", r->violations[i].invariant, r->violations[i].message);
    }
    bool expected = false;
    for (const kernel::Violation& v : r->violations)
      expected |= v.invariant == r->expected_invariant;
    if (!r->expected_invariant.empty()) {
      absl::PrintF("  the case expects %s: %s\n", r->expected_invariant,
                   expected ? "found" : "not among these");
    }
  }
  absl::PrintF("output: %s (transcript.txt, logs, images)\n", r->out_dir);
  return r->violations.empty() ? kExitOk : kExitFindings;
}

// "4M", "64K", "1G" or bytes; 0 when it is none of those.
uint64_t ParseDriveSize(const std::string& text) {
  uint64_t scale = 1;
  std::string digits = text;
  if (!digits.empty() && (digits.back() == 'K' || digits.back() == 'M' || digits.back() == 'G')) {
    scale = digits.back() == 'K' ? 1 << 10 : digits.back() == 'M' ? 1 << 20 : 1 << 30;
    digits.pop_back();
  }
  uint64_t value = 0;
  if (digits.empty() || !absl::SimpleAtoi(digits, &value) || value == 0 || value > (64u << 10)) {
    return 0;
  }
  return value * scale;
}

int Script(const std::vector<std::string>& args) {
  if (args.size() != 2) return Fail("script takes one script file");
  absl::StatusOr<std::string> text = ReadWholeFile(args[1]);
  if (!text.ok()) return Fail(args[1] + " cannot be read");
  const std::vector<std::string> sizes = absl::GetFlag(FLAGS_drives);
  if (sizes.empty() || sizes.size() > 8) return Fail("--drives needs 1 to 8 sizes (4M,64K,...)");
  std::string out = absl::GetFlag(FLAGS_out);
  const bool temporary = out.empty();
  if (temporary) {
    std::string pattern = (fs::temp_directory_path() / "snapsim-kernel-script-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) return Fail("cannot make a temporary directory");
    out = pattern;
  } else if (absl::Status s = kernel::PrepareWorkDir(out); !s.ok()) {
    return Fail(std::string(s.message()));
  }
  kernel::BootOptions boot;
  std::string devices;
  for (size_t i = 0; i < sizes.size(); ++i) {
    const uint64_t bytes = ParseDriveSize(sizes[i]);
    if (bytes == 0 || bytes % 4096 != 0) {
      return Fail("drive size '" + sizes[i] + "' is not a multiple of 4K up to 64G");
    }
    const std::string path = absl::StrCat(out, "/drive", i, ".img");
    if (absl::Status s = kernel::CreateZeroImage(path, bytes); !s.ok()) {
      return Fail(std::string(s.message()));
    }
    boot.drives.push_back({path, 512});
    absl::StrAppend(&devices, " /dev/vd", std::string(1, static_cast<char>('b' + i)));
  }
  absl::StatusOr<kernel::KernelInstall> k = Installed();
  if (!k.ok()) return Fail(std::string(k.status().message()));
  // The script's own exit status, then the end line the init prints.
  boot.job_script =
      absl::StrCat("(set --", devices, "\n", *text, "\n)\necho \"SNAPSIM script $?\"\n");
  boot.work_dir = out;
  boot.kvm = absl::GetFlag(FLAGS_kvm);
  absl::StatusOr<kernel::BootResult> r = kernel::Boot(*k, boot);
  if (!r.ok()) return Fail(std::string(r.status().message()));
  for (absl::string_view line : absl::StrSplit(r->transcript, '\n')) {
    if (line.empty() || absl::StartsWith(line, "[") || absl::StartsWith(line, "SNAPSIM ")) {
      continue;
    }
    absl::PrintF("%s\n", absl::StripTrailingAsciiWhitespace(line));
  }
  const std::vector<std::string> status = kernel::GuestLines(r->transcript, "script");
  const bool ok = !status.empty() && status.back() == "0";
  absl::PrintF("Linux %s, boot %.1f s: the script exited %s\n", r->linux_version, r->seconds,
               status.empty() ? "?" : status.back());
  std::error_code ec;
  if (temporary) fs::remove_all(out, ec);
  return ok ? kExitOk : kExitFindings;
}

int KernelMain(const std::vector<std::string>& args) {
  if (args.empty()) return Fail("say setup, check, replay or script (see snapsim kernel --help)");
  if (args[0] == "setup") return Setup(args);
  if (args[0] == "check") return Check(args);
  if (args[0] == "replay") return Replay(args);
  if (args[0] == "script") return Script(args);
  return Fail("unknown subcommand '" + args[0] + "' (setup, check, replay or script)");
}

}  // namespace

SNAPSIM_REGISTER_COMMAND(kernel,
                         Command{
                             "kernel",
                             "the real Linux kernel under qemu: setup, check an export, "
                             "replay a case",
                             kUsage,
                             {"package", "vmlinuz", "modules", "out", "crash_state", "origin_fate",
                              "cow_fate", "kvm", "origin_block_bytes", "cow_block_bytes", "drives"},
                             &KernelMain});

}  // namespace snapsim::cli
