// SPDX-License-Identifier: GPL-2.0-only
#include "sim/workload/scenario_toml.h"

#include <algorithm>
#include <array>
#include <filesystem>
#include <limits>
#include <sstream>
#include <system_error>
#include <type_traits>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "core/named_options.h"
#include "sim/workload/toml_section.h"
#include "sim/world/fault_fields.h"
#include "toml++/toml.h"
#include "util/absl_view.h"
#include "util/atomic_file.h"

namespace snapsim {
namespace {

// Files ListScenarios reads at most.
constexpr size_t kMaxScenarioFiles = 1000;
// Size of a scenario file read at most (they are a few KiB).
constexpr uintmax_t kMaxScenarioFileBytes = 1 << 20;

constexpr std::array<const char*, 6> kStoreMutationNames = {
    "none",          "no_area_flush", "no_next_area_zeroing",
    "overfill_area", "no_area_skip",  "callbacks_before_area_write"};
constexpr std::array<const char*, 3> kTargetMutationNames = {"none", "release_origin_before_commit",
                                                             "recycle_copy_buffer_early"};

// ----------------------------------------------------------------------------------------------
// Reading TOML: Section checks each key's type; ranges and the relations between fields are
// ValidateScenario's job, so there is one place for each rule.

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

// Reads one value by its type (the table rows of fault_fields.h and named_options.h).
void ReadValue(Section& section, std::string_view key, Ratio* out) { section.RatioValue(key, out); }
void ReadValue(Section& section, std::string_view key, bool* out) { section.Bool(key, out); }
template <typename T>
void ReadValue(Section& section, std::string_view key, T* out) {
  section.Uint(key, out);
}

// Every fault knob in table order; a device row reads the sub-table [faults.<device>].
void ReadFaultFields(Section& section, auto& faults) {
  ForEachFaultField(faults, [&](const FaultField& field, auto& value) {
    if constexpr (std::is_same_v<std::remove_reference_t<decltype(value)>, DeviceFaults>) {
      Section device = section.Sub(field.name);
      ReadFaultFields(device, value);
      device.Finish();
    } else {
      ReadValue(section, field.name, &value);
    }
  });
}

void ReadFaults(Section section, Scenario* s) {
  section.Bool("swarm", &s->swarm);
  ReadFaultFields(section, s->faults);
  section.Finish();
}

// The named options of one struct ([store] or [target]), then its mutation.
template <typename Options, typename Mutation, size_t N>
void ReadOptions(Section section, const std::array<const char*, N>& mutation_names,
                 Options* options, Mutation* mutation) {
  for (const NamedOption& option : kNamedOptions) {
    if (bool* field = NamedOptionField(option, *options)) section.Bool(option.name, field);
  }
  section.Enum("mutation", mutation_names, mutation);
  section.Finish();
}

void ReadWorkload(Section section, WorkloadSpec* w) {
  section.Uint("steps_per_cycle", &w->steps_per_cycle);
  section.Uint("cycles", &w->cycles);
  section.Uint("max_in_flight", &w->max_in_flight);
  section.Enum("pattern", kAccessPatternNames, &w->pattern);
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
  section.RatioValue("anywhere", &c->anywhere);
  Section triggers = section.Sub("triggers");
  for (size_t i = 0; i < kNumCrashTriggers; ++i) {
    triggers.Uint(CrashTriggerName(static_cast<CrashTrigger>(i)), &c->trigger_weights[i]);
  }
  triggers.Finish();
  section.Finish();
}

// [[snapshots]]: the further snapshots, each a table of its own.
void ReadFurtherSnapshots(Section& root, std::vector<FurtherSnapshot>* snapshots) {
  const toml::node* node = root.Take("snapshots");
  if (node == nullptr) return;
  const toml::array* array = node->as_array();
  if (array == nullptr || !array->is_array_of_tables()) {
    return root.TypeError(*node, "snapshots", "an array of tables ([[snapshots]])");
  }
  if (array->size() + 1 > kMaxScenarioSnapshots) {
    root.ctx().Fail(LineOf(node->source()), "snapshots",
                    absl::StrCat("at most ", kMaxScenarioSnapshots - 1, " further snapshots (",
                                 kMaxScenarioSnapshots, " in all), got ", array->size()));
    return;
  }
  for (size_t i = 0; i < array->size(); ++i) {
    const toml::table* table = array->get(i)->as_table();
    Section entry(root.ctx(), table, absl::StrCat("snapshots[", i, "]"), LineOf(table->source()));
    FurtherSnapshot snapshot;
    entry.Uint("chunk_sectors", &snapshot.chunk_sectors);
    entry.Size("cow_size", &snapshot.cow_sectors, /*required=*/true);
    entry.Uint("create_at_step", &snapshot.create_at_step);
    entry.Uint("remove_at_step", &snapshot.remove_at_step);
    entry.Finish();
    snapshots->push_back(snapshot);
  }
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
  ReadFurtherSnapshots(root, &s->further_snapshots);

  ReadWorkload(root.Sub("workload"), &s->workload);
  ReadFaults(root.Sub("faults"), s);
  ReadCrash(root.Sub("crash"), &s->crash);

  ReadOptions(root.Sub("store"), kStoreMutationNames, &s->store, &s->store.mutation);
  ReadOptions(root.Sub("target"), kTargetMutationNames, &s->target, &s->target.mutation);
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
// Writing TOML.

// A TOML basic string ("..."), every character that needs it escaped.
std::string BasicString(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\r':
        out += "\\r";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
          absl::StrAppend(&out, absl::StrFormat("\\u%04X", static_cast<unsigned char>(c)));
        } else {
          out += c;
        }
    }
  }
  out += "\"";
  return out;
}

