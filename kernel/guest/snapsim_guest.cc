// SPDX-License-Identifier: GPL-2.0-only
//
// snapsim-guest: the exact-sector I/O tool inside the qemu guest of `snapsim kernel`. Built
// static and put into the initramfs by `snapsim kernel setup`. busybox dd writes whole pages
// through O_DIRECT; this tool writes exactly the sectors it is asked for.
//
//   snapsim-guest write DEV SECTOR COUNT TAG   O_DIRECT write of COUNT stamped sectors
//   snapsim-guest read DEV SECTOR COUNT        O_DIRECT read; prints a 64-bit FNV-1a of the data
//   snapsim-guest flush DEV                    an empty FLUSH (fsync of the block device)
//   snapsim-guest dump SRC DST                 copies all of SRC to the start of DST, O_DIRECT
//   snapsim-guest replay-log LOG DEV MARK FATE applies the writes of the dm-log-writes log LOG
//                                              that survive a crash at its mark MARK under FATE
//                                              (drop|keep, log_writes.h) to DEV
//
// Prints one line per command, "ok ..." or "error <command>: <errno text>", and exits 0 or 1.
#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "kernel/guest/log_writes.h"
#include "kernel/guest/stamp.h"

namespace {

constexpr size_t kAlign = 4096;
constexpr size_t kDumpBytes = 1 << 20;

int Error(const char* what) {
  std::printf("error %s: %s\n", what, std::strerror(errno));
  return 1;
}

uint8_t* AlignedBuffer(size_t bytes) {
  const size_t rounded = (bytes + kAlign - 1) / kAlign * kAlign;
  return static_cast<uint8_t*>(std::aligned_alloc(kAlign, rounded == 0 ? kAlign : rounded));
}

bool FullPwrite(int fd, const uint8_t* data, size_t bytes, off_t at) {
  while (bytes > 0) {
    const ssize_t n = pwrite(fd, data, bytes, at);
    if (n <= 0) return false;
    data += n;
    bytes -= static_cast<size_t>(n);
    at += n;
  }
  return true;
}

bool FullPread(int fd, uint8_t* data, size_t bytes, off_t at) {
  while (bytes > 0) {
    const ssize_t n = pread(fd, data, bytes, at);
    if (n <= 0) return false;
    data += n;
    bytes -= static_cast<size_t>(n);
    at += n;
  }
  return true;
}

int Write(const char* dev, uint64_t sector, uint64_t count, const std::string& tag) {
  const size_t bytes = count * snapsim::kernel::kStampSectorBytes;
  uint8_t* buffer = AlignedBuffer(bytes);
  for (uint64_t i = 0; i < count; ++i) {
    snapsim::kernel::FillStamp(tag, sector + i, buffer + i * snapsim::kernel::kStampSectorBytes);
  }
  const int fd = open(dev, O_WRONLY | O_DIRECT);
  if (fd < 0) return Error("write open");
  if (!FullPwrite(fd, buffer, bytes, static_cast<off_t>(sector * 512))) return Error("write");
  close(fd);
  std::printf("ok write %s %llu %llu\n", dev, static_cast<unsigned long long>(sector),
              static_cast<unsigned long long>(count));
  return 0;
}

int Read(const char* dev, uint64_t sector, uint64_t count) {
  const size_t bytes = count * 512;
  uint8_t* buffer = AlignedBuffer(bytes);
  const int fd = open(dev, O_RDONLY | O_DIRECT);
  if (fd < 0) return Error("read open");
  if (!FullPread(fd, buffer, bytes, static_cast<off_t>(sector * 512))) return Error("read");
  close(fd);
  uint64_t h = 1469598103934665603ull;
  for (size_t i = 0; i < bytes; ++i) h = (h ^ buffer[i]) * 1099511628211ull;
  std::printf("ok read %s %llu %llu fnv=%016llx\n", dev, static_cast<unsigned long long>(sector),
              static_cast<unsigned long long>(count), static_cast<unsigned long long>(h));
  return 0;
}

int Flush(const char* dev) {
  const int fd = open(dev, O_WRONLY);
  if (fd < 0) return Error("flush open");
  if (fsync(fd) != 0) return Error("flush");
  close(fd);
  std::printf("ok flush %s\n", dev);
  return 0;
}

int Dump(const char* src, const char* dst) {
  const int in = open(src, O_RDONLY | O_DIRECT);
  if (in < 0) return Error("dump open source");
  const int out = open(dst, O_WRONLY | O_DIRECT);
  if (out < 0) return Error("dump open destination");
  uint64_t size = 0;
  if (ioctl(in, BLKGETSIZE64, &size) != 0) return Error("dump size");
  uint8_t* buffer = AlignedBuffer(kDumpBytes);
  for (uint64_t at = 0; at < size; at += kDumpBytes) {
    const size_t bytes = static_cast<size_t>(std::min<uint64_t>(kDumpBytes, size - at));
    if (!FullPread(in, buffer, bytes, static_cast<off_t>(at))) return Error("dump read");
    if (!FullPwrite(out, buffer, bytes, static_cast<off_t>(at))) return Error("dump write");
  }
  if (fsync(out) != 0) return Error("dump flush");
  close(in);
  close(out);
  std::printf("ok dump %s %llu\n", src, static_cast<unsigned long long>(size));
  return 0;
}

int ReplayLog(const char* log, const char* dev, const std::string& mark, const std::string& fate) {
  using snapsim::kernel::LogEntry;
  if (fate != "drop" && fate != "keep") {
    std::printf("error replay-log: unknown fate %s\n", fate.c_str());
    return 2;
  }
  const int in = open(log, O_RDONLY);
  if (in < 0) return Error("replay-log open log");
  const int out = open(dev, O_WRONLY);
  if (out < 0) return Error("replay-log open device");
  std::vector<LogEntry> entries;
  const std::string problem = snapsim::kernel::ParseLog(
      [in](uint64_t offset, void* data, size_t bytes) {
        return FullPread(in, static_cast<uint8_t*>(data), bytes, static_cast<off_t>(offset));
      },
      &entries);
  if (!problem.empty()) {
    std::printf("error replay-log: %s\n", problem.c_str());
    return 1;
  }
  const size_t cut = snapsim::kernel::FindMark(entries, mark);
  const std::vector<size_t> writes = snapsim::kernel::SurvivingWrites(
      entries, cut,
      fate == "keep" ? snapsim::kernel::LogFate::kKeep : snapsim::kernel::LogFate::kDrop);
  std::vector<uint8_t> buffer;
  for (size_t index : writes) {
    const LogEntry& entry = entries[index];
    buffer.resize(entry.nr_sectors * 512);
    if (!FullPread(in, buffer.data(), buffer.size(), static_cast<off_t>(entry.data_offset)) ||
        !FullPwrite(out, buffer.data(), buffer.size(), static_cast<off_t>(entry.sector * 512))) {
      return Error("replay-log copy");
    }
  }
  if (fsync(out) != 0) return Error("replay-log flush");
  close(in);
  close(out);
  std::printf("ok replay-log %s entries=%zu cut=%zu applied=%zu\n", log, entries.size(), cut,
              writes.size());
  return 0;
}

int Usage() {
  std::printf("error usage: snapsim-guest write|read|flush|dump ...\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) return Usage();
  const std::string command = argv[1];
  if (command == "write" && argc == 6) {
    return Write(argv[2], std::strtoull(argv[3], nullptr, 10), std::strtoull(argv[4], nullptr, 10),
                 argv[5]);
  }
  if (command == "read" && argc == 5) {
    return Read(argv[2], std::strtoull(argv[3], nullptr, 10), std::strtoull(argv[4], nullptr, 10));
  }
  if (command == "flush" && argc == 3) return Flush(argv[2]);
  if (command == "dump" && argc == 4) return Dump(argv[2], argv[3]);
  if (command == "replay-log" && argc == 6) return ReplayLog(argv[2], argv[3], argv[4], argv[5]);
  return Usage();
}
