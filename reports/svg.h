// SPDX-License-Identifier: GPL-2.0-only
//
// Tiny inline-SVG charts for the HTML report: horizontal bar charts and a line chart.
//
// Contract: the output is one self-contained <svg> element (no scripts, no external references)
// whose every text comes through HtmlEscape; coordinates are computed with integer math from the
// data alone, so the same data gives the same bytes. Empty data gives a chart saying "no data".
#ifndef SNAPSIM_REPORTS_SVG_H_
#define SNAPSIM_REPORTS_SVG_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace snapsim {

// Escapes & < > " ' for HTML text and attribute values.
std::string HtmlEscape(std::string_view text);

struct BarDatum {
  std::string label;
  uint64_t value = 0;
  std::string color;  // CSS colour; "" for the default
};

enum class BarScale : uint8_t {
  kLinear,
  kLog2,  // bar length by bit width of the value: 1, 2-3, 4-7, ... get equal steps
};

inline constexpr size_t kMaxBars = 64;  // more are folded into an "(N more)" note

std::string SvgBarChart(std::string_view title, const std::vector<BarDatum>& bars, BarScale scale);

struct LinePoint {
  uint64_t x = 0;
  uint64_t y = 0;
};

inline constexpr size_t kMaxLinePoints = 1024;  // more are thinned to every k-th point

// A line chart of points in x order; axis labels show the maxima with their units.
std::string SvgLineChart(std::string_view title, const std::vector<LinePoint>& points,
                         std::string_view x_unit, std::string_view y_unit);

}  // namespace snapsim

#endif  // SNAPSIM_REPORTS_SVG_H_
