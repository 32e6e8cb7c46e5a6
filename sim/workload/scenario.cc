// SPDX-License-Identifier: GPL-2.0-only
#include "sim/workload/scenario.h"

#include <algorithm>
#include <array>
#include <cstdlib>
#include <filesystem>
#include <limits>
#include <sstream>
#include <system_error>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "core/bio_split.h"
#include "core/chunk_size.h"
#include "util/atomic_file.h"
#include "toml++/toml.h"

#ifndef SNAPSIM_SCENARIO_DIR
#define SNAPSIM_SCENARIO_DIR "scenarios"
#endif

namespace snapsim {
namespace {

// Files ListScenarios reads at most.
constexpr size_t kMaxScenarioFiles = 1000;
// Size of a scenario file read at most (they are a few KiB).
constexpr uintmax_t kMaxScenarioFileBytes = 1 << 20;

constexpr std::array<const char*, 2> kCowInitialNames = {"zero", "garbage"};
constexpr std::array<const char*, 3> kPatternNames = {"sequential", "random", "hotspot"};
constexpr std::array<const char*, 4> kStoreMutationNames = {"none", "no_area_flush",
                                                            "no_next_area_zeroing",
                                                            "overfill_area"};
constexpr std::array<const char*, 2> kTargetMutationNames = {"none",
                                                             "release_origin_before_commit"};

struct SizeUnit {
  std::string_view suffix;
  uint64_t sectors;
};
// Largest first, so the writer picks the largest exact unit.
constexpr std::array<SizeUnit, 4> kSizeUnits = {{{"TiB", uint64_t{1} << 31},
                                                 {"GiB", uint64_t{1} << 21},
                                                 {"MiB", uint64_t{1} << 11},
                                                 {"KiB", 2}}};

// Debian's Abseil 20220623 has its own absl::string_view, distinct from std::string_view.
absl::string_view A(std::string_view s) { return absl::string_view(s.data(), s.size()); }

bool IsPowerOfTwo(uint64_t v) { return v != 0 && (v & (v - 1)) == 0; }

bool IsNameChar(char c, bool allow_dash, bool allow_underscore) {
  return absl::ascii_islower(c) || absl::ascii_isdigit(c) || (allow_dash && c == '-') ||
         (allow_underscore && c == '_');
}

bool IsName(std::string_view s, bool allow_dash, bool allow_underscore) {
  if (s.empty()) return false;
  return std::all_of(s.begin(), s.end(),
                     [&](char c) { return IsNameChar(c, allow_dash, allow_underscore); });
}

absl::Status Invalid(std::string_view field, std::string_view problem) {
  return absl::InvalidArgumentError(absl::StrCat(A(field), ": ", A(problem)));
}

absl::Status CheckRange(std::string_view field, uint64_t value, uint64_t lo, uint64_t hi) {
  if (value >= lo && value <= hi) return absl::OkStatus();
  return Invalid(field, absl::StrCat("must be ", lo, "..", hi, ", got ", value));
}

// ----------------------------------------------------------------------------------------------
// Reading TOML: type checks, enum names, size units, unknown and missing keys. Ranges and the
// relations between fields are ValidateScenario's job, so there is one place for each rule.

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

uint32_t LineOf(const toml::source_region& region) {
  return std::max<uint32_t>(1, region.begin.line);
}

// The first error wins; later reads do nothing once one is recorded.
struct ParseContext {
  std::string source;
  absl::Status status;

  void Fail(uint32_t line, std::string_view field, std::string_view problem) {
    if (!status.ok()) return;
    status = absl::InvalidArgumentError(
        absl::StrCat(source, ":", line, ": ", A(field), ": ", A(problem)));
  }
};

// One TOML table being read. Every key read is marked; Finish() reports the first key (in file
// order) that nothing read, so a misspelt key is an error instead of a silent default.
class Section {
 public:
  Section(ParseContext& ctx, const toml::table* table, std::string path, uint32_t line)
      : ctx_(ctx), table_(table), path_(std::move(path)), line_(line) {}

  std::string Field(std::string_view key) const {
    return path_.empty() ? std::string(key) : absl::StrCat(path_, ".", A(key));
  }

  // The node at `key` (marked as read), or nullptr; a missing required key is an error.
  const toml::node* Take(std::string_view key, bool required = false) {
    used_.emplace_back(key);
    const toml::node* node = table_ == nullptr ? nullptr : table_->get(key);
    if (node == nullptr && required) ctx_.Fail(line_, Field(key), "required key is missing");
    return node;
  }

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

  void Bool(std::string_view key, bool* out) {
    const toml::node* node = Take(key);
    if (node == nullptr) return;
    if (!node->is_boolean()) return TypeError(*node, key, "a boolean");
    *out = *node->value<bool>();
  }

