// SPDX-License-Identifier: GPL-2.0-only
#include "kernel/job.h"

#include <cstring>
#include <filesystem>
#include <fstream>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "kernel/guest/stamp.h"
#include "kernel/vm.h"

namespace snapsim::kernel {
namespace {

namespace fs = std::filesystem;

std::string DescribeTag(const std::string& tag) {
  if (tag == "initial") return "the initial data";
  if (absl::StartsWith(tag, "o")) return "the origin write of step " + tag.substr(1);
  if (absl::StartsWith(tag, "s")) return "the snapshot write of step " + tag.substr(1);
  return "'" + tag + "'";
}

absl::Status Refuse(const std::string& path) {
  return absl::AlreadyExistsError(path + " already exists; not overwriting it");
}

}  // namespace

std::string JobPrelude(uint64_t origin_sectors, uint32_t chunk_sectors) {
  return absl::StrCat("G=snapsim-guest\nOSZ=", origin_sectors, "\nCHUNK=", chunk_sectors, R"SH(
say() { echo "SNAPSIM $*"; }
status() { say "status $1 $(dmsetup status s 2>&1 | tr '\n' ' ')"; }
make_snapshot() {
  if dmsetup create s --table "0 $OSZ snapshot $OD $CD P $CHUNK"; then
    say "activated $1 ok"
  else
    say "activated $1 rejected"
  fi
}
activate() {
  OD=$1; CD=$2
  dmsetup create o --table "0 $OSZ snapshot-origin $OD" || say "error origin $3"
  dmsetup suspend o
  make_snapshot $3
  dmsetup resume o
  status $3
}
reload() {
  dmsetup suspend o
  dmsetup remove s
  make_snapshot $1
  dmsetup resume o
  status $1
}
teardown() { dmsetup remove s; dmsetup remove o; }
)SH");
}

PhaseReport ReadPhase(const std::string& transcript, const std::string& phase) {
  PhaseReport report;
  for (const std::string& line : GuestLines(transcript, "activated")) {
    if (absl::StartsWith(line, phase + " ")) report.activation = line.substr(phase.size() + 1);
  }
  for (const std::string& line : GuestLines(transcript, "status")) {
    if (!absl::StartsWith(line, phase + " ")) continue;
    std::string status = line.substr(phase.size() + 1);
    // "0 2048 snapshot 16/1024 8" -> "16/1024 8"
    std::vector<std::string> words = absl::StrSplit(status, ' ', absl::SkipEmpty());
    if (words.size() >= 3 && words[2] == "snapshot") {
      status.clear();
      for (size_t i = 3; i < words.size(); ++i)
        absl::StrAppend(&status, i > 3 ? " " : "", words[i]);
    }
    report.status = status;
  }
  return report;
}

absl::Status CreateZeroImage(const std::string& path, uint64_t bytes) {
  std::error_code ec;
  if (fs::exists(path, ec)) return Refuse(path);
  std::ofstream out(path, std::ios::binary);
  out.close();
  fs::resize_file(path, bytes, ec);
  if (!out || ec) return absl::InternalError("cannot create " + path);
  return absl::OkStatus();
}

absl::Status CreateStampedImage(const std::string& path, uint64_t sectors) {
  std::error_code ec;
  if (fs::exists(path, ec)) return Refuse(path);
  std::ofstream out(path, std::ios::binary);
  uint8_t sector[kStampSectorBytes];
  for (uint64_t s = 0; s < sectors; ++s) {
    FillStamp("initial", s, sector);
    out.write(reinterpret_cast<const char*>(sector), sizeof sector);
  }
  out.close();
  if (!out) return absl::InternalError("cannot write " + path);
  return absl::OkStatus();
}

absl::Status CopyImage(const std::string& from, const std::string& to) {
  std::error_code ec;
  if (fs::exists(to, ec)) return Refuse(to);
  fs::copy_file(from, to, ec);
  if (ec) return absl::InternalError("cannot copy " + from + ": " + ec.message());
  return absl::OkStatus();
}

std::optional<SectorStamp> ReadStamp(const uint8_t* bytes) {
  static constexpr char kPrefix[] = "snapsim-kernel ";
  if (std::memcmp(bytes, kPrefix, sizeof kPrefix - 1) != 0) return std::nullopt;
  const char* text = reinterpret_cast<const char*>(bytes);
  const void* newline = std::memchr(text, '\n', 160);
  if (newline == nullptr) return std::nullopt;
  const std::string line(text + sizeof kPrefix - 1, static_cast<const char*>(newline));
  const size_t at = line.rfind(" sector=");
  if (at == std::string::npos) return std::nullopt;
  SectorStamp stamp;
  stamp.tag = line.substr(0, at);
  if (!absl::SimpleAtoi(line.substr(at + 8), &stamp.sector)) return std::nullopt;
  uint8_t expect[kStampSectorBytes];
  FillStamp(stamp.tag, stamp.sector, expect);
  if (std::memcmp(expect, bytes, kStampSectorBytes) != 0) return std::nullopt;  // torn or mixed
  return stamp;
}

DumpVerdict CheckDump(const std::string& dump_path, uint64_t sectors, uint32_t chunk_sectors,
                      const std::string& own, bool initial_known, size_t max_lines) {
  DumpVerdict verdict;
  std::ifstream in(dump_path, std::ios::binary);
  uint8_t bytes[kStampSectorBytes];
  uint64_t last_bad_chunk = UINT64_MAX;
  for (uint64_t s = 0; s < sectors; ++s) {
    if (!in.read(reinterpret_cast<char*>(bytes), sizeof bytes)) {
      verdict.lines.push_back(absl::StrCat("the dump ends at sector ", s));
      ++verdict.wrong_sectors;
      break;
    }
    const std::optional<SectorStamp> stamp = ReadStamp(bytes);
    std::string problem;
    if (!stamp) {
      if (initial_known) problem = "data no write put there";
    } else if (stamp->sector != s) {
      problem = absl::StrCat(DescribeTag(stamp->tag), " for sector ", stamp->sector);
    } else if (stamp->tag == "initial") {
      // the origin's content when the snapshot was made: right for both devices
    } else if (!absl::StartsWith(stamp->tag, own)) {
      problem = DescribeTag(stamp->tag);
    }
    if (problem.empty()) continue;
    ++verdict.wrong_sectors;
    const uint64_t chunk = s / chunk_sectors;
    if (chunk == last_bad_chunk) continue;
    last_bad_chunk = chunk;
    ++verdict.wrong_chunks;
    if (verdict.lines.size() < max_lines) {
      verdict.lines.push_back(absl::StrCat("chunk ", chunk, " sector ", s, " holds ", problem));
    }
  }
  if (verdict.wrong_chunks > verdict.lines.size()) {
    verdict.lines.push_back(
        absl::StrCat("... ", verdict.wrong_chunks - verdict.lines.size(), " more chunks"));
  }
  return verdict;
}

}  // namespace snapsim::kernel
