// SPDX-License-Identifier: GPL-2.0-only
//
// Timeline: the picture of one (minimized) run read from its sim/trace JSON-lines file: one lane
// per device, each I/O a bar from submit to complete, FLUSH/FUA marked, cache epochs (the spans
// between completed flushes) shaded, the crash point as a vertical line, and each write coloured
// by its fate at the crash (survived, torn, vanished).
//
// Contract: parsing is tolerant: unparsable lines and unknown kinds are counted and skipped, so a
// newer trace still draws. Fates come from lines of kind "fate" (or any line with a "fate" field)
// naming the device and write_id, the fate in "fate" or "detail" ("kept"/"survived",
// "torn"/"tear", "dropped"/"vanished"). Rendering is a pure function of the Timeline.
#ifndef SNAPSIM_REPORTS_TIMELINE_H_
#define SNAPSIM_REPORTS_TIMELINE_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace snapsim {

enum class WriteFateKind : uint8_t {
  kUnknown,  // no fate recorded (no crash, or the trace does not say)
  kSurvived,
  kTorn,
  kVanished,
};

struct TimelineIo {
  std::string device;
  std::string op;  // "write", "read", "flush", ...
  uint64_t submit_ns = 0;
  uint64_t complete_ns = 0;  // valid when completed
  bool completed = false;
  uint64_t sector = 0;
  uint64_t count = 0;
  bool preflush = false;
  bool fua = false;
  uint64_t write_id = 0;
  int64_t result = 0;
  WriteFateKind fate = WriteFateKind::kUnknown;
};

struct Timeline {
  std::vector<std::string> devices;  // in order of first appearance
  std::vector<TimelineIo> ios;       // in submit order
  std::vector<uint64_t> crash_ns;    // world crash points
  uint64_t end_ns = 0;               // the last time seen
  uint64_t skipped_lines = 0;        // unparsable or of an unknown kind
  bool truncated = false;            // more than kMaxTimelineIos I/Os
};

inline constexpr size_t kMaxTimelineIos = 4000;
inline constexpr size_t kMaxTimelineRows = 6;  // sub-rows per lane for overlapping I/Os

Timeline ParseTrace(std::string_view jsonl);
absl::StatusOr<Timeline> LoadTrace(const std::string& path);

std::string RenderTimelineSvg(const Timeline& timeline);

}  // namespace snapsim

#endif  // SNAPSIM_REPORTS_TIMELINE_H_
