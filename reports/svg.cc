// SPDX-License-Identifier: GPL-2.0-only
#include "reports/svg.h"

#include <algorithm>
#include <bit>

#include "absl/strings/str_cat.h"

namespace snapsim {
namespace {

constexpr uint64_t kWidth = 580;
constexpr uint64_t kLabelWidth = 200;
constexpr uint64_t kValueWidth = 70;
constexpr uint64_t kRowHeight = 20;
constexpr uint64_t kTitleHeight = 26;
constexpr const char* kDefaultBar = "#3b6ea8";

// The opening <svg> tag of a chart of class `kind`, with its title.
std::string Open(const char* kind, uint64_t height, std::string_view title) {
  return absl::StrCat("<svg class=\"chart ", kind, "\" xmlns=\"http://www.w3.org/2000/svg\" ",
                      "width=\"", kWidth, "\" height=\"", height, "\" viewBox=\"0 0 ", kWidth, " ",
                      height, "\" role=\"img\"><text class=\"chart-title\" x=\"4\" ", "y=\"17\">",
                      HtmlEscape(title), "</text>");
}

constexpr const char* kNoData = "<text class=\"empty\" x=\"4\" y=\"40\">no data</text></svg>";

uint64_t Scaled(uint64_t value, uint64_t max, BarScale scale, uint64_t span) {
  if (value == 0 || max == 0) return 0;
  if (scale == BarScale::kLog2) {
    return static_cast<uint64_t>(std::bit_width(value)) * span /
           static_cast<uint64_t>(std::bit_width(max));
  }
  // value * span can overflow for huge counts: divide first when it would.
  if (value > UINT64_MAX / span) return value / (max / span + 1);
  return value * span / max;
}

}  // namespace

std::string HtmlEscape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string SvgBarChart(std::string_view title, const std::vector<BarDatum>& bars, BarScale scale) {
  size_t shown = std::min(bars.size(), kMaxBars);
  uint64_t rows = std::max<uint64_t>(shown, 1) + (bars.size() > shown ? 1 : 0);
  uint64_t height = kTitleHeight + rows * kRowHeight + 6;
  std::string svg = Open("bar-chart", height, title);
  if (bars.empty()) return svg + kNoData;
  uint64_t max = 0;
  for (size_t i = 0; i < shown; ++i) max = std::max(max, bars[i].value);
  const uint64_t span = kWidth - kLabelWidth - kValueWidth;
  for (size_t i = 0; i < shown; ++i) {
    const BarDatum& b = bars[i];
    uint64_t y = kTitleHeight + i * kRowHeight;
    uint64_t len = Scaled(b.value, max, scale, span);
    if (b.value > 0 && len == 0) len = 1;  // a fired probe is never invisible
    absl::StrAppend(&svg, "<text class=\"bar-label\" x=\"", kLabelWidth - 6, "\" y=\"", y + 14,
                    "\" text-anchor=\"end\">", HtmlEscape(b.label), "</text>");
    absl::StrAppend(&svg, "<rect class=\"bar\" x=\"", kLabelWidth, "\" y=\"", y + 3, "\" width=\"",
                    len, "\" height=\"", kRowHeight - 6, "\" fill=\"",
                    HtmlEscape(b.color.empty() ? kDefaultBar : b.color), "\"><title>",
                    HtmlEscape(b.label), ": ", b.value, "</title></rect>");
    absl::StrAppend(&svg, "<text class=\"bar-value\" x=\"", kLabelWidth + len + 4, "\" y=\"",
                    y + 14, "\">", b.value, "</text>");
  }
  if (bars.size() > shown) {
    absl::StrAppend(&svg, "<text class=\"empty\" x=\"", kLabelWidth, "\" y=\"",
                    kTitleHeight + shown * kRowHeight + 14, "\">(", bars.size() - shown,
                    " more)</text>");
  }
  if (scale == BarScale::kLog2) {
    absl::StrAppend(&svg, "<text class=\"note\" x=\"", kWidth - 4,
                    "\" y=\"17\" text-anchor=\"end\">log scale</text>");
  }
  svg += "</svg>";
  return svg;
}

std::string SvgLineChart(std::string_view title, const std::vector<LinePoint>& points,
                         std::string_view x_unit, std::string_view y_unit) {
  constexpr uint64_t kHeight = 230;
  constexpr uint64_t kLeft = 60, kRight = 20, kTop = kTitleHeight + 6, kBottom = 34;
  constexpr uint64_t kPlotW = kWidth - kLeft - kRight, kPlotH = kHeight - kTop - kBottom;
  std::string svg = Open("line-chart", kHeight, title);
  if (points.empty()) return svg + kNoData;
  size_t step = points.size() / kMaxLinePoints + 1;
  uint64_t max_x = 1, max_y = 1;
  for (const LinePoint& p : points) {
    max_x = std::max(max_x, p.x);
    max_y = std::max(max_y, p.y);
  }
  // Axes, with the maxima as the only tick labels: readable and enough to read a trend.
  absl::StrAppend(&svg, "<line class=\"axis\" x1=\"", kLeft, "\" y1=\"", kTop, "\" x2=\"", kLeft,
                  "\" y2=\"", kTop + kPlotH, "\"/>", "<line class=\"axis\" x1=\"", kLeft,
                  "\" y1=\"", kTop + kPlotH, "\" x2=\"", kLeft + kPlotW, "\" y2=\"", kTop + kPlotH,
                  "\"/>");
  absl::StrAppend(&svg, "<text class=\"tick\" x=\"", kLeft - 4, "\" y=\"", kTop + 4,
                  "\" text-anchor=\"end\">", max_y, "</text>", "<text class=\"tick\" x=\"",
                  kLeft - 4, "\" y=\"", kTop + kPlotH, "\" text-anchor=\"end\">0</text>");
  absl::StrAppend(&svg, "<text class=\"tick\" x=\"", kLeft, "\" y=\"", kTop + kPlotH + 14,
                  "\">0</text>", "<text class=\"tick\" x=\"", kLeft + kPlotW, "\" y=\"",
                  kTop + kPlotH + 14, "\" text-anchor=\"end\">", max_x, " ", HtmlEscape(x_unit),
                  "</text>");
  absl::StrAppend(&svg, "<text class=\"unit\" x=\"", kLeft + 4, "\" y=\"", kTop + 10, "\">",
                  HtmlEscape(y_unit), "</text>");
  std::string coords;
  for (size_t i = 0; i < points.size(); i += step) {
    uint64_t x = kLeft + points[i].x * kPlotW / max_x;
    uint64_t y = kTop + kPlotH - points[i].y * kPlotH / max_y;
    absl::StrAppend(&coords, coords.empty() ? "" : " ", x, ",", y);
  }
  absl::StrAppend(&svg, "<polyline class=\"line\" fill=\"none\" stroke=\"#3b6ea8\" ",
                  "stroke-width=\"2\" points=\"", coords, "\"/></svg>");
  return svg;
}

}  // namespace snapsim
