// SPDX-License-Identifier: GPL-2.0-only
#include "kernel/replay.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <memory>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "core/file_device.h"
#include "core/inspect.h"
#include "kernel/check.h"
#include "kernel/guest/log_writes.h"
#include "kernel/guest/stamp.h"
#include "kernel/job.h"
#include "kernel/vm.h"
#include "sim/check/invariants.h"
#include "sim/run/replay_case.h"
#include "sim/run/run.h"

namespace snapsim::kernel {
namespace {

namespace fs = std::filesystem;
using namespace invariant;  // NOLINT: the invariant names

bool InjectsErrors(const DeviceFaults& d) {
  return !d.read_eio.never() || !d.write_eio.never() || d.eio_range_count != 0 ||
         d.eio_at_nth_io != 0 || !d.latent_read_error.never();
}

// The case's steps [from, to) as guest commands.
std::string StepCommands(const std::vector<Step>& steps, size_t from, size_t to) {
  std::string out;
  for (size_t i = from; i < to; ++i) {
    const Step& s = steps[i];
    absl::StrAppend(&out, "say \"step ", i, " ", StepKindName(s.kind), "\"\n");
    switch (s.kind) {
      case StepKind::kOriginWrite:
        absl::StrAppend(&out, "$G write /dev/mapper/o ", s.sector, " ", s.count, " o", i, "\n");
        break;
      case StepKind::kSnapshotWrite:
        absl::StrAppend(&out, "$G write /dev/mapper/s ", s.sector, " ", s.count, " s", i, "\n");
        break;
      case StepKind::kOriginRead:
        absl::StrAppend(&out, "$G read /dev/mapper/o ", s.sector, " ", s.count, "\n");
        break;
      case StepKind::kSnapshotRead:
        absl::StrAppend(&out, "$G read /dev/mapper/s ", s.sector, " ", s.count, "\n");
        break;
      case StepKind::kOriginFlush:
        absl::StrAppend(&out, "$G flush /dev/mapper/o\n");
        break;
      case StepKind::kSnapshotFlush:
        absl::StrAppend(&out, "$G flush /dev/mapper/s\n");
        break;
      case StepKind::kDrain:  // every step is synchronous: nothing is in flight
        break;
      case StepKind::kReload:
        absl::StrAppend(&out, "reload r", i, "\n");
        break;
      case StepKind::kStartMerge:
      case StepKind::kMergeInterrupt:
      case StepKind::kCrash:
      case StepKind::kMakeSnapshot:
      case StepKind::kRemoveSnapshot:
        break;  // refused (merges, several snapshots) or handled by the caller (crashes)
    }
  }
  return out;
}

// How the last write of the COW header (sector 0) went into the log: its valid field, its flags,
// and whether it survives the crash.
std::string HeaderWriteNote(const std::vector<LogEntry>& entries, const std::vector<size_t>& kept,
                            const LogReader& read) {
  for (size_t i = entries.size(); i-- > 0;) {
    if (!entries[i].is_write() || entries[i].sector != 0) continue;
    uint8_t header[16] = {};
    if (!read(entries[i].data_offset, header, sizeof header)) return "";
    const uint32_t valid = header[4] | header[5] << 8 | header[6] << 16 | uint32_t{header[7]} << 24;
    const uint64_t flags = entries[i].flags & (kLogFlush | kLogFua);
    const bool survives = std::find(kept.begin(), kept.end(), i) != kept.end();
    return absl::StrCat("the COW log's last header write (valid=", valid, ") is ",
                        flags == 0               ? "a plain write (no FLUSH, no FUA)"
                        : (flags & kLogFua) != 0 ? "a FUA write"
                                                 : "a FLUSH write",
                        survives ? "; it survives the crash" : "; it is lost at the crash");
  }
  return "";
}

// Applies the log's writes that survive a crash at its "crash" mark to `image`. `note`, if
// given, receives HeaderWriteNote.
absl::Status ApplyLog(const std::string& log_path, const std::string& image, LogFate fate,
                      size_t* applied, std::string* note = nullptr) {
  std::ifstream log(log_path, std::ios::binary);
  auto read = [&log](uint64_t offset, void* out, size_t bytes) {
    log.clear();
    log.seekg(static_cast<std::streamoff>(offset));
    log.read(static_cast<char*>(out), static_cast<std::streamsize>(bytes));
    return static_cast<size_t>(log.gcount()) == bytes;
  };
  std::vector<LogEntry> entries;
  if (std::string problem = ParseLog(read, &entries); !problem.empty()) {
    return absl::FailedPreconditionError(log_path + ": " + problem);
  }
  const std::vector<size_t> writes = SurvivingWrites(entries, FindMark(entries, "crash"), fate);
  std::fstream out(image, std::ios::binary | std::ios::in | std::ios::out);
  std::vector<char> buffer;
  for (size_t index : writes) {
    buffer.resize(entries[index].nr_sectors * 512);
    if (!read(entries[index].data_offset, buffer.data(), buffer.size())) {
      return absl::FailedPreconditionError(log_path + ": a write's data is cut off");
    }
    out.seekp(static_cast<std::streamoff>(entries[index].sector * 512));
    out.write(buffer.data(), static_cast<std::streamsize>(buffer.size()));
  }
  if (!out) return absl::InternalError("cannot write " + image);
  *applied = writes.size();
  if (note != nullptr) *note = HeaderWriteNote(entries, writes, read);
  return absl::OkStatus();
}

absl::StatusOr<LogFate> ParseFate(const std::string& name) {
  if (name == "keep") return LogFate::kKeep;
  if (name == "drop") return LogFate::kDrop;
  return absl::InvalidArgumentError("fate '" + name + "' is not keep or drop");
}

void Violate(ReplayResult& result, std::string_view invariant, const std::string& message) {
  result.violations.push_back({std::string(invariant), message});
}

}  // namespace

absl::StatusOr<ReplayCase> LoadKernelCase(const std::string& path) {
  absl::StatusOr<ReplayCase> loaded = LoadReplayCase(path);
  if (!loaded.ok()) return absl::InvalidArgumentError(loaded.status().message());
  if (loaded->scenario.SnapshotCount() > 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        path, ": scenario ", loaded->scenario.name, " has ", loaded->scenario.SnapshotCount(),
        " snapshots: several snapshots of one origin are not replayed on the kernel yet"));
  }
  for (size_t i = 0; i < loaded->steps.size(); ++i) {
    const StepKind kind = loaded->steps[i].kind;
    if (kind == StepKind::kStartMerge || kind == StepKind::kMergeInterrupt) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ": step ", i, " is ", StepKindName(kind),
                       ": merges are not replayed on the kernel yet"));
    }
  }
  const FaultProfile faults = EffectiveFaults(loaded->scenario, loaded->seed);
  if (InjectsErrors(faults.origin) || InjectsErrors(faults.cow) ||
      !faults.store_chunk_io_fail.never() || !faults.store_alloc_fail.never()) {
    return absl::InvalidArgumentError(
        absl::StrCat(path,
                     ": the case injects I/O or allocation errors, which the kernel replay "
                     "does not (only write caches and a power cut)"));
  }
  return loaded;
}

