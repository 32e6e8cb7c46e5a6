// SPDX-License-Identifier: GPL-2.0-only
#include "kernel/setup.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "core/sha256.h"
#include "kernel/process.h"
#include "nlohmann/json.hpp"
#include "util/atomic_file.h"

namespace snapsim::kernel {
namespace {

namespace fs = std::filesystem;

// The modules the guest needs; their dependencies come from modules.dep.
constexpr const char* kGuestModules[] = {"virtio_pci", "virtio_blk", "dm-snapshot",
                                         "dm-log-writes"};

constexpr char kInit[] = R"SH(#!/bin/busybox sh
# snapsim kernel guest: load the modules, run the job script on /dev/vda, power off.
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
while read -r m; do insmod "/$m" || echo "SNAPSIM insmod-failed $m"; done < /modules.order
export DM_DISABLE_UDEV=1 PATH=/bin:/sbin
mkdir -p /dev/mapper
i=0
while [ ! -b /dev/vda ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i+1)); done
echo "SNAPSIM kernel $(cat /proc/version)"
tr -d '\000' < /dev/vda > /job.sh
sh /job.sh 2>&1
echo "SNAPSIM end $?"
sync
poweroff -f
)SH";

void Log(std::ostream* log, const std::string& line) {
  if (log != nullptr) *log << line << "\n" << std::flush;
}

absl::Status Fail(const std::string& what, const ProcessResult& r) {
  std::string tail = r.output.size() > 400 ? r.output.substr(r.output.size() - 400) : r.output;
  std::replace(tail.begin(), tail.end(), '\n', ' ');
  return absl::FailedPreconditionError(absl::StrCat(
      what, r.timed_out ? " timed out" : absl::StrCat(" failed (exit ", r.exit_code, ")"),
      tail.empty() ? "" : ": ", tail));
}

absl::StatusOr<std::string> FileSha256(const std::string& path) {
  absl::StatusOr<std::string> bytes = ReadWholeFile(path);
  if (!bytes.ok()) return bytes.status();
  return Sha256Hex(
      absl::Span<const uint8_t>(reinterpret_cast<const uint8_t*>(bytes->data()), bytes->size()));
}

// modules.dep: "kernel/drivers/md/dm-snapshot.ko: kernel/drivers/md/dm-bufio.ko ...".
absl::StatusOr<std::vector<std::string>> ModuleLoadOrder(const std::string& modules_dir) {
  absl::StatusOr<std::string> dep = ReadWholeFile(modules_dir + "/modules.dep");
  if (!dep.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat(modules_dir, " has no modules.dep (run depmod for it)"));
  }
  std::map<std::string, std::vector<std::string>> deps;  // path -> dependencies
  std::map<std::string, std::string> by_name;            // "dm-snapshot" -> path
  for (absl::string_view line : absl::StrSplit(*dep, '\n', absl::SkipEmpty())) {
    const size_t colon = line.find(':');
    if (colon == absl::string_view::npos) continue;
    const std::string path(line.substr(0, colon));
    std::vector<std::string> list = absl::StrSplit(line.substr(colon + 1), ' ', absl::SkipEmpty());
    deps[path] = list;
    std::string name = fs::path(path).filename().string();
    for (const char* ext : {".ko.xz", ".ko.zst", ".ko.gz", ".ko"}) {
      if (absl::EndsWith(name, ext)) {
        name.resize(name.size() - std::string(ext).size());
        break;
      }
    }
    by_name[name] = path;
    std::replace(name.begin(), name.end(), '-', '_');
    by_name[name] = path;
  }
  std::vector<std::string> order;
  std::set<std::string> seen;
  // Dependencies first; modules.dep lists the deepest last.
  auto visit = [&](auto&& self, const std::string& path) -> void {
    if (!seen.insert(path).second) return;
    const std::vector<std::string>& list = deps[path];
    for (auto it = list.rbegin(); it != list.rend(); ++it) self(self, *it);
    order.push_back(path);
  };
  for (const char* module : kGuestModules) {
    auto it = by_name.find(module);
    if (it == by_name.end()) {
      // Built into the kernel: nothing to load.
      if (absl::StrContains(ReadWholeFile(modules_dir + "/modules.builtin").value_or(""),
                            absl::StrCat("/", module, ".ko"))) {
        continue;
      }
      return absl::FailedPreconditionError(
          absl::StrCat(modules_dir, " has no module ", module, " (and it is not built in)"));
    }
    visit(visit, it->second);
  }
  for (const std::string& path : order) {
    if (!absl::EndsWith(path, ".ko")) {
      return absl::FailedPreconditionError(
          absl::StrCat("compressed module ", path, ": busybox insmod needs plain .ko files"));
    }
  }
  return order;
}

