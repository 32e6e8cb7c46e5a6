// SPDX-License-Identifier: GPL-2.0-only
#include "reports/timeline.h"

#include <algorithm>
#include <map>
#include <utility>

#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"
#include "reports/svg.h"
#include "sim/world/trace.h"
#include "util/atomic_file.h"

namespace snapsim {
namespace {

constexpr uint64_t kWidth = 900;
constexpr uint64_t kLaneLabel = 70;
constexpr uint64_t kPlotRight = 20;
constexpr uint64_t kBarHeight = 10;
constexpr uint64_t kRowGap = 4;
constexpr uint64_t kLaneGap = 16;
constexpr uint64_t kTop = 42;
constexpr uint64_t kLegendHeight = 44;

WriteFateKind ParseFate(const std::string& text) {
  if (text == "kept" || text == "keep" || text == "survived" || text == "landed") {
    return WriteFateKind::kSurvived;
  }
  if (text == "torn" || text == "tear") return WriteFateKind::kTorn;
  if (text == "dropped" || text == "drop" || text == "vanished" || text == "lost") {
    return WriteFateKind::kVanished;
  }
  return WriteFateKind::kUnknown;
}

const char* FateColor(const TimelineIo& io) {
  if (io.op != "write") return io.op == "flush" ? "#6a1b9a" : "#b0b7bf";
  switch (io.fate) {
    case WriteFateKind::kSurvived:
      return "#2e7d32";
    case WriteFateKind::kTorn:
      return "#ef6c00";
    case WriteFateKind::kVanished:
      return "#c62828";
    case WriteFateKind::kUnknown:
      break;
  }
  return "#5c7a99";
}

const char* FateName(WriteFateKind f) {
  switch (f) {
    case WriteFateKind::kSurvived:
      return "survived";
    case WriteFateKind::kTorn:
      return "torn";
    case WriteFateKind::kVanished:
      return "vanished";
    case WriteFateKind::kUnknown:
      break;
  }
  return "";
}

// Where an I/O's bar ends: at its completion, else at the first crash after its submission
// (it never completes), else at the end of the picture.
uint64_t EndOf(const Timeline& tl, const TimelineIo& io, uint64_t span) {
  if (io.completed) return io.complete_ns;
  for (uint64_t t : tl.crash_ns) {
    if (t >= io.submit_ns) return t;
  }
  return span;
}

}  // namespace

Timeline ParseTrace(std::string_view jsonl) {
  Timeline tl;
  std::map<std::pair<std::string, uint64_t>, size_t> open;  // (device, write_id) -> ios index
  std::map<std::pair<std::string, uint64_t>, WriteFateKind> fates;
  auto note_device = [&](const std::string& d) {
    if (!d.empty() && std::find(tl.devices.begin(), tl.devices.end(), d) == tl.devices.end()) {
      tl.devices.push_back(d);
    }
  };
  size_t pos = 0;
  while (pos < jsonl.size()) {
    size_t end = jsonl.find('\n', pos);
    if (end == std::string_view::npos) end = jsonl.size();
    std::string_view line = jsonl.substr(pos, end - pos);
    pos = end + 1;
    if (line.empty()) continue;
    nlohmann::json j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (!j.is_object()) {
      ++tl.skipped_lines;
      continue;
    }
    const uint64_t t = j.value("t", uint64_t{0});
    const std::string kind = j.value("kind", "");
    const std::string device = j.value("device", "");
    const uint64_t write_id = j.value("write_id", uint64_t{0});
    tl.end_ns = std::max(tl.end_ns, t);
    if (j.contains("fate") || kind == "fate") {
      std::string text = j.contains("fate") ? j.value("fate", "") : j.value("detail", "");
      fates[{device, write_id}] = ParseFate(text);
      continue;
    }
    if (kind == "submit") {
      note_device(device);
      if (tl.ios.size() >= kMaxTimelineIos) {
        tl.truncated = true;
        continue;
      }
      TimelineIo io;
      io.device = device;
      io.op = j.value("op", "");
      io.submit_ns = t;
      io.sector = j.value("sector", uint64_t{0});
      io.count = j.value("count", uint64_t{0});
      uint32_t flags = j.value("flags", 0u);
      io.preflush = (flags & kTraceFlagPreflush) != 0 || j.value("preflush", false);
      io.fua = (flags & kTraceFlagFua) != 0 || j.value("fua", false);
      io.write_id = write_id;
      if (write_id != 0) open[{device, write_id}] = tl.ios.size();
      tl.ios.push_back(std::move(io));
    } else if (kind == "complete") {
      auto it = open.find({device, write_id});
      if (it == open.end()) continue;
      TimelineIo& io = tl.ios[it->second];
      io.completed = true;
      io.complete_ns = t;
      io.result = j.value("result", int64_t{0});
      open.erase(it);
    } else if (kind == "crash") {
      // Devices crash together: one world crash point per distinct time.
      if (tl.crash_ns.empty() || tl.crash_ns.back() != t) tl.crash_ns.push_back(t);
    } else {
      ++tl.skipped_lines;
    }
  }
  for (TimelineIo& io : tl.ios) {
    auto it = fates.find({io.device, io.write_id});
    if (it != fates.end()) io.fate = it->second;
  }
  return tl;
}

absl::StatusOr<Timeline> LoadTrace(const std::string& path) {
  absl::StatusOr<std::string> text = ReadWholeFile(path);
  if (!text.ok()) return text.status();
  return ParseTrace(*text);
}

std::string RenderTimelineSvg(const Timeline& tl) {
  const uint64_t plot_w = kWidth - kLaneLabel - kPlotRight;
  // A margin after the last event keeps a crash at the very end visible.
  const uint64_t span = std::max<uint64_t>(tl.end_ns + tl.end_ns / 16, 1);
  auto x_of = [&](uint64_t t) { return kLaneLabel + (t > span ? span : t) * plot_w / span; };

  // Rows within a lane: an I/O goes to the first row free at its submit time.
  std::vector<size_t> row_of(tl.ios.size(), 0);
  std::map<std::string, std::vector<uint64_t>> row_ends;
  for (size_t i = 0; i < tl.ios.size(); ++i) {
    const TimelineIo& io = tl.ios[i];
    uint64_t end = EndOf(tl, io, span);
    std::vector<uint64_t>& ends = row_ends[io.device];
    size_t row = 0;
    while (row < ends.size() && ends[row] > io.submit_ns) ++row;
    if (row >= kMaxTimelineRows) row = kMaxTimelineRows - 1;  // bounded height: overlap
    if (row >= ends.size()) ends.resize(row + 1, 0);
    ends[row] = std::max(ends[row], end);
    row_of[i] = row;
  }
  std::map<std::string, uint64_t> lane_top;
  uint64_t y = kTop;
  for (const std::string& d : tl.devices) {
    lane_top[d] = y;
    size_t rows = std::max<size_t>(row_ends[d].size(), 1);
    y += rows * (kBarHeight + kRowGap) + kLaneGap;
  }
  const uint64_t plot_bottom = y;
  const uint64_t height = plot_bottom + kLegendHeight;

  std::string svg = absl::StrCat(
      "<svg class=\"timeline\" xmlns=\"http://www.w3.org/2000/svg\" width=\"", kWidth,
      "\" height=\"", height, "\" viewBox=\"0 0 ", kWidth, " ", height, "\" role=\"img\">");
  absl::StrAppend(&svg, "<text class=\"tick\" x=\"", kLaneLabel, "\" y=\"14\">0 ns</text>",
                  "<text class=\"tick\" x=\"", kWidth - kPlotRight, "\" y=\"14\" ",
                  "text-anchor=\"end\">", span, " ns (simulated)</text>");
  // Cache epochs: bands between completed flushes (a flush or a write with PREFLUSH), per lane.
  for (const std::string& d : tl.devices) {
    size_t rows = std::max<size_t>(row_ends[d].size(), 1);
    uint64_t lane_h = rows * (kBarHeight + kRowGap);
    std::vector<uint64_t> bounds = {0};
    for (const TimelineIo& io : tl.ios) {
      if (io.device == d && io.completed && (io.op == "flush" || io.preflush)) {
        bounds.push_back(io.complete_ns);
      }
    }
    bounds.push_back(span);
    std::sort(bounds.begin(), bounds.end());
    for (size_t e = 0; e + 1 < bounds.size(); ++e) {
      if (e % 2 == 1) continue;  // alternate shading tells neighbouring epochs apart
      uint64_t x1 = x_of(bounds[e]), x2 = x_of(bounds[e + 1]);
      absl::StrAppend(&svg, "<rect class=\"epoch\" x=\"", x1, "\" y=\"", lane_top[d] - 2,
                      "\" width=\"", x2 - x1, "\" height=\"", lane_h + 2, "\" fill=\"#eef2f7\"/>");
    }
    absl::StrAppend(&svg, "<text class=\"lane-label\" x=\"4\" y=\"", lane_top[d] + kBarHeight,
                    "\">", HtmlEscape(d), "</text>");
  }
  for (size_t i = 0; i < tl.ios.size(); ++i) {
    const TimelineIo& io = tl.ios[i];
    uint64_t top = lane_top[io.device] + row_of[i] * (kBarHeight + kRowGap);
    uint64_t x1 = x_of(io.submit_ns);
    uint64_t x2 = x_of(EndOf(tl, io, span));
    uint64_t w = std::max<uint64_t>(x2 - x1, 2);
    std::string tip = absl::StrCat(io.op, " sector ", io.sector, " +", io.count, " id ",
                                   io.write_id, io.preflush ? " PREFLUSH" : "",
                                   io.fua ? " FUA" : "", io.completed ? "" : " (not completed)");
    if (io.fate != WriteFateKind::kUnknown) absl::StrAppend(&tip, ": ", FateName(io.fate));
    absl::StrAppend(&svg, "<rect class=\"io\" x=\"", x1, "\" y=\"", top, "\" width=\"", w,
                    "\" height=\"", kBarHeight, "\" fill=\"", FateColor(io), "\"",
                    io.completed ? "" : " stroke=\"#222\" stroke-dasharray=\"3,2\"", "><title>",
                    HtmlEscape(tip), "</title></rect>");
    if (io.preflush || io.op == "flush") {
      absl::StrAppend(&svg, "<line class=\"flush-mark\" x1=\"", x1, "\" y1=\"", top - 2, "\" x2=\"",
                      x1, "\" y2=\"", top + kBarHeight + 2,
                      "\" stroke=\"#6a1b9a\" stroke-width=\"2\"/>");
    }
    if (io.fua) {
      absl::StrAppend(&svg, "<circle class=\"fua-mark\" cx=\"", x1 + w, "\" cy=\"",
                      top + kBarHeight / 2, "\" r=\"3\" fill=\"#000\"/>");
    }
  }
  for (uint64_t t : tl.crash_ns) {
    uint64_t x = x_of(t);
    absl::StrAppend(&svg, "<line class=\"crash\" x1=\"", x, "\" y1=\"", kTop - 20, "\" x2=\"", x,
                    "\" y2=\"", plot_bottom - kLaneGap / 2,
                    "\" stroke=\"#d50000\" stroke-width=\"2\" stroke-dasharray=\"5,3\"/>",
                    "<text class=\"crash-label\" x=\"", x > kWidth / 2 ? x - 3 : x + 3, "\" y=\"",
                    kTop - 10, "\" fill=\"#d50000\" text-anchor=\"",
                    x > kWidth / 2 ? "end" : "start", "\">crash @ ", t, " ns</text>");
  }
  // Legend.
  struct Key {
    const char* color;
    const char* text;
  };
  const Key keys[] = {{"#2e7d32", "survived"},       {"#ef6c00", "torn"},
                      {"#c62828", "vanished"},       {"#5c7a99", "write"},
                      {"#6a1b9a", "flush/PREFLUSH"}, {"#b0b7bf", "read"}};
  uint64_t lx = kLaneLabel;
  const uint64_t ly = plot_bottom + 6;
  for (const Key& k : keys) {
    absl::StrAppend(&svg, "<rect x=\"", lx, "\" y=\"", ly, "\" width=\"12\" height=\"10\" fill=\"",
                    k.color, "\"/><text class=\"legend\" x=\"", lx + 16, "\" y=\"", ly + 9, "\">",
                    k.text, "</text>");
    lx += 120;
  }
  absl::StrAppend(&svg, "<circle cx=\"", kLaneLabel + 6, "\" cy=\"", ly + 25,
                  "\" r=\"3\" fill=\"#000\"/><text class=\"legend\" x=\"", kLaneLabel + 16,
                  "\" y=\"", ly + 29, "\">FUA</text>", "<rect x=\"", kLaneLabel + 120, "\" y=\"",
                  ly + 20, "\" width=\"12\" height=\"10\" fill=\"#eef2f7\" stroke=\"#ccd\"/>",
                  "<text class=\"legend\" x=\"", kLaneLabel + 136, "\" y=\"", ly + 29,
                  "\">cache epoch (between flushes)</text>", "<line x1=\"", kLaneLabel + 366,
                  "\" y1=\"", ly + 19, "\" x2=\"", kLaneLabel + 366, "\" y2=\"", ly + 31,
                  "\" stroke=\"#d50000\" stroke-width=\"2\" stroke-dasharray=\"3,2\"/>",
                  "<text class=\"legend\" x=\"", kLaneLabel + 374, "\" y=\"", ly + 29,
                  "\">crash point</text>", "<rect x=\"", kLaneLabel + 480, "\" y=\"", ly + 20,
                  "\" width=\"12\" height=\"10\" fill=\"#fff\" stroke=\"#222\" ",
                  "stroke-dasharray=\"3,2\"/><text class=\"legend\" x=\"", kLaneLabel + 496,
                  "\" y=\"", ly + 29, "\">not completed before the crash</text>");
  if (tl.truncated) {
    absl::StrAppend(&svg, "<text class=\"note\" x=\"", kWidth - kPlotRight, "\" y=\"", ly + 29,
                    "\" text-anchor=\"end\">first ", kMaxTimelineIos, " I/Os only</text>");
  }
  svg += "</svg>";
  return svg;
}

}  // namespace snapsim