absl::StatusOr<ReplayResult> ReplayOnKernel(const KernelInstall& kernel,
                                            const ReplayOptions& options) {
  absl::StatusOr<ReplayCase> loaded = LoadKernelCase(options.case_path);
  if (!loaded.ok()) return loaded.status();
  const ReplayCase& rc = *loaded;
  absl::StatusOr<LogFate> origin_fate = ParseFate(options.origin_fate);
  if (!origin_fate.ok()) return origin_fate.status();
  absl::StatusOr<LogFate> cow_fate = ParseFate(options.cow_fate);
  if (!cow_fate.ok()) return cow_fate.status();

  ReplayResult result;
  result.expected_invariant = rc.expected_invariant;
  result.out_dir = options.out_dir;
  size_t crash = rc.steps.size();
  size_t end = rc.steps.size();
  for (size_t i = 0; i < rc.steps.size(); ++i) {
    if (rc.steps[i].kind != StepKind::kCrash) continue;
    if (crash == rc.steps.size()) {
      crash = i;
    } else if (end == rc.steps.size()) {
      end = i;
      result.notes.push_back(
          absl::StrCat("steps from ", i, " on (after a second crash) are not replayed"));
    }
  }
  const bool has_crash = crash < rc.steps.size();
  CrashStateSource source = options.crash_state;
  if (source == CrashStateSource::kAuto) {
    source = has_crash && rc.steps[crash].trigger == CrashTrigger::kAreaWriteSubmitted
                 ? CrashStateSource::kSnapsim
                 : CrashStateSource::kLog;
  }
  const bool from_log = source == CrashStateSource::kLog;
  const Geometry& g = rc.scenario.geometry;
  if (from_log && g.cow_initial != CowInitial::kZero) {
    return absl::InvalidArgumentError(
        options.case_path + ": a COW that starts with leftover data needs --crash-state snapsim");
  }
  const uint32_t chunk = EffectiveChunkSectors(g);
  if (absl::Status s = PrepareWorkDir(options.out_dir); !s.ok()) return s;
  const std::string w = options.out_dir;
  result.crash_state = !has_crash ? "none (the case has no crash step)"
                       : from_log
                           ? absl::StrCat("from the kernel's dm-log-writes logs (origin ",
                                          options.origin_fate, ", COW ", options.cow_fate, ")")
                           : "snapsim's crash state of the case (snapsim export)";

  std::string job = JobPrelude(g.origin_sectors, chunk);
  std::vector<Drive> drives;
  std::string snapshot_dump;
  std::string origin_dump;
  std::string final_cow;
  if (from_log) {
    if (absl::Status s = CreateStampedImage(w + "/origin.img", g.origin_sectors); !s.ok()) return s;
    if (absl::Status s = CreateZeroImage(w + "/cow.img", g.cow_sectors * 512); !s.ok()) return s;
    uint64_t written = 0;
    for (const Step& s : rc.steps) written += s.count;
    const uint64_t log_bytes =
        (uint64_t{256} << 20) + written * 512 * 8 + rc.steps.size() * uint64_t{chunk} * 512 * 16;
    for (const char* log : {"/origin.log", "/cow.log"}) {
      if (absl::Status s = CreateZeroImage(w + log, log_bytes); !s.ok()) return s;
    }
    if (absl::Status s = CopyImage(w + "/origin.img", w + "/after-crash-origin.img"); !s.ok())
      return s;
    if (absl::Status s = CopyImage(w + "/cow.img", w + "/after-crash-cow.img"); !s.ok()) return s;
    drives = {{w + "/origin.img", g.origin_block_bytes},
              {w + "/cow.img", g.cow_block_bytes},
              {w + "/origin.log", g.origin_block_bytes},
              {w + "/cow.log", g.cow_block_bytes},
              {w + "/after-crash-origin.img", g.origin_block_bytes},
              {w + "/after-crash-cow.img", g.cow_block_bytes}};
    absl::StrAppend(&job, "dmsetup create olog --table \"0 ", g.origin_sectors,
                    " log-writes /dev/vdb /dev/vdd\"\n", "dmsetup create clog --table \"0 ",
                    g.cow_sectors, " log-writes /dev/vdc /dev/vde\"\n",
                    "activate /dev/mapper/olog /dev/mapper/clog start\n");
    absl::StrAppend(&job, StepCommands(rc.steps, 0, crash));
    if (has_crash) {
      absl::StrAppend(&job, "say \"step ", crash, " crash\"\nstatus precrash\n",
                      "dmsetup message olog 0 mark crash\ndmsetup message clog 0 mark crash\n",
                      "teardown\ndmsetup remove olog\ndmsetup remove clog\n",
                      "say \"replay origin $($G replay-log /dev/vdd /dev/vdf crash ",
                      options.origin_fate, ")\"\n",
                      "say \"replay cow $($G replay-log /dev/vde /dev/vdg crash ", options.cow_fate,
                      ")\"\n", "activate /dev/vdf /dev/vdg crash\n");
      absl::StrAppend(&job, StepCommands(rc.steps, crash + 1, end));
      final_cow = w + "/after-crash-cow.img";
    } else {
      final_cow = w + "/cow.img";
    }
    snapshot_dump = "/dev/vdh";
    origin_dump = "/dev/vdi";
  } else {
    // snapsim's crash state: its own run of the case exports the durable images at the crash.
    const std::string exported = w + "/snapsim-crash";
    RunOptions run_options;
    run_options.export_dir = exported;
    const RunResult run = RunSteps(rc.scenario, rc.seed, rc.steps, run_options);
    if (absl::StartsWith(run.outcome, "error")) {
      return absl::InvalidArgumentError(options.case_path + ": " + run.outcome);
    }
    if (absl::Status s = CopyImage(exported + "/origin.img", w + "/after-crash-origin.img");
        !s.ok()) {
      return absl::InvalidArgumentError("snapsim's run of the case exported no crash state");
    }
    if (absl::Status s = CopyImage(exported + "/cow.img", w + "/after-crash-cow.img"); !s.ok())
      return s;
    drives = {{w + "/after-crash-origin.img", g.origin_block_bytes},
              {w + "/after-crash-cow.img", g.cow_block_bytes}};
    absl::StrAppend(&job, "activate /dev/vdb /dev/vdc crash\n");
    absl::StrAppend(&job, StepCommands(rc.steps, crash + 1, end));
    final_cow = w + "/after-crash-cow.img";
    snapshot_dump = "/dev/vdd";
    origin_dump = "/dev/vde";
  }
  for (const char* dump : {"/snapshot.dump", "/origin.dump"}) {
    if (absl::Status s = CreateZeroImage(w + dump, g.origin_sectors * 512); !s.ok()) return s;
    drives.push_back({w + dump, 512});
  }
  absl::StrAppend(&job, "reload final\n", "say \"dump snapshot $($G dump /dev/mapper/s ",
                  snapshot_dump, ")\"\n", "say \"dump origin $($G dump /dev/mapper/o ", origin_dump,
                  ")\"\n", "teardown\n",
                  from_log && !has_crash ? "dmsetup remove olog\ndmsetup remove clog\n" : "");

  BootOptions boot;
  boot.job_script = job;
  boot.work_dir = w;
  boot.drives = drives;
  boot.kvm = options.kvm;
  boot.timeout_seconds = options.timeout_seconds;
  absl::StatusOr<BootResult> booted = Boot(kernel, boot);
  if (!booted.ok()) return booted.status();
  result.linux_version = booted->linux_version;
  result.boot_seconds = booted->seconds;
  const std::string& transcript = booted->transcript;

  // The crash images again, on the host, for the output directory.
  if (from_log && has_crash) {
    size_t applied = 0;
    if (absl::Status s = CreateStampedImage(w + "/crash-origin.img", g.origin_sectors); !s.ok())
      return s;
    if (absl::Status s = CreateZeroImage(w + "/crash-cow.img", g.cow_sectors * 512); !s.ok())
      return s;
    if (absl::Status s =
            ApplyLog(w + "/origin.log", w + "/crash-origin.img", *origin_fate, &applied);
        !s.ok()) {
      return s;
    }
    result.notes.push_back(
        absl::StrCat("origin crash image: ", applied, " writes of its log survive"));
    std::string header_note;
    if (absl::Status s =
            ApplyLog(w + "/cow.log", w + "/crash-cow.img", *cow_fate, &applied, &header_note);
        !s.ok()) {
      return s;
    }
    result.notes.push_back(
        absl::StrCat("COW crash image: ", applied, " writes of its log survive"));
    if (!header_note.empty()) result.notes.push_back(header_note);
  }

  // The invariants.
  const PhaseReport precrash = ReadPhase(transcript, "precrash");
  const PhaseReport after = ReadPhase(transcript, has_crash ? "crash" : "start");
  const PhaseReport final_phase = ReadPhase(transcript, "final");
  if (has_crash && from_log) {
    result.notes.push_back(absl::StrCat("status before the crash: ", precrash.status));
  }
  if (has_crash) result.notes.push_back(absl::StrCat("status after the crash: ", after.status));
  result.notes.push_back(absl::StrCat("status after the final reload: ", final_phase.status));
  if (after.activation != "ok") {
    Violate(result, kActivationSucceeds, "the snapshot does not activate after the crash");
  } else if (final_phase.activation != "ok") {
    Violate(result, kActivationSucceeds,
            "the snapshot does not activate again after its final reload");
  }
  absl::StatusOr<std::unique_ptr<FileDevice>> cow_file =
      FileDevice::Open(final_cow, FileAccess::kReadOnly);
  if (!cow_file.ok()) return cow_file.status();
  const InspectReport report = InspectCow(**cow_file);
  int listed = 0;
  for (const Damage& d : report.damage) {
    if (++listed > 4) continue;
    // A leaked chunk is a warning to inspect (the kernel never reuses it): space, not data.
    Violate(result,
            d.kind == DamageKind::kUnreferencedChunk ? kCowSpaceAccounted : kTableWellFormed,
            absl::StrCat("the final COW: ", DamageKindName(d.kind), ": ", d.message));
  }
  bool snapshot_read_ok = false;
  bool origin_read_ok = false;
  for (const std::string& line : GuestLines(transcript, "dump")) {
    if (absl::StartsWith(line, "snapshot ok")) snapshot_read_ok = true;
    if (absl::StartsWith(line, "origin ok")) origin_read_ok = true;
  }
  // valid_flag_sticky as snapsim's checker has it: an invalidated snapshot that comes back valid
  // and then reads wrong data. Valid again with right data is noted, not a violation.
  const bool back_valid = has_crash && from_log && precrash.status == "Invalid" &&
                          after.activation == "ok" && after.status != "Invalid";
  if (final_phase.activation == "ok" && final_phase.status != "Invalid") {
    if (!snapshot_read_ok) {
      Violate(result, back_valid ? kValidFlagSticky : kSnapshotImage,
              "a valid snapshot failed to read (see the transcript)");
    } else {
      const DumpVerdict v = CheckDump(w + "/snapshot.dump", g.origin_sectors, chunk, "s", from_log);
      if (back_valid && !v.lines.empty()) {
        Violate(result, kValidFlagSticky,
                absl::StrCat("the kernel reported the snapshot Invalid before the crash; after "
                             "it, it activates valid (status ",
                             after.status, ") and reads wrong data in ", v.wrong_chunks,
                             v.wrong_chunks == 1 ? " chunk" : " chunks"));
      } else if (back_valid) {
        result.notes.push_back("invalid before the crash, valid after it, with right data");
      }
      for (const std::string& line : v.lines) {
        Violate(result, kSnapshotImage, "the snapshot's " + line);
      }
    }
  }
  if (!origin_read_ok) {
    Violate(result, kOriginImage, "the origin failed to read (see the transcript)");
  } else {
    const DumpVerdict v = CheckDump(w + "/origin.dump", g.origin_sectors, chunk, "o", from_log);
    for (const std::string& line : v.lines) Violate(result, kOriginImage, "the origin's " + line);
  }
  return result;
}

}  // namespace snapsim::kernel