std::string Quote(std::string_view text) {
  std::ostringstream out;
  out << toml::value<std::string>(std::string(text));
  // toml++ writes text with a line break as a multi-line literal string ('''...'''), which
  // cannot hold ''' (found by fuzz_scenario): such text goes out as a basic string instead.
  if (absl::StartsWith(out.str(), "'''") && text.find("'''") != std::string_view::npos) {
    return BasicString(text);
  }
  return out.str();
}

std::string RatioText(Ratio r) { return Quote(absl::StrCat(r.numerator, "/", r.denominator)); }

std::string SizeText(sector_t sectors) {
  for (const SizeUnit& unit : kSizeUnits) {
    if (sectors != 0 && sectors % unit.sectors == 0) {
      return Quote(absl::StrCat(sectors / unit.sectors, AbslView(unit.suffix)));
    }
  }
  return absl::StrCat(sectors);
}

const char* BoolText(bool b) { return b ? "true" : "false"; }

std::string ValueText(Ratio r) { return RatioText(r); }
std::string ValueText(bool b) { return BoolText(b); }
std::string ValueText(uint64_t v) { return absl::StrCat(v); }
std::string ValueText(uint32_t v) { return absl::StrCat(v); }

// The knobs of `faults` in table order; device rows are skipped (TOML wants sub-tables last).
void AppendFaultFields(std::string* out, const auto& faults) {
  ForEachFaultField(faults, [&](const FaultField& field, const auto& value) {
    if constexpr (!std::is_same_v<std::remove_cvref_t<decltype(value)>, DeviceFaults>) {
      absl::StrAppend(out, AbslView(field.name), " = ", ValueText(value), "\n");
    }
  });
}

void AppendFaults(std::string* out, const Scenario& s) {
  absl::StrAppend(out, "\n[faults]\n");
  absl::StrAppend(out, "swarm = ", BoolText(s.swarm), "\n");
  AppendFaultFields(out, s.faults);
  ForEachFaultField(s.faults, [&](const FaultField& field, const auto& value) {
    if constexpr (std::is_same_v<std::remove_cvref_t<decltype(value)>, DeviceFaults>) {
      absl::StrAppend(out, "\n[faults.", AbslView(field.name), "]\n");
      AppendFaultFields(out, value);
    }
  });
}

template <typename Options, size_t N>
void AppendOptions(std::string* out, std::string_view section, Options options,
                   const std::array<const char*, N>& mutation_names, size_t mutation) {
  absl::StrAppend(out, "\n[", AbslView(section), "]\n");
  for (const NamedOption& option : kNamedOptions) {
    if (const bool* field = NamedOptionField(option, options)) {
      absl::StrAppend(out, AbslView(option.name), " = ", BoolText(*field), "\n");
    }
  }
  absl::StrAppend(out, "mutation = ", Quote(mutation_names[mutation]), "\n");
}

}  // namespace

absl::StatusOr<Scenario> ParseScenario(std::string_view toml_text, std::string_view source) {
  toml::table root;
  try {
    root = toml::parse(toml_text, source);
  } catch (const toml::parse_error& error) {
    std::string description(error.description());
    std::replace(description.begin(), description.end(), '\n', ' ');
    return absl::InvalidArgumentError(
        absl::StrCat(AbslView(source), ":", LineOf(error.source()), ": syntax: ", description));
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
        absl::StrCat(AbslView(source), ":", LineOfField(root, field), ": ", message));
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
  if (!IsScenarioName(name)) {
    return absl::InvalidArgumentError(absl::StrCat("bad scenario name \"", AbslView(name), "\""));
  }
  const std::string path =
      (std::filesystem::path(dir) / absl::StrCat(AbslView(name), ".toml")).string();
  if (!std::filesystem::exists(path)) {
    return absl::NotFoundError(absl::StrCat("no scenario \"", AbslView(name), "\" in ", dir));
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

  // Only a scenario that lists further snapshots has the key: the others' text is as before.
  for (const FurtherSnapshot& snapshot : s.further_snapshots) {
    absl::StrAppend(&out, "\n[[snapshots]]\n");
    absl::StrAppend(&out, "chunk_sectors = ", snapshot.chunk_sectors, "\n");
    absl::StrAppend(&out, "cow_size = ", SizeText(snapshot.cow_sectors), "\n");
    absl::StrAppend(&out, "create_at_step = ", snapshot.create_at_step, "\n");
    if (snapshot.remove_at_step != FurtherSnapshot::kNeverRemoved) {
      absl::StrAppend(&out, "remove_at_step = ", snapshot.remove_at_step, "\n");
    }
  }

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

  AppendFaults(&out, s);

  const CrashPolicy& c = s.crash;
  absl::StrAppend(&out, "\n[crash]\n");
  absl::StrAppend(&out, "events_min = ", c.events_min, "\n");
  absl::StrAppend(&out, "events_max = ", c.events_max, "\n");
  absl::StrAppend(&out, "end_with_crash = ", BoolText(c.end_with_crash), "\n");
  absl::StrAppend(&out, "anywhere = '", c.anywhere.numerator, "/", c.anywhere.denominator, "'\n");
  absl::StrAppend(&out, "\n[crash.triggers]\n");
  for (size_t i = 0; i < kNumCrashTriggers; ++i) {
    absl::StrAppend(&out, CrashTriggerName(static_cast<CrashTrigger>(i)), " = ",
                    c.trigger_weights[i], "\n");
  }

  AppendOptions(&out, "store", s.store, kStoreMutationNames, static_cast<size_t>(s.store.mutation));
  AppendOptions(&out, "target", s.target, kTargetMutationNames,
                static_cast<size_t>(s.target.mutation));
  return out;
}

}  // namespace snapsim