absl::Status CopyFile(const std::string& from, const std::string& to) {
  std::error_code ec;
  fs::create_directories(fs::path(to).parent_path(), ec);
  fs::copy_file(from, to, fs::copy_options::overwrite_existing, ec);
  if (ec) return absl::FailedPreconditionError(absl::StrCat("copy ", from, ": ", ec.message()));
  return absl::OkStatus();
}

// The initramfs for a guest tool: one per tool version, so that builds with different tools
// (a sanitized and a plain build, two worktrees) share the cache without rebuilding each other's.
// kInitramfsLayout names the layout (the /init script, folders, modules): bump it when they change.
constexpr int kInitramfsLayout = 2;
std::string InitrdPath(const std::string& dir, const std::string& guest_sha256) {
  return absl::StrCat(dir, "/initrd-v", kInitramfsLayout, "-", guest_sha256.substr(0, 12), ".cpio");
}

// Builds InitrdPath() from the modules, busybox, dmsetup and the guest tool. Safe to run in two
// processes at once: each stages in its own folder and renames its result into place.
absl::Status BuildInitramfs(KernelInstall& install, std::ostream* log) {
  const std::string busybox = FindProgram("busybox");
  if (busybox.empty()) {
    return absl::FailedPreconditionError("busybox not found: apt-get install busybox-static");
  }
  const std::string dmsetup = FindProgram("dmsetup");
  if (dmsetup.empty()) {
    return absl::FailedPreconditionError("dmsetup not found: apt-get install dmsetup");
  }
  const std::string guest = GuestBinaryPath();
  if (guest.empty() || !fs::exists(guest)) {
    return absl::FailedPreconditionError(
        absl::StrCat("the guest tool snapsim-guest is missing (", guest, "): build snapsim"));
  }
  absl::StatusOr<std::vector<std::string>> modules = ModuleLoadOrder(install.modules_dir);
  if (!modules.ok()) return modules.status();

  absl::StatusOr<std::string> sha = FileSha256(guest);
  if (!sha.ok()) return sha.status();
  const std::string own = absl::StrCat(".", getpid());
  const std::string staging = install.dir + "/initramfs" + own;
  std::error_code ec;
  fs::remove_all(staging, ec);
  for (const char* d : {"bin", "sbin", "proc", "sys", "dev", "tmp"}) {
    fs::create_directories(staging + "/" + d, ec);
  }
  // busybox-static is statically linked; a dynamic busybox would need its libraries too.
  if (absl::Status s = CopyFile(busybox, staging + "/bin/busybox"); !s.ok()) return s;
  if (absl::Status s = CopyFile(guest, staging + "/bin/snapsim-guest"); !s.ok()) return s;
  if (absl::Status s = CopyFile(dmsetup, staging + "/sbin/dmsetup"); !s.ok()) return s;
  const ProcessResult ldd = RunProcess({"ldd", dmsetup});
  if (!ldd.started || ldd.exit_code != 0) return Fail("ldd " + dmsetup, ldd);
  for (absl::string_view line : absl::StrSplit(ldd.output, '\n', absl::SkipEmpty())) {
    // "libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x...)" or "/lib64/ld-linux-x86-64.so.2 (...)"
    for (absl::string_view word : absl::StrSplit(line, absl::ByAnyChar(" \t"), absl::SkipEmpty())) {
      if (!absl::StartsWith(word, "/")) continue;
      const std::string lib(word);
      const std::string real = fs::canonical(lib, ec).string();
      if (ec) return absl::FailedPreconditionError("dmsetup library " + lib + " not found");
      if (absl::Status s = CopyFile(real, staging + lib); !s.ok()) return s;
    }
  }
  std::string order;
  for (const std::string& path : *modules) {
    const std::string relative = "lib/modules/" + install.release + "/" + path;
    if (absl::Status s = CopyFile(install.modules_dir + "/" + path, staging + "/" + relative);
        !s.ok()) {
      return s;
    }
    absl::StrAppend(&order, relative, "\n");
  }
  if (absl::Status s = WriteFileAtomically(staging + "/modules.order", order); !s.ok()) return s;
  if (absl::Status s = WriteFileAtomically(staging + "/init", kInit); !s.ok()) return s;
  fs::permissions(staging + "/init", fs::perms::owner_all | fs::perms::group_read |
                                         fs::perms::group_exec | fs::perms::others_read |
                                         fs::perms::others_exec);
  // The file list, then cpio (newc) from busybox.
  const ProcessResult list = RunProcess({busybox, "find", "."}, InDirectory(staging));
  if (!list.started || list.exit_code != 0) return Fail("busybox find", list);
  const std::string list_path = install.dir + "/initramfs.list" + own;
  if (absl::Status s = WriteFileAtomically(list_path, list.output); !s.ok()) return s;
  const std::string tmp = install.dir + "/initrd.cpio.tmp" + own;
  const ProcessResult cpio = RunProcess(
      {"/bin/sh", "-c", "exec \"$0\" cpio -o -H newc < \"$1\" > \"$2\"", busybox, list_path, tmp},
      InDirectory(staging));
  if (!cpio.started || cpio.exit_code != 0) return Fail("busybox cpio", cpio);
  install.initrd = InitrdPath(install.dir, *sha);
  fs::rename(tmp, install.initrd, ec);
  if (ec) return absl::FailedPreconditionError("cannot write the initramfs: " + ec.message());
  fs::remove_all(staging, ec);
  fs::remove(list_path, ec);
  install.guest_sha256 = *sha;
  Log(log, absl::StrCat("initramfs: ", install.initrd, " (", fs::file_size(install.initrd) >> 10,
                        " KiB, ", modules->size(), " modules)"));
  return absl::OkStatus();
}