  void String(std::string_view key, std::string* out, bool required = false) {
    const toml::node* node = Take(key, required);
    if (node == nullptr) return;
    if (!node->is_string()) return TypeError(*node, key, "a string");
    *out = *node->value<std::string>();
  }

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
  void Size(std::string_view key, sector_t* out, bool required) {
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
      if (!absl::EndsWith(text, A(unit.suffix))) continue;
      const std::string_view digits =
          std::string_view(text).substr(0, text.size() - unit.suffix.size());
      uint64_t n = 0;
      if (!digits.empty() && std::all_of(digits.begin(), digits.end(), absl::ascii_isdigit) &&
          absl::SimpleAtoi(A(digits), &n) && n <= kMaxDeviceSectors) {
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

  // "n/d" with d > 0 and n <= d, or the integers 0 (never) and 1 (always).
  void RatioValue(std::string_view key, Ratio* out) {
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
    ctx_.Fail(LineOf(node->source()), Field(key),
              absl::StrCat("must be a ratio \"n/d\" with 0 <= n <= d and d > 0 (or 0 or 1), got ",
                           shown));
  }

  // The sub-table `key`; a missing one reads as empty (every field keeps its default).
  Section Sub(std::string_view key) {
    const toml::node* node = Take(key);
    if (node == nullptr) return Section(ctx_, nullptr, Field(key), line_);
    if (!node->is_table()) {
      TypeError(*node, key, "a table");
      return Section(ctx_, nullptr, Field(key), line_);
    }
    return Section(ctx_, node->as_table(), Field(key), LineOf(node->source()));
  }

  const toml::table* table() const { return table_; }
  ParseContext& ctx() { return ctx_; }
  uint32_t line() const { return line_; }

  void Finish() {
    if (table_ == nullptr) return;
    const toml::key* first_unknown = nullptr;
    for (const auto& [key, node] : *table_) {
      if (std::find(used_.begin(), used_.end(), key.str()) != used_.end()) continue;
      if (first_unknown == nullptr ||
          key.source().begin.line < first_unknown->source().begin.line) {
        first_unknown = &key;
      }
    }
    if (first_unknown != nullptr) {
      ctx_.Fail(LineOf(first_unknown->source()), Field(first_unknown->str()), "unknown key");
    }
  }

  void TypeError(const toml::node& node, std::string_view key, std::string_view wanted) {
    ctx_.Fail(LineOf(node.source()), Field(key),
              absl::StrCat("must be ", A(wanted), ", got ", TypeName(node.type())));
  }

 private:
  ParseContext& ctx_;
  const toml::table* table_;
  std::string path_;
  uint32_t line_;
  std::vector<std::string> used_;
};

// ctest_seeds = [1, 2, 3] or { first = 1, count = 8 }.
void ReadCtestSeeds(Section& root, std::vector<uint64_t>* seeds) {
  const toml::node* node = root.Take("ctest_seeds");
  if (node == nullptr) return;
  if (const toml::array* array = node->as_array()) {
    if (array->size() > kMaxCtestSeeds) {
      root.ctx().Fail(LineOf(node->source()), "ctest_seeds",
                      absl::StrCat("must list 1..", kMaxCtestSeeds, " seeds, got ", array->size()));
      return;
    }
    seeds->clear();
    for (size_t i = 0; i < array->size(); ++i) {
      const toml::node& item = *array->get(i);
      const std::optional<int64_t> value = item.value_exact<int64_t>();
      if (!item.is_integer() || !value || *value < 0) {
        root.ctx().Fail(LineOf(item.source()), absl::StrCat("ctest_seeds[", i, "]"),
                        "must be a non-negative integer");
        return;
      }
      seeds->push_back(static_cast<uint64_t>(*value));
    }
    return;
  }
  if (!node->is_table()) {
    return root.TypeError(*node, "ctest_seeds", "an array of seeds or { first, count }");
  }
  Section range(root.ctx(), node->as_table(), "ctest_seeds", LineOf(node->source()));
  uint64_t first = 0;
  uint32_t count = 0;
  range.Uint("first", &first, /*required=*/true);
  range.Uint("count", &count, /*required=*/true);
  range.Finish();
  if (!root.ctx().status.ok()) return;
  if (count > kMaxCtestSeeds) {
    const toml::node* count_node = range.table()->get("count");
    root.ctx().Fail(LineOf(count_node->source()), "ctest_seeds.count",
                    absl::StrCat("must be 1..", kMaxCtestSeeds, ", got ", count));
    return;
  }
  seeds->clear();
  for (uint32_t i = 0; i < count; ++i) seeds->push_back(first + i);
}

void ReadDeviceFaults(Section section, DeviceFaults* d) {
  section.RatioValue("read_eio", &d->read_eio);
  section.RatioValue("write_eio", &d->write_eio);
  section.Uint("eio_range_start", &d->eio_range_start);
  section.Uint("eio_range_count", &d->eio_range_count);
  section.Uint("eio_at_nth_io", &d->eio_at_nth_io);
  section.RatioValue("latent_read_error", &d->latent_read_error);
  section.Finish();
}

void ReadFaults(Section section, Scenario* s) {
  FaultProfile& f = s->faults;
  section.Bool("swarm", &s->swarm);
  section.Uint("latency_min_ns", &f.latency_min_ns);
  section.Uint("latency_max_ns", &f.latency_max_ns);
  section.RatioValue("reorder", &f.reorder);
  section.Bool("write_cache", &f.write_cache);
  section.Uint("crash_keep_weight", &f.crash_keep_weight);
  section.Uint("crash_drop_weight", &f.crash_drop_weight);
  section.Uint("crash_tear_weight", &f.crash_tear_weight);
  ReadDeviceFaults(section.Sub("origin"), &f.origin);
  ReadDeviceFaults(section.Sub("cow"), &f.cow);
  section.RatioValue("subsector_tear", &f.subsector_tear);
  section.RatioValue("lost_durable_write", &f.lost_durable_write);
  section.RatioValue("misdirected_write", &f.misdirected_write);
  section.RatioValue("corrupted_sector", &f.corrupted_sector);
  section.RatioValue("lying_flush", &f.lying_flush);
  section.RatioValue("store_alloc_fail", &f.store_alloc_fail);
  section.RatioValue("store_chunk_io_fail", &f.store_chunk_io_fail);
  section.Finish();
}

void ReadWorkload(Section section, WorkloadSpec* w) {
  section.Uint("steps_per_cycle", &w->steps_per_cycle);
  section.Uint("cycles", &w->cycles);
  section.Uint("max_in_flight", &w->max_in_flight);
  section.Enum("pattern", kPatternNames, &w->pattern);
  section.Uint("hotspot_chunks", &w->hotspot_chunks);
  section.Uint("hotspot_percent", &w->hotspot_percent);
  section.Uint("think_min_ns", &w->think_min_ns);
  section.Uint("think_max_ns", &w->think_max_ns);
  Section ops = section.Sub("ops");
  ops.Uint("origin_write", &w->ops.origin_write);
  ops.Uint("origin_read", &w->ops.origin_read);
  ops.Uint("snapshot_write", &w->ops.snapshot_write);
  ops.Uint("snapshot_read", &w->ops.snapshot_read);
  ops.Uint("origin_flush", &w->ops.origin_flush);
  ops.Uint("snapshot_flush", &w->ops.snapshot_flush);
  ops.Uint("drain", &w->ops.drain);
  ops.Uint("reload", &w->ops.reload);
  ops.Uint("merge_start", &w->ops.merge_start);
  ops.Uint("merge_interrupt", &w->ops.merge_interrupt);
  ops.Finish();
  Section shapes = section.Sub("shapes");
  shapes.Uint("partial_chunk", &w->shapes.partial_chunk);
  shapes.Uint("whole_chunk", &w->shapes.whole_chunk);
  shapes.Uint("spanning", &w->shapes.spanning);
  shapes.Finish();
  section.Finish();
}

void ReadCrash(Section section, CrashPolicy* c) {
  section.Uint("events_min", &c->events_min);
  section.Uint("events_max", &c->events_max);
  section.Bool("end_with_crash", &c->end_with_crash);
  Section triggers = section.Sub("triggers");
  for (size_t i = 0; i < kNumCrashTriggers; ++i) {
    triggers.Uint(CrashTriggerName(static_cast<CrashTrigger>(i)), &c->trigger_weights[i]);
  }
  triggers.Finish();
  section.Finish();
}

void ReadRoot(Section& root, Scenario* s) {
  root.String("name", &s->name, /*required=*/true);
  root.String("description", &s->description, /*required=*/true);
  root.String("expect", &s->expect);
  ReadCtestSeeds(root, &s->ctest_seeds);

  Section geometry = root.Sub("geometry");
  if (geometry.table() == nullptr && root.ctx().status.ok()) {
    root.ctx().Fail(root.line(), "geometry", "required table is missing");
  }
  Geometry& g = s->geometry;
  geometry.Uint("chunk_sectors", &g.chunk_sectors);
  geometry.Size("origin_size", &g.origin_sectors, /*required=*/true);
  geometry.Size("cow_size", &g.cow_sectors, /*required=*/true);
  geometry.Uint("origin_block_bytes", &g.origin_block_bytes);
  geometry.Uint("cow_block_bytes", &g.cow_block_bytes);
  geometry.Enum("cow_initial", kCowInitialNames, &g.cow_initial);
  geometry.Finish();

  ReadWorkload(root.Sub("workload"), &s->workload);
  ReadFaults(root.Sub("faults"), s);
  ReadCrash(root.Sub("crash"), &s->crash);

  Section store = root.Sub("store");
  store.Bool("skip_metadata_after_load", &s->store.skip_metadata_after_load);
  store.Bool("durable_invalidation", &s->store.durable_invalidation);
  store.Bool("clear_stale_slots_after_load", &s->store.clear_stale_slots_after_load);
  store.Enum("mutation", kStoreMutationNames, &s->store.mutation);
  store.Finish();

  Section target = root.Sub("target");
  target.Bool("full_chunk_write_skips_copy", &s->target.full_chunk_write_skips_copy);
  target.Bool("flush_origin_before_commit_merge", &s->target.flush_origin_before_commit_merge);
  target.Bool("commit_failed_copies", &s->target.commit_failed_copies);
  target.Enum("mutation", kTargetMutationNames, &s->target.mutation);
  target.Finish();
  root.Finish();
}

// The line of the deepest node on `field`'s path that exists ("a.b[2].c" style paths).
uint32_t LineOfField(const toml::table& root, std::string field) {
  while (!field.empty()) {
    const toml::node_view<const toml::node> node = root.at_path(field);
    if (node) return LineOf(node.node()->source());
    const size_t cut = field.find_last_of(".[");
    if (cut == std::string::npos) break;
    field.resize(cut);
  }
  return 1;
}

// ----------------------------------------------------------------------------------------------
// Validation: ranges and relations, field names as the TOML file spells them.

absl::Status ValidateGeometry(const Geometry& g) {
  for (const auto& [field, bytes] : {std::pair{"geometry.origin_block_bytes", g.origin_block_bytes},
                                     std::pair{"geometry.cow_block_bytes", g.cow_block_bytes}}) {
    if (!IsPowerOfTwo(bytes) || bytes < kMinLogicalBlockBytes || bytes > kMaxLogicalBlockBytes) {
      return Invalid(field, absl::StrCat("must be a power of two in ", kMinLogicalBlockBytes, "..",
                                         kMaxLogicalBlockBytes, ", got ", bytes));
    }
  }
  const uint32_t chunk = EffectiveChunkSectors(g);
  const char* error = nullptr;
  if (ValidateChunkSize(chunk, g.origin_block_bytes, g.cow_block_bytes, &error) != 0) {
    return Invalid("geometry.chunk_sectors", absl::StrCat(error, ", got ", chunk));
  }
  if (chunk > kMaxBioSectors) {
    return Invalid("geometry.chunk_sectors",
                   absl::StrCat("must be at most ", kMaxBioSectors,
                                " so that a whole-chunk write is one bio, got ", chunk));
  }
  const uint32_t block = IoBlockSectors(g);
  for (const auto& [field, sectors] : {std::pair{"geometry.origin_size", g.origin_sectors},
                                       std::pair{"geometry.cow_size", g.cow_sectors}}) {
    if (sectors == 0 || sectors > kMaxDeviceSectors) {
      return Invalid(field,
                     absl::StrCat("must be 1..", kMaxDeviceSectors, " sectors, got ", sectors));
    }
    if (sectors % block != 0) {
      return Invalid(field, absl::StrCat("must be a multiple of the logical block (", block,
                                         " sectors), got ", sectors));
    }
  }
  if (g.origin_sectors < chunk) {
    return Invalid("geometry.origin_size", absl::StrCat("must hold at least one chunk (", chunk,
                                                        " sectors), got ", g.origin_sectors));
  }
  const sector_t cow_min = sector_t{3} * chunk;
  if (g.cow_sectors < cow_min) {
    return Invalid("geometry.cow_size",
                   absl::StrCat("must hold the header, one metadata area and one data chunk (",
                                cow_min, " sectors), got ", g.cow_sectors));
  }
  return absl::OkStatus();
}

absl::Status ValidateWorkload(const WorkloadSpec& w) {
  if (auto s = CheckRange("workload.steps_per_cycle", w.steps_per_cycle, 1, kMaxStepsPerCycle);
      !s.ok()) {
    return s;
  }
  if (auto s = CheckRange("workload.cycles", w.cycles, 1, kMaxCycles); !s.ok()) return s;
  if (uint64_t{w.steps_per_cycle + 1} * w.cycles > kMaxStepsPerRun) {
    return Invalid("workload.steps_per_cycle",
                   absl::StrCat("(steps_per_cycle + 1) * cycles must be at most ", kMaxStepsPerRun,
                                ", got ", uint64_t{w.steps_per_cycle + 1} * w.cycles));
  }
  if (auto s = CheckRange("workload.max_in_flight", w.max_in_flight, 1, kMaxInFlightLimit);
      !s.ok()) {
    return s;
  }
  const std::array<std::pair<const char*, uint32_t>, 10> ops = {{
      {"origin_write", w.ops.origin_write},
      {"origin_read", w.ops.origin_read},
      {"snapshot_write", w.ops.snapshot_write},
      {"snapshot_read", w.ops.snapshot_read},
      {"origin_flush", w.ops.origin_flush},
      {"snapshot_flush", w.ops.snapshot_flush},
      {"drain", w.ops.drain},
      {"reload", w.ops.reload},
      {"merge_start", w.ops.merge_start},
      {"merge_interrupt", w.ops.merge_interrupt},
  }};
  uint64_t op_sum = 0;
  for (const auto& [name, weight] : ops) {
    if (auto s = CheckRange(absl::StrCat("workload.ops.", name), weight, 0, kMaxWeight); !s.ok()) {
      return s;
    }
    op_sum += weight;
  }
  if (op_sum == 0) return Invalid("workload.ops", "the weights are all 0");
  if (w.ops.merge_interrupt != 0 && w.ops.merge_start == 0) {
    return Invalid("workload.ops.merge_interrupt",
                   "needs merge_start > 0: an interrupt is only drawn while a merge runs");
  }
  const std::array<std::pair<const char*, uint32_t>, 3> shapes = {{
      {"partial_chunk", w.shapes.partial_chunk},
      {"whole_chunk", w.shapes.whole_chunk},
      {"spanning", w.shapes.spanning},
  }};
  uint64_t shape_sum = 0;
  for (const auto& [name, weight] : shapes) {
    if (auto s = CheckRange(absl::StrCat("workload.shapes.", name), weight, 0, kMaxWeight);
        !s.ok()) {
      return s;
    }
    shape_sum += weight;
  }
  if (shape_sum == 0) return Invalid("workload.shapes", "the weights are all 0");
  if (auto s = CheckRange("workload.hotspot_chunks", w.hotspot_chunks, 1, kMaxDeviceSectors);
      !s.ok()) {
    return s;
  }
  if (auto s = CheckRange("workload.hotspot_percent", w.hotspot_percent, 0, 100); !s.ok()) {
    return s;
  }
  if (auto s = CheckRange("workload.think_max_ns", w.think_max_ns, w.think_min_ns, kMaxThinkNs);
      !s.ok()) {
    return s;
  }
  return absl::OkStatus();
}

absl::Status ValidateCrash(const CrashPolicy& c, uint32_t crash_count) {
  uint64_t sum = 0;
  for (size_t i = 0; i < kNumCrashTriggers; ++i) {
    const std::string field =
        absl::StrCat("crash.triggers.", CrashTriggerName(static_cast<CrashTrigger>(i)));
    if (auto s = CheckRange(field, c.trigger_weights[i], 0, kMaxWeight); !s.ok()) return s;
    sum += c.trigger_weights[i];
  }
  if (sum == 0 && crash_count > 0) {
    return Invalid("crash.triggers",
                   absl::StrCat("the weights are all 0 but the run crashes ", crash_count,
                                " times (set end_with_crash = false and cycles = 1 for none)"));
  }
  return CheckRange("crash.events_max", c.events_max, c.events_min, kMaxCrashEvents);
}

// ----------------------------------------------------------------------------------------------
// Writing TOML.

std::string Quote(std::string_view text) {
  std::ostringstream out;
  out << toml::value<std::string>(std::string(text));
  return out.str();
}

std::string RatioText(Ratio r) { return Quote(absl::StrCat(r.numerator, "/", r.denominator)); }

std::string SizeText(sector_t sectors) {
  for (const SizeUnit& unit : kSizeUnits) {
    if (sectors != 0 && sectors % unit.sectors == 0) {
      return Quote(absl::StrCat(sectors / unit.sectors, A(unit.suffix)));
    }
  }
  return absl::StrCat(sectors);
}

const char* BoolText(bool b) { return b ? "true" : "false"; }

void AppendDeviceFaults(std::string* out, std::string_view name, const DeviceFaults& d) {
  absl::StrAppend(out, "\n[faults.", A(name), "]\n");
  absl::StrAppend(out, "read_eio = ", RatioText(d.read_eio), "\n");
  absl::StrAppend(out, "write_eio = ", RatioText(d.write_eio), "\n");
  absl::StrAppend(out, "eio_range_start = ", d.eio_range_start, "\n");
  absl::StrAppend(out, "eio_range_count = ", d.eio_range_count, "\n");
  absl::StrAppend(out, "eio_at_nth_io = ", d.eio_at_nth_io, "\n");
  absl::StrAppend(out, "latent_read_error = ", RatioText(d.latent_read_error), "\n");
}

}  // namespace

const char* CowInitialName(CowInitial value) {
  return kCowInitialNames[static_cast<size_t>(value)];
}

const char* AccessPatternName(AccessPattern value) {
  return kPatternNames[static_cast<size_t>(value)];
}

uint32_t EffectiveChunkSectors(const Geometry& geometry) {
  if (geometry.chunk_sectors != 0) return geometry.chunk_sectors;
  return std::max<uint32_t>(kDefaultChunkSectors, geometry.cow_block_bytes / kSectorSize);
}

uint32_t IoBlockSectors(const Geometry& geometry) {
  return std::max<uint32_t>(
      1, std::max(geometry.origin_block_bytes, geometry.cow_block_bytes) / kSectorSize);
}

bool operator==(const Scenario& a, const Scenario& b) {
  return ScenarioToToml(a) == ScenarioToToml(b);
}

absl::Status ValidateScenario(const Scenario& s) {
  if (!IsName(s.name, /*allow_dash=*/true, /*allow_underscore=*/false)) {
    return Invalid(
        "name", absl::StrCat("must be lower-case letters, digits and '-', got \"", s.name, "\""));
  }
  if (s.description.empty()) return Invalid("description", "must not be empty");
  if (!IsName(s.expect, /*allow_dash=*/false, /*allow_underscore=*/true)) {
    return Invalid("expect",
                   absl::StrCat("must be \"clean\" or an invariant name, got \"", s.expect, "\""));
  }
  if (s.ctest_seeds.empty() || s.ctest_seeds.size() > kMaxCtestSeeds) {
    return Invalid("ctest_seeds", absl::StrCat("must list 1..", kMaxCtestSeeds, " seeds, got ",
                                               s.ctest_seeds.size()));
  }
  if (auto st = ValidateGeometry(s.geometry); !st.ok()) return st;
  if (auto st = ValidateWorkload(s.workload); !st.ok()) return st;
  if (auto st = ValidateCrash(s.crash, s.CrashCount()); !st.ok()) return st;
  if (absl::Status st = Validate(s.faults); !st.ok()) {
    // fault_profile.h names fields "fault_profile.<field>"; a scenario file calls them faults.*.
    std::string message(st.message());
    constexpr std::string_view kTheirs = "fault_profile.";
    if (absl::StartsWith(message, A(kTheirs))) message.replace(0, kTheirs.size(), "faults.");
    return absl::InvalidArgumentError(message);
  }
  return absl::OkStatus();
}

absl::StatusOr<Scenario> ParseScenario(std::string_view toml_text, std::string_view source) {
  toml::table root;
  try {
    root = toml::parse(toml_text, source);
  } catch (const toml::parse_error& error) {
    std::string description(error.description());
    std::replace(description.begin(), description.end(), '\n', ' ');
    return absl::InvalidArgumentError(
        absl::StrCat(A(source), ":", LineOf(error.source()), ": syntax: ", description));
  }
  Scenario scenario;
  ParseContext ctx{std::string(source), absl::OkStatus()};
  Section section(ctx, &root, "", 1);
  ReadRoot(section, &scenario);
  if (!ctx.status.ok()) return ctx.status;
  if (absl::Status st = ValidateScenario(scenario); !st.ok()) {
    const std::string message(st.message());
    const std::string field(message.substr(0, message.find(':')));
    return absl::InvalidArgumentError(
        absl::StrCat(A(source), ":", LineOfField(root, field), ": ", message));
  }
  return scenario;
}

absl::StatusOr<Scenario> LoadScenarioFile(const std::string& path) {
  std::error_code ec;
  const uintmax_t bytes = std::filesystem::file_size(path, ec);
  if (ec) return absl::NotFoundError(absl::StrCat(path, ": cannot read: ", ec.message()));
  if (bytes > kMaxScenarioFileBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": larger than ", kMaxScenarioFileBytes, " bytes"));
  }
  absl::StatusOr<std::string> text = ReadWholeFile(path);
  if (!text.ok()) return text.status();
  absl::StatusOr<Scenario> scenario = ParseScenario(*text, path);
  if (!scenario.ok()) return scenario.status();
  const std::string stem = std::filesystem::path(path).stem().string();
  if (scenario->name != stem) {
    // The name's line: parse succeeded, so re-parsing cannot fail.
    const toml::table root = toml::parse(*text, path);
    return absl::InvalidArgumentError(absl::StrCat(path, ":", LineOfField(root, "name"),
                                                   ": name: must equal the file name \"", stem,
                                                   "\", got \"", scenario->name, "\""));
  }
  scenario->source_file = path;
  return scenario;
}

absl::StatusOr<Scenario> LoadScenarioByName(std::string_view name, const std::string& dir) {
  if (!IsName(name, /*allow_dash=*/true, /*allow_underscore=*/false)) {
    return absl::InvalidArgumentError(absl::StrCat("bad scenario name \"", A(name), "\""));
  }
  const std::string path = (std::filesystem::path(dir) / absl::StrCat(A(name), ".toml")).string();
  if (!std::filesystem::exists(path)) {
    return absl::NotFoundError(absl::StrCat("no scenario \"", A(name), "\" in ", dir));
  }
  return LoadScenarioFile(path);
}

absl::StatusOr<std::vector<Scenario>> ListScenarios(const std::string& dir) {
  std::error_code ec;
  std::vector<std::string> paths;
  for (std::filesystem::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->path().extension() != ".toml") continue;
    if (paths.size() == kMaxScenarioFiles) {
      return absl::InvalidArgumentError(
          absl::StrCat(dir, ": more than ", kMaxScenarioFiles, " scenario files"));
    }
    paths.push_back(it->path().string());
  }
  if (ec) return absl::NotFoundError(absl::StrCat(dir, ": cannot list: ", ec.message()));
  std::sort(paths.begin(), paths.end());  // same stem order as name order
  std::vector<Scenario> scenarios;
  for (const std::string& path : paths) {
    absl::StatusOr<Scenario> scenario = LoadScenarioFile(path);
    if (!scenario.ok()) return scenario.status();
    scenarios.push_back(*std::move(scenario));
  }
  return scenarios;
}

