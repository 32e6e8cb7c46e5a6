// SPDX-License-Identifier: GPL-2.0-only
//
// Section: one TOML table of a scenario file being read, with the checks every key shares: its
// type, enum names, size units, ratios, and keys that are missing or unknown. Errors are one
// line, "<source>:<line>: <field>: <problem>", and the first one wins (ParseContext).
//
// Contract: a Section borrows its ParseContext and table; both outlive it. Ranges and relations
// between fields are ValidateScenario's job, not a Section's.
#ifndef SNAPSIM_SIM_WORKLOAD_TOML_SECTION_H_
#define SNAPSIM_SIM_WORKLOAD_TOML_SECTION_H_

#include <array>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "core/format.h"
#include "sim/world/prng.h"
#include "toml++/toml.h"
#include "util/absl_view.h"

namespace snapsim {

struct SizeUnit {
  std::string_view suffix;
  uint64_t sectors;
};
// Largest first, so the writer picks the largest exact unit.
inline constexpr std::array<SizeUnit, 4> kSizeUnits = {{{"TiB", uint64_t{1} << 31},
                                                        {"GiB", uint64_t{1} << 21},
                                                        {"MiB", uint64_t{1} << 11},
                                                        {"KiB", 2}}};

// The line a region starts on (at least 1).
uint32_t LineOf(const toml::source_region& region);

// The first error wins; later reads do nothing once one is recorded.
struct ParseContext {
  std::string source;
  absl::Status status;

  void Fail(uint32_t line, std::string_view field, std::string_view problem) {
    if (!status.ok()) return;
    status = absl::InvalidArgumentError(
        absl::StrCat(source, ":", line, ": ", AbslView(field), ": ", AbslView(problem)));
  }
};

// One TOML table being read. Every key read is marked; Finish() reports the first key (in file
// order) that nothing read, so a misspelt key is an error instead of a silent default.
class Section {
 public:
  Section(ParseContext& ctx, const toml::table* table, std::string path, uint32_t line)
      : ctx_(ctx), table_(table), path_(std::move(path)), line_(line) {}

  std::string Field(std::string_view key) const {
    return path_.empty() ? std::string(key) : absl::StrCat(path_, ".", AbslView(key));
  }

  // The node at `key` (marked as read), or nullptr; a missing required key is an error.
  const toml::node* Take(std::string_view key, bool required = false);

  template <typename T>
  void Uint(std::string_view key, T* out, bool required = false) {
    const toml::node* node = Take(key, required);
    if (node == nullptr) return;
    const std::optional<int64_t> value = node->value_exact<int64_t>();
    if (!node->is_integer() || !value) {
      return TypeError(*node, key, "an integer");
    }
    const uint64_t max = std::numeric_limits<T>::max();
    if (*value < 0 || static_cast<uint64_t>(*value) > max) {
      return ctx_.Fail(LineOf(node->source()), Field(key),
                       absl::StrCat("must be 0..", max, ", got ", *value));
    }
    *out = static_cast<T>(*value);
  }

  void Bool(std::string_view key, bool* out);

  void String(std::string_view key, std::string* out, bool required = false);

  template <typename E, size_t N>
  void Enum(std::string_view key, const std::array<const char*, N>& names, E* out) {
    const toml::node* node = Take(key);
    if (node == nullptr) return;
    if (!node->is_string()) return TypeError(*node, key, "a string");
    const std::string value = *node->value<std::string>();
    for (size_t i = 0; i < N; ++i) {
      if (value == names[i]) {
        *out = static_cast<E>(i);
        return;
      }
    }
    std::string choices;
    for (size_t i = 0; i < N; ++i) absl::StrAppend(&choices, i ? ", " : "", "\"", names[i], "\"");
    ctx_.Fail(LineOf(node->source()), Field(key),
              absl::StrCat("must be one of ", choices, ", got \"", value, "\""));
  }

  // An integer (sectors) or a string "<n>KiB|MiB|GiB|TiB".
  void Size(std::string_view key, sector_t* out, bool required);

  // "n/d" with d > 0 and n <= d, or the integers 0 (never) and 1 (always).
  void RatioValue(std::string_view key, Ratio* out);

  // The sub-table `key`; a missing one reads as empty (every field keeps its default).
  Section Sub(std::string_view key);

  const toml::table* table() const { return table_; }
  ParseContext& ctx() { return ctx_; }
  uint32_t line() const { return line_; }

  void Finish();

  void TypeError(const toml::node& node, std::string_view key, std::string_view wanted);

 private:
  ParseContext& ctx_;
  const toml::table* table_;
  std::string path_;
  uint32_t line_;
  std::vector<std::string> used_;
};

}  // namespace snapsim

#endif  // SNAPSIM_SIM_WORKLOAD_TOML_SECTION_H_