absl::Status SaveInstall(const KernelInstall& k) {
  nlohmann::json j = {
      {"vmlinuz", k.vmlinuz}, {"modules_dir", k.modules_dir},         {"release", k.release},
      {"package", k.package}, {"package_version", k.package_version},
  };
  return WriteFileAtomically(k.dir + "/kernel.json", j.dump(2) + "\n");
}

// The release of a modules folder: its name (lib/modules/<release>).
std::string ReleaseOf(const std::string& modules_dir) {
  return fs::path(modules_dir).lexically_normal().filename().string().empty()
             ? fs::path(modules_dir).lexically_normal().parent_path().filename().string()
             : fs::path(modules_dir).lexically_normal().filename().string();
}

absl::StatusOr<std::string> DefaultPackage() {
  const ProcessResult r = RunProcess({"apt-cache", "depends", "linux-image-amd64"});
  if (!r.started || r.exit_code != 0) return Fail("apt-cache depends linux-image-amd64", r);
  for (absl::string_view line : absl::StrSplit(r.output, '\n')) {
    line = absl::StripAsciiWhitespace(line);
    if (absl::ConsumePrefix(&line, "Depends: linux-image-")) {
      return absl::StrCat("linux-image-", line);
    }
  }
  return absl::FailedPreconditionError(
      "apt-cache knows no kernel for linux-image-amd64: pass --package NAME");
}

}  // namespace

std::string KernelCacheDir() {
  if (const char* dir = std::getenv("SNAPSIM_KERNEL_DIR"); dir != nullptr && *dir != '\0') {
    return dir;
  }
  const char* home = std::getenv("HOME");
  return absl::StrCat(home == nullptr ? "/root" : home, "/.cache/snapsim/kernel");
}

std::string GuestBinaryPath() {
  if (const char* path = std::getenv("SNAPSIM_GUEST"); path != nullptr && *path != '\0') {
    return path;
  }
#ifdef SNAPSIM_GUEST_BINARY
  return SNAPSIM_GUEST_BINARY;
#else
  return "";
#endif
}