std::string ScenarioToToml(const Scenario& s) {
  std::string out;
  absl::StrAppend(&out, "name = ", Quote(s.name), "\n");
  absl::StrAppend(&out, "description = ", Quote(s.description), "\n");
  absl::StrAppend(&out, "expect = ", Quote(s.expect), "\n");
  absl::StrAppend(&out, "ctest_seeds = [");
  for (size_t i = 0; i < s.ctest_seeds.size(); ++i) {
    absl::StrAppend(&out, i ? ", " : "", s.ctest_seeds[i]);
  }
  absl::StrAppend(&out, "]\n");

  const Geometry& g = s.geometry;
  absl::StrAppend(&out, "\n[geometry]\n");
  absl::StrAppend(&out, "chunk_sectors = ", g.chunk_sectors, "\n");
  absl::StrAppend(&out, "origin_size = ", SizeText(g.origin_sectors), "\n");
  absl::StrAppend(&out, "cow_size = ", SizeText(g.cow_sectors), "\n");
  absl::StrAppend(&out, "origin_block_bytes = ", g.origin_block_bytes, "\n");
  absl::StrAppend(&out, "cow_block_bytes = ", g.cow_block_bytes, "\n");
  absl::StrAppend(&out, "cow_initial = ", Quote(CowInitialName(g.cow_initial)), "\n");

  const WorkloadSpec& w = s.workload;
  absl::StrAppend(&out, "\n[workload]\n");
  absl::StrAppend(&out, "steps_per_cycle = ", w.steps_per_cycle, "\n");
  absl::StrAppend(&out, "cycles = ", w.cycles, "\n");
  absl::StrAppend(&out, "max_in_flight = ", w.max_in_flight, "\n");
  absl::StrAppend(&out, "pattern = ", Quote(AccessPatternName(w.pattern)), "\n");
  absl::StrAppend(&out, "hotspot_chunks = ", w.hotspot_chunks, "\n");
  absl::StrAppend(&out, "hotspot_percent = ", w.hotspot_percent, "\n");
  absl::StrAppend(&out, "think_min_ns = ", w.think_min_ns, "\n");
  absl::StrAppend(&out, "think_max_ns = ", w.think_max_ns, "\n");
  absl::StrAppend(&out, "\n[workload.ops]\n");
  absl::StrAppend(&out, "origin_write = ", w.ops.origin_write, "\n");
  absl::StrAppend(&out, "origin_read = ", w.ops.origin_read, "\n");
  absl::StrAppend(&out, "snapshot_write = ", w.ops.snapshot_write, "\n");
  absl::StrAppend(&out, "snapshot_read = ", w.ops.snapshot_read, "\n");
  absl::StrAppend(&out, "origin_flush = ", w.ops.origin_flush, "\n");
  absl::StrAppend(&out, "snapshot_flush = ", w.ops.snapshot_flush, "\n");
  absl::StrAppend(&out, "drain = ", w.ops.drain, "\n");
  absl::StrAppend(&out, "reload = ", w.ops.reload, "\n");
  absl::StrAppend(&out, "merge_start = ", w.ops.merge_start, "\n");
  absl::StrAppend(&out, "merge_interrupt = ", w.ops.merge_interrupt, "\n");
  absl::StrAppend(&out, "\n[workload.shapes]\n");
  absl::StrAppend(&out, "partial_chunk = ", w.shapes.partial_chunk, "\n");
  absl::StrAppend(&out, "whole_chunk = ", w.shapes.whole_chunk, "\n");
  absl::StrAppend(&out, "spanning = ", w.shapes.spanning, "\n");

  const FaultProfile& f = s.faults;
  absl::StrAppend(&out, "\n[faults]\n");
  absl::StrAppend(&out, "swarm = ", BoolText(s.swarm), "\n");
  absl::StrAppend(&out, "latency_min_ns = ", f.latency_min_ns, "\n");
  absl::StrAppend(&out, "latency_max_ns = ", f.latency_max_ns, "\n");
  absl::StrAppend(&out, "reorder = ", RatioText(f.reorder), "\n");
  absl::StrAppend(&out, "write_cache = ", BoolText(f.write_cache), "\n");
  absl::StrAppend(&out, "crash_keep_weight = ", f.crash_keep_weight, "\n");
  absl::StrAppend(&out, "crash_drop_weight = ", f.crash_drop_weight, "\n");
  absl::StrAppend(&out, "crash_tear_weight = ", f.crash_tear_weight, "\n");
  absl::StrAppend(&out, "subsector_tear = ", RatioText(f.subsector_tear), "\n");
  absl::StrAppend(&out, "lost_durable_write = ", RatioText(f.lost_durable_write), "\n");
  absl::StrAppend(&out, "misdirected_write = ", RatioText(f.misdirected_write), "\n");
  absl::StrAppend(&out, "corrupted_sector = ", RatioText(f.corrupted_sector), "\n");
  absl::StrAppend(&out, "lying_flush = ", RatioText(f.lying_flush), "\n");
  absl::StrAppend(&out, "store_alloc_fail = ", RatioText(f.store_alloc_fail), "\n");
  absl::StrAppend(&out, "store_chunk_io_fail = ", RatioText(f.store_chunk_io_fail), "\n");
  AppendDeviceFaults(&out, "origin", f.origin);
  AppendDeviceFaults(&out, "cow", f.cow);

  const CrashPolicy& c = s.crash;
  absl::StrAppend(&out, "\n[crash]\n");
  absl::StrAppend(&out, "events_min = ", c.events_min, "\n");
  absl::StrAppend(&out, "events_max = ", c.events_max, "\n");
  absl::StrAppend(&out, "end_with_crash = ", BoolText(c.end_with_crash), "\n");
  absl::StrAppend(&out, "\n[crash.triggers]\n");
  for (size_t i = 0; i < kNumCrashTriggers; ++i) {
    absl::StrAppend(&out, CrashTriggerName(static_cast<CrashTrigger>(i)), " = ",
                    c.trigger_weights[i], "\n");
  }

  absl::StrAppend(&out, "\n[store]\n");
  absl::StrAppend(&out, "skip_metadata_after_load = ", BoolText(s.store.skip_metadata_after_load),
                  "\n");
  absl::StrAppend(&out, "durable_invalidation = ", BoolText(s.store.durable_invalidation), "\n");
  absl::StrAppend(&out,
                  "clear_stale_slots_after_load = ", BoolText(s.store.clear_stale_slots_after_load),
                  "\n");
  absl::StrAppend(
      &out, "mutation = ", Quote(kStoreMutationNames[static_cast<size_t>(s.store.mutation)]), "\n");

  absl::StrAppend(&out, "\n[target]\n");
  absl::StrAppend(
      &out, "full_chunk_write_skips_copy = ", BoolText(s.target.full_chunk_write_skips_copy), "\n");
  absl::StrAppend(&out, "flush_origin_before_commit_merge = ",
                  BoolText(s.target.flush_origin_before_commit_merge), "\n");
  absl::StrAppend(&out, "commit_failed_copies = ", BoolText(s.target.commit_failed_copies), "\n");
  absl::StrAppend(&out, "mutation = ",
                  Quote(kTargetMutationNames[static_cast<size_t>(s.target.mutation)]), "\n");
  return out;
}

std::string DefaultScenarioDir() {
  const char* env = std::getenv("SNAPSIM_SCENARIO_DIR");
  if (env != nullptr && env[0] != '\0') return env;
  return SNAPSIM_SCENARIO_DIR;
}

void ApplyCorrectedOptions(Scenario& scenario) {
  scenario.store.skip_metadata_after_load = true;
  scenario.store.durable_invalidation = true;
  scenario.store.clear_stale_slots_after_load = true;
  scenario.target.flush_origin_before_commit_merge = true;
  scenario.target.commit_failed_copies = true;
}

}  // namespace snapsim
