// SPDX-License-Identifier: GPL-2.0-only
//
// snapsim inspect: check and dump a COW device (an image file or a real block device), opened
// read-only. Exit 0 when clean (warnings allowed), 1 when damage of severity error is found,
// 2 when the input is unusable (cannot be opened, header unreadable, bad usage).
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/str_format.h"
#include "cli/command.h"
#include "core/file_device.h"
#include "core/format.h"
#include "core/inspect.h"
#include "nlohmann/json.hpp"

ABSL_FLAG(bool, json, false, "print one JSON object instead of text");
ABSL_FLAG(std::string, origin, "",
          "origin image: checks old_chunk against its size; needed by --chunk-sha256");
ABSL_FLAG(bool, chunk_sha256, false,
          "print '<chunk> <sha256>' for every chunk of the snapshot image (origin + COW)");

namespace snapsim::cli {
namespace {

// How many table entries the text form shows; --json always has them all.
constexpr size_t kTextEntries = 16;

constexpr char kUsage[] =
    "usage: snapsim inspect COW_IMAGE [--json] [--origin ORIGIN_IMAGE [--chunk-sha256]]\n\n"
    "Decodes the COW device of a dm-snapshot persistent store (an image file or a block device\n"
    "such as /dev/vg/snap-cow, opened read-only) and checks it: header, exception table in\n"
    "on-disk order, the status line the kernel would print, and damage.\n"
    "Exit status: 0 clean (warnings allowed), 1 damage found, 2 unusable input or bad usage.";

int Fail(const std::string& problem) {
  absl::FPrintF(stderr, "snapsim inspect: %s\n", problem);
  return kExitUsage;
}

nlohmann::json LocationJson(const DamageLocation& where) {
  nlohmann::json j = nlohmann::json::object();
  if (where.chunk) j["chunk"] = *where.chunk;
  if (where.area) j["area"] = *where.area;
  if (where.slot) j["slot"] = *where.slot;
  return j;
}

nlohmann::json ReportJson(const std::string& path, const InspectReport& report) {
  nlohmann::json exceptions = nlohmann::json::array();
  for (const DiskException& e : report.exceptions) {
    exceptions.push_back(nlohmann::json::array({e.old_chunk, e.new_chunk}));
  }
  nlohmann::json damage = nlohmann::json::array();
  for (const Damage& d : report.damage) {
    damage.push_back({{"kind", DamageKindName(d.kind)},
                      {"where", LocationJson(d.where)},
                      {"severity", SeverityName(d.severity)},
                      {"message", d.message}});
  }
  return {{"device", path},
          {"cow_sectors", report.cow_sectors},
          {"magic", report.header.magic},
          {"valid", report.header.valid},
          {"version", report.header.version},
          {"chunk_size", report.header.chunk_size},
          {"new", report.is_new},
          {"loadable", report.loadable},
          {"chunk_sectors_in_use", report.chunk_sectors},
          {"exceptions_per_area", report.exceptions_per_area},
          {"exceptions", std::move(exceptions)},
          {"loaded", report.table_loaded},
          {"next_free", report.next_free},
          {"current_area", report.current_area},
          {"current_committed", report.current_committed},
          {"status", report.status.empty() ? nlohmann::json() : nlohmann::json(report.status)},
          {"damage", std::move(damage)}};
}

void PrintText(const std::string& path, const InspectReport& report) {
  const DiskHeader& h = report.header;
  absl::PrintF("device              %s (%d sectors)\n", path, report.cow_sectors);
  absl::PrintF("magic               0x%08x%s\n", h.magic,
               h.magic == kSnapMagic ? " (SnAp)" : (report.is_new ? " (new, never used)" : ""));
  absl::PrintF("valid               %d\n", h.valid);
  absl::PrintF("version             %d\n", h.version);
  absl::PrintF(
      "chunk_size          %d sectors%s\n", h.chunk_size,
      report.is_new ? absl::StrFormat(" (a new snapshot would use %d)", report.chunk_sectors) : "");
  if (report.exceptions_per_area != 0) {
    absl::PrintF("exceptions_per_area %d\n", report.exceptions_per_area);
  }
  if (!report.is_new && report.loadable && (h.valid != 0 || !report.table_loaded)) {
    absl::PrintF("exceptions          %d in %d area(s)%s\n", report.exceptions.size(),
                 report.current_area + 1,
                 report.table_loaded ? "" : " on disk, not loaded by the kernel (invalid)");
    absl::PrintF("next_free           %d\n", report.next_free);
    absl::PrintF("current_area        %d (terminator at slot %d)\n", report.current_area,
                 report.current_committed);
    const size_t shown = std::min(report.exceptions.size(), kTextEntries);
    for (size_t i = 0; i < shown; ++i) {
      absl::PrintF("  old_chunk %d -> new_chunk %d\n", report.exceptions[i].old_chunk,
                   report.exceptions[i].new_chunk);
    }
    if (shown < report.exceptions.size()) {
      absl::PrintF("  ... %d more (--json lists them all)\n", report.exceptions.size() - shown);
    }
  }
  absl::PrintF("status              %s\n",
               report.status.empty() ? "(activation would fail)" : report.status);
  if (report.damage.empty()) {
    absl::PrintF("damage              none\n");
    return;
  }
  absl::PrintF("damage              %d finding(s)\n", report.damage.size());
  for (const Damage& d : report.damage) {
    absl::PrintF("  %-7s %-26s %s\n", SeverityName(d.severity), DamageKindName(d.kind), d.message);
  }
}

int RunInspect(const std::vector<std::string>& args) {
  if (args.size() != 1) return Fail("expected one COW_IMAGE (see snapsim inspect --help)");
  const std::string& path = args[0];
  const std::string origin_path = absl::GetFlag(FLAGS_origin);
  const bool chunk_sha256 = absl::GetFlag(FLAGS_chunk_sha256);
  if (chunk_sha256 && origin_path.empty()) return Fail("--chunk-sha256 needs --origin");

  auto cow = FileDevice::Open(path, FileAccess::kReadOnly);
  if (!cow.ok()) return Fail(std::string(cow.status().message()));
  std::unique_ptr<FileDevice> origin;
  if (!origin_path.empty()) {
    auto opened = FileDevice::Open(origin_path, FileAccess::kReadOnly);
    if (!opened.ok()) return Fail(std::string(opened.status().message()));
    origin = *std::move(opened);
  }

  const InspectReport report =
      InspectCow(**cow, {.origin = origin.get(), .decode_invalid_table = true});
  for (const Damage& d : report.damage) {
    if (d.kind == DamageKind::kHeaderUnreadable) return Fail(d.message);
  }
  std::vector<std::string> hashes;
  if (chunk_sha256) {
    auto computed = SnapshotChunkSha256(*origin, **cow, report);
    if (!computed.ok()) {
      return Fail(absl::StrCat("cannot compute the snapshot image: ", computed.status().message()));
    }
    hashes = *std::move(computed);
  }

  if (absl::GetFlag(FLAGS_json)) {
    nlohmann::json j = ReportJson(path, report);
    if (origin) j["origin"] = origin_path;
    if (chunk_sha256) j["snapshot_chunk_sha256"] = hashes;
    absl::PrintF("%s\n", j.dump());
  } else if (chunk_sha256) {
    for (size_t chunk = 0; chunk < hashes.size(); ++chunk) {
      absl::PrintF("%d %s\n", chunk, hashes[chunk]);
    }
  } else {
    PrintText(path, report);
  }
  return report.has_errors() ? kExitFindings : kExitOk;
}

}  // namespace

SNAPSIM_REGISTER_COMMAND(inspect, Command{
                                      .name = "inspect",
                                      .summary = "check and dump a COW device (read-only)",
                                      .usage = kUsage,
                                      .flags = {"json", "origin", "chunk_sha256"},
                                      .run = RunInspect,
                                  });

}  // namespace snapsim::cli