absl::StatusOr<KernelInstall> SetupKernel(const SetupOptions& options) {
  KernelInstall install;
  install.dir = options.dir.empty() ? KernelCacheDir() : options.dir;
  std::error_code ec;
  fs::create_directories(install.dir, ec);
  if (ec)
    return absl::FailedPreconditionError("cannot create " + install.dir + ": " + ec.message());
  install.dir = fs::canonical(install.dir).string();
  if (!options.vmlinuz.empty() || !options.modules_dir.empty()) {
    if (options.vmlinuz.empty() || options.modules_dir.empty()) {
      return absl::InvalidArgumentError("--vmlinuz and --modules go together");
    }
    if (!options.package.empty()) {
      return absl::InvalidArgumentError("--package or --vmlinuz/--modules, not both");
    }
    if (!fs::is_regular_file(options.vmlinuz, ec)) {
      return absl::InvalidArgumentError(options.vmlinuz + " is not a file");
    }
    if (!fs::is_directory(options.modules_dir, ec)) {
      return absl::InvalidArgumentError(options.modules_dir + " is not a directory");
    }
    install.modules_dir = fs::canonical(options.modules_dir).string();
    install.release = ReleaseOf(install.modules_dir);
    install.vmlinuz = install.dir + "/vmlinuz";
    if (absl::Status s = CopyFile(options.vmlinuz, install.vmlinuz); !s.ok()) return s;
  } else {
    std::string package = options.package;
    if (package.empty()) {
      absl::StatusOr<std::string> p = DefaultPackage();
      if (!p.ok()) return p.status();
      package = *p;
    }
    if (package.find_first_of("/ \t") != std::string::npos || absl::StartsWith(package, "-")) {
      return absl::InvalidArgumentError("bad package name '" + package + "'");
    }
    install.package = package;
    const std::string download = install.dir + "/download";
    fs::remove_all(download, ec);
    fs::create_directories(download, ec);
    Log(options.log, "fetching " + package + " with apt-get download");
    const ProcessResult get =
        RunProcess({"apt-get", "download", package}, InDirectory(download, 900));
    if (!get.started || get.exit_code != 0) {
      return absl::UnavailableError(Fail("apt-get download " + package, get).message());
    }
    std::string deb;
    for (const auto& entry : fs::directory_iterator(download)) {
      if (absl::EndsWith(entry.path().string(), ".deb")) deb = entry.path().string();
    }
    if (deb.empty()) return absl::UnavailableError("apt-get download left no .deb");
    // Version: linux-image-6.1.0-57-amd64_6.1.192-3_amd64.deb
    std::vector<std::string> parts = absl::StrSplit(fs::path(deb).filename().string(), '_');
    if (parts.size() >= 2) install.package_version = parts[1];
    const std::string root = install.dir + "/root";
    fs::remove_all(root, ec);
    Log(options.log,
        "unpacking " + fs::path(deb).filename().string() + " (dpkg -x, not installed)");
    const ProcessResult x = RunProcess({"dpkg", "-x", deb, root}, InDirectory("", 900));
    if (!x.started || x.exit_code != 0) return Fail("dpkg -x", x);
    for (const auto& entry : fs::directory_iterator(root + "/boot")) {
      if (absl::StartsWith(entry.path().filename().string(), "vmlinuz-")) {
        install.vmlinuz = entry.path().string();
      }
    }
    for (const auto& entry : fs::directory_iterator(root + "/lib/modules")) {
      install.modules_dir = entry.path().string();
    }
    if (install.vmlinuz.empty() || install.modules_dir.empty()) {
      return absl::FailedPreconditionError(package + " has no /boot/vmlinuz-* or /lib/modules/*");
    }
    install.release = ReleaseOf(install.modules_dir);
    // The package ships no modules.dep (its postinst runs depmod): busybox depmod on the tree.
    const ProcessResult depmod =
        RunProcess({FindProgram("busybox"), "depmod", "-b", root, install.release});
    if (!depmod.started || depmod.exit_code != 0) return Fail("busybox depmod", depmod);
  }
  // The initramfs files of an earlier kernel hold its modules: gone with it.
  for (const auto& entry : fs::directory_iterator(install.dir)) {
    const std::string name = entry.path().filename().string();
    if (absl::StartsWith(name, "initrd")) fs::remove(entry.path(), ec);
  }
  if (absl::Status s = BuildInitramfs(install, options.log); !s.ok()) return s;
  if (absl::Status s = SaveInstall(install); !s.ok()) return s;
  return install;
}

absl::StatusOr<KernelInstall> LoadKernel(const std::string& dir_arg, std::ostream* log) {
  const std::string dir = dir_arg.empty() ? KernelCacheDir() : dir_arg;
  absl::StatusOr<std::string> text = ReadWholeFile(dir + "/kernel.json");
  if (!text.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat("no kernel in ", dir, ": run `snapsim kernel setup`"));
  }
  KernelInstall k;
  k.dir = dir;
  try {
    const nlohmann::json j = nlohmann::json::parse(*text);
    k.vmlinuz = j.at("vmlinuz");
    k.modules_dir = j.at("modules_dir");
    k.release = j.at("release");
    k.package = j.at("package");
    k.package_version = j.at("package_version");
  } catch (const nlohmann::json::exception& e) {
    return absl::FailedPreconditionError(
        absl::StrCat(dir, "/kernel.json is damaged (", e.what(), "): run `snapsim kernel setup`"));
  }
  std::error_code ec;
  if (!fs::exists(k.vmlinuz, ec) || !fs::exists(k.modules_dir, ec)) {
    return absl::FailedPreconditionError(
        absl::StrCat("the kernel cache in ", dir, " is incomplete: run `snapsim kernel setup`"));
  }
  // The initramfs of this guest tool, built (offline) the first time it is used.
  absl::StatusOr<std::string> sha = FileSha256(GuestBinaryPath());
  if (!sha.ok()) {
    return absl::FailedPreconditionError("the guest tool snapsim-guest is missing (" +
                                         GuestBinaryPath() + "): build snapsim");
  }
  k.guest_sha256 = *sha;
  k.initrd = InitrdPath(dir, *sha);
  if (!fs::exists(k.initrd, ec)) {
    Log(log, "building the initramfs for this snapsim-guest");
    if (absl::Status s = BuildInitramfs(k, log); !s.ok()) return s;
  }
  return k;
}

}  // namespace snapsim::kernel
