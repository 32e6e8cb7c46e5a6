// SPDX-License-Identifier: GPL-2.0-only
#include "sim/workload/toml_section.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "sim/workload/scenario.h"

namespace snapsim {
namespace {

const char* TypeName(toml::node_type type) {
  switch (type) {
    case toml::node_type::table:
      return "a table";
    case toml::node_type::array:
      return "an array";
    case toml::node_type::string:
      return "a string";
    case toml::node_type::integer:
      return "an integer";
    case toml::node_type::floating_point:
      return "a float";
    case toml::node_type::boolean:
      return "a boolean";
    case toml::node_type::date:
      return "a date";
    case toml::node_type::time:
      return "a time";
    case toml::node_type::date_time:
      return "a date-time";
    case toml::node_type::none:
      break;
  }
  return "nothing";
}

}  // namespace

uint32_t LineOf(const toml::source_region& region) {
  return std::max<uint32_t>(1, region.begin.line);
}

const toml::node* Section::Take(std::string_view key, bool required) {
  used_.emplace_back(key);
  const toml::node* node = table_ == nullptr ? nullptr : table_->get(key);
  if (node == nullptr && required) ctx_.Fail(line_, Field(key), "required key is missing");
  return node;
}

void Section::Bool(std::string_view key, bool* out) {
  const toml::node* node = Take(key);
  if (node == nullptr) return;
  if (!node->is_boolean()) return TypeError(*node, key, "a boolean");
  *out = *node->value<bool>();
}

void Section::String(std::string_view key, std::string* out, bool required) {
  const toml::node* node = Take(key, required);
  if (node == nullptr) return;
  if (!node->is_string()) return TypeError(*node, key, "a string");
  *out = *node->value<std::string>();
}

void Section::Size(std::string_view key, sector_t* out, bool required) {
  const toml::node* node = Take(key, required);
  if (node == nullptr) return;
  if (node->is_integer()) {
    const int64_t value = *node->value<int64_t>();
    if (value < 0) {
      return ctx_.Fail(LineOf(node->source()), Field(key),
                       absl::StrCat("must not be negative, got ", value));
    }
    *out = static_cast<sector_t>(value);
    return;
  }
  if (!node->is_string()) return TypeError(*node, key, "an integer (sectors) or a size string");
  const std::string text = *node->value<std::string>();
  for (const SizeUnit& unit : kSizeUnits) {
    if (!absl::EndsWith(text, AbslView(unit.suffix))) continue;
    const std::string_view digits =
        std::string_view(text).substr(0, text.size() - unit.suffix.size());
    uint64_t n = 0;
    if (!digits.empty() && std::all_of(digits.begin(), digits.end(), absl::ascii_isdigit) &&
        absl::SimpleAtoi(AbslView(digits), &n) && n <= kMaxDeviceSectors) {
      *out = n * unit.sectors;  // cannot overflow: both factors are below 2^32
      return;
    }
    break;
  }
  ctx_.Fail(LineOf(node->source()), Field(key),
            absl::StrCat("bad size \"", text,
                         "\": give sectors as an integer or a string like \"64MiB\" "
                         "(units KiB, MiB, GiB, TiB)"));
}

void Section::RatioValue(std::string_view key, Ratio* out) {
  const toml::node* node = Take(key);
  if (node == nullptr) return;
  if (node->is_integer()) {
    const int64_t value = *node->value<int64_t>();
    if (value == 0 || value == 1) {
      *out = value == 0 ? kNever : kAlways;
      return;
    }
  } else if (node->is_string()) {
    const std::string text = *node->value<std::string>();
    const std::vector<std::string> parts = absl::StrSplit(text, '/');
    uint32_t n = 0;
    uint32_t d = 0;
    if (parts.size() == 2 && absl::SimpleAtoi(parts[0], &n) && absl::SimpleAtoi(parts[1], &d) &&
        Ratio{n, d}.valid() && !absl::StrContains(text, ' ') && !absl::StrContains(text, '-')) {
      *out = Ratio{n, d};
      return;
    }
  } else {
    return TypeError(*node, key, "a ratio string \"n/d\"");
  }
  const std::string shown = node->is_string()
                                ? absl::StrCat("\"", *node->value<std::string>(), "\"")
                                : absl::StrCat(*node->value<int64_t>());
  ctx_.Fail(
      LineOf(node->source()), Field(key),
      absl::StrCat("must be a ratio \"n/d\" with 0 <= n <= d and d > 0 (or 0 or 1), got ", shown));
}

Section Section::Sub(std::string_view key) {
  const toml::node* node = Take(key);
  if (node == nullptr) return Section(ctx_, nullptr, Field(key), line_);
  if (!node->is_table()) {
    TypeError(*node, key, "a table");
    return Section(ctx_, nullptr, Field(key), line_);
  }
  return Section(ctx_, node->as_table(), Field(key), LineOf(node->source()));
}

void Section::Finish() {
  if (table_ == nullptr) return;
  const toml::key* first_unknown = nullptr;
  for (const auto& [key, node] : *table_) {
    if (std::find(used_.begin(), used_.end(), key.str()) != used_.end()) continue;
    if (first_unknown == nullptr || key.source().begin.line < first_unknown->source().begin.line) {
      first_unknown = &key;
    }
  }
  if (first_unknown != nullptr) {
    ctx_.Fail(LineOf(first_unknown->source()), Field(first_unknown->str()), "unknown key");
  }
}

void Section::TypeError(const toml::node& node, std::string_view key, std::string_view wanted) {
  ctx_.Fail(LineOf(node.source()), Field(key),
            absl::StrCat("must be ", AbslView(wanted), ", got ", TypeName(node.type())));
}

}  // namespace snapsim
