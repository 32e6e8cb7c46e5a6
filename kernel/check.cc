// SPDX-License-Identifier: GPL-2.0-only
#include "kernel/check.h"

#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "core/file_device.h"
#include "core/inspect.h"
#include "kernel/job.h"
#include "kernel/vm.h"

namespace snapsim::kernel {
namespace {

namespace fs = std::filesystem;

constexpr size_t kMaxDifferenceLines = 8;

void Differ(CheckResult& result, const std::string& line) {
  result.same = false;
  if (result.differences.size() < kMaxDifferenceLines) result.differences.push_back(line);
}

// Bytes [offset, offset + size) of `path`, or fewer when the file is shorter.
std::vector<uint8_t> ReadRange(std::ifstream& in, uint64_t offset, size_t size) {
  std::vector<uint8_t> out(size);
  in.clear();
  in.seekg(static_cast<std::streamoff>(offset));
  in.read(reinterpret_cast<char*>(out.data()), static_cast<std::streamsize>(size));
  out.resize(static_cast<size_t>(in.gcount()));
  return out;
}

}  // namespace

absl::Status RefuseUsedDirectory(const std::string& dir) {
  std::error_code ec;
  if (!fs::exists(dir, ec)) return absl::OkStatus();
  if (!fs::is_directory(dir, ec)) return absl::InvalidArgumentError(dir + " is not a directory");
  if (!fs::is_empty(dir, ec)) {
    return absl::InvalidArgumentError(dir + " is not empty; not writing into it");
  }
  return absl::OkStatus();
}

absl::Status PrepareWorkDir(const std::string& dir) {
  if (absl::Status s = RefuseUsedDirectory(dir); !s.ok()) return s;
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return absl::InvalidArgumentError("cannot create " + dir + ": " + ec.message());
  return absl::OkStatus();
}

absl::StatusOr<CheckResult> CheckExport(const KernelInstall& kernel, const CheckOptions& options) {
  const std::string origin_path = options.export_dir + "/origin.img";
  const std::string cow_path = options.export_dir + "/cow.img";
  for (const std::string& path : {origin_path, cow_path}) {
    std::error_code ec;
    if (!fs::is_regular_file(path, ec)) {
      return absl::InvalidArgumentError(
          absl::StrCat(path,
                       " not found (a directory from `snapsim export` has origin.img and "
                       "cow.img)"));
    }
  }
  for (uint32_t bytes : {options.origin_block_bytes, options.cow_block_bytes}) {
    if (bytes != 512 && bytes != 1024 && bytes != 2048 && bytes != 4096) {
      return absl::InvalidArgumentError(absl::StrCat("block size ", bytes, " is not 512..4096"));
    }
  }
  absl::StatusOr<std::unique_ptr<FileDevice>> origin =
      FileDevice::Open(origin_path, FileAccess::kReadOnly);
  if (!origin.ok()) return absl::InvalidArgumentError(origin.status().message());
  absl::StatusOr<std::unique_ptr<FileDevice>> cow =
      FileDevice::Open(cow_path, FileAccess::kReadOnly);
  if (!cow.ok()) return absl::InvalidArgumentError(cow.status().message());
  if (absl::Status s = PrepareWorkDir(options.work_dir); !s.ok()) return s;

  // snapsim's prediction.
  const InspectReport report = InspectCow(**cow, InspectOptions{origin->get(), 0});
  CheckResult result;
  result.predicted_activation = report.loadable ? "ok" : "rejected";
  result.predicted_status = report.status;
  const uint32_t chunk = report.chunk_sectors != 0 ? report.chunk_sectors : 32;
  const uint64_t origin_sectors = (*origin)->size_sectors();

  // The guest works on copies.
  const std::string w = options.work_dir;
  for (const auto& [from, to] :
       {std::pair{origin_path, w + "/origin.img"}, std::pair{cow_path, w + "/cow.img"}}) {
    if (absl::Status s = CopyImage(from, to); !s.ok()) return s;
  }
  for (const char* dump : {"/snapshot.dump", "/origin.dump"}) {
    if (absl::Status s = CreateZeroImage(w + dump, origin_sectors * 512); !s.ok()) return s;
  }
  std::string job = JobPrelude(origin_sectors, chunk);
  absl::StrAppend(&job, R"SH(activate /dev/vdb /dev/vdc check
say "dump snapshot $($G dump /dev/mapper/s /dev/vdd)"
say "dump origin $($G dump /dev/mapper/o /dev/vde)"
teardown
)SH");
  BootOptions boot;
  boot.job_script = job;
  boot.work_dir = w;
  boot.kvm = options.kvm;
  boot.timeout_seconds = options.timeout_seconds;
  boot.drives = {{w + "/origin.img", options.origin_block_bytes},
                 {w + "/cow.img", options.cow_block_bytes},
                 {w + "/snapshot.dump", 512},
                 {w + "/origin.dump", 512}};
  absl::StatusOr<BootResult> booted = Boot(kernel, boot);
  if (!booted.ok()) return booted.status();
  result.linux_version = booted->linux_version;
  result.boot_seconds = booted->seconds;
  result.transcript_path = booted->transcript_path;

  const PhaseReport phase = ReadPhase(booted->transcript, "check");
  result.kernel_activation = phase.activation;
  result.kernel_status = phase.activation == "ok" ? phase.status : "";
  if (phase.activation != result.predicted_activation) {
    Differ(result,
           absl::StrCat("table: the kernel ", phase.activation == "ok" ? "accepted" : "rejected",
                        " the snapshot, snapsim predicts it ",
                        report.loadable ? "accepts it" : "rejects it"));
    return result;
  }
  if (!report.loadable) return result;
  if (phase.status != report.status) {
    Differ(result, absl::StrCat("status: the kernel says '", phase.status, "', snapsim predicts '",
                                report.status, "'"));
  }
  bool snapshot_read_ok = false;
  bool origin_read_ok = false;
  for (const std::string& line : GuestLines(booted->transcript, "dump")) {
    if (absl::StartsWith(line, "snapshot ok")) snapshot_read_ok = true;
    if (absl::StartsWith(line, "origin ok")) origin_read_ok = true;
  }
  const bool invalid = !report.is_new && report.header.valid == 0;
  if (invalid) {
    if (snapshot_read_ok) Differ(result, "the snapshot is invalid but the kernel read it");
  } else if (!snapshot_read_ok) {
    Differ(result, "the kernel failed to read the snapshot (see the transcript)");
  } else {
    const SnapshotTable table = SnapshotTableOf(report);
    const chunk_t chunks = SnapshotChunkCount(**origin, report.chunk_sectors);
    std::ifstream dump(w + "/snapshot.dump", std::ios::binary);
    std::vector<uint8_t> predicted;
    uint64_t differing = 0;
    for (chunk_t c = 0; c < chunks; ++c) {
      if (ReadSnapshotChunk(**origin, **cow, report.chunk_sectors, table, c, predicted) != 0) {
        return absl::InvalidArgumentError(absl::StrCat("cannot read chunk ", c, " of the images"));
      }
      const std::vector<uint8_t> got =
          ReadRange(dump, uint64_t{c} * report.chunk_sectors * 512, predicted.size());
      ++result.chunks_compared;
      if (got == predicted) continue;
      if (++differing <= 5) {
        const auto mapped = table.find(c);
        Differ(result,
               absl::StrCat("snapshot chunk ", c, " (",
                            mapped == table.end() ? std::string("no exception: the origin's chunk")
                                                  : absl::StrCat("COW chunk ", mapped->second),
                            "): the kernel returns other data"));
      }
    }
    if (differing > 5) Differ(result, absl::StrCat(differing - 5, " more snapshot chunks differ"));
  }
  // The origin through the origin target is the origin image itself.
  if (!origin_read_ok) {
    Differ(result, "the kernel failed to read the origin (see the transcript)");
  } else {
    std::ifstream a(origin_path, std::ios::binary);
    std::ifstream b(w + "/origin.dump", std::ios::binary);
    const std::vector<uint8_t> x = ReadRange(a, 0, origin_sectors * 512);
    const std::vector<uint8_t> y = ReadRange(b, 0, origin_sectors * 512);
    if (x != y) Differ(result, "the origin read through the origin target is not origin.img");
  }
  return result;
}

}  // namespace snapsim::kernel
