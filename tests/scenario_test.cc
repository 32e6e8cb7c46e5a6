// SPDX-License-Identifier: GPL-2.0-only
#include "sim/workload/scenario.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "sim/workload/scenario_toml.h"
#include "tests/support/test_paths.h"

namespace snapsim {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

std::string LibraryDir() { return std::string(testing::kSourceDir) + "/scenarios"; }

// Writes `text` to <tmp>/<test name>/<stem>.toml and returns the path.
std::string WriteScenario(const std::string& stem, const std::string& text) {
  const ::testing::TestInfo* info = ::testing::UnitTest::GetInstance()->current_test_info();
  const std::filesystem::path dir =
      std::filesystem::path(::testing::TempDir()) / "scenario_test" / info->name();
  std::filesystem::create_directories(dir);
  const std::string path = (dir / (stem + ".toml")).string();
  std::ofstream(path, std::ios::trunc) << text;
  return path;
}

constexpr char kMinimal[] = R"(name = "x"
description = "a test scenario"

[geometry]
origin_size = "1MiB"
cow_size = 1024
)";

// Loads kMinimal with `extra` appended and returns the error message ("" if it loaded).
std::string ErrorWith(const std::string& extra, const std::string& base = kMinimal) {
  const std::string path = WriteScenario("x", base + extra);
  absl::StatusOr<Scenario> s = LoadScenarioFile(path);
  if (s.ok()) return "";
  std::string message(s.status().message());
  // Tests compare from the file name on.
  const size_t cut = message.find("x.toml");
  return cut == std::string::npos ? message : message.substr(cut);
}

TEST(ScenarioLibrary, EveryFileLoadsAndIsNamedAfterItsFile) {
  absl::StatusOr<std::vector<Scenario>> scenarios = ListScenarios(LibraryDir());
  ASSERT_TRUE(scenarios.ok()) << scenarios.status();
  ASSERT_GE(scenarios->size(), 12u);
  for (size_t i = 0; i < scenarios->size(); ++i) {
    const Scenario& s = (*scenarios)[i];
    EXPECT_EQ(std::filesystem::path(s.source_file).stem().string(), s.name);
    if (i > 0) {
      EXPECT_LT((*scenarios)[i - 1].name, s.name) << "sorted by name";
    }
    EXPECT_FALSE(s.description.empty());
  }
}

TEST(ScenarioLibrary, ContainsTheNamedScenarios) {
  for (const char* name :
       {"default", "steady-origin-writes", "writable-snapshot", "many-areas",
        "area-boundary-reload", "overflow-invalidation", "io-errors", "merge-crash",
        "repeated-reloads", "concurrency-burst", "beyond-contract", "garbage-cow"}) {
    absl::StatusOr<Scenario> s = LoadScenarioByName(name, LibraryDir());
    EXPECT_TRUE(s.ok()) << name << ": " << s.status();
  }
}

TEST(ScenarioLibrary, EachFileSurvivesTheTomlRoundTrip) {
  absl::StatusOr<std::vector<Scenario>> scenarios = ListScenarios(LibraryDir());
  ASSERT_TRUE(scenarios.ok()) << scenarios.status();
  for (const Scenario& s : *scenarios) {
    const std::string text = ScenarioToToml(s);
    absl::StatusOr<Scenario> again = ParseScenario(text, "roundtrip.toml");
    ASSERT_TRUE(again.ok()) << s.name << ": " << again.status() << "\n" << text;
    EXPECT_TRUE(*again == s) << s.name;
    EXPECT_EQ(ScenarioToToml(*again), text);
  }
}

// toml++ writes text with a line break as a multi-line literal string, which cannot hold '''
// (fuzz_scenario found a description like this one): such text must still round-trip.
TEST(ScenarioToml, TextWithALineBreakAndThreeQuotesSurvivesTheRoundTrip) {
  absl::StatusOr<Scenario> s = LoadScenarioByName("default", LibraryDir());
  ASSERT_TRUE(s.ok()) << s.status();
  for (const char* text : {"All I/''''''O\naligned", "a'''b\n\"c\"\\d\te", "line\n'''"}) {
    s->description = text;
    const std::string toml = ScenarioToToml(*s);
    absl::StatusOr<Scenario> again = ParseScenario(toml, "roundtrip.toml");
    ASSERT_TRUE(again.ok()) << again.status() << "\n" << toml;
    EXPECT_EQ(again->description, text);
    EXPECT_TRUE(*again == *s);
  }
}

TEST(ScenarioLibrary, BeyondContractScenarioBreaksTheContractAndOthersDoNot) {
  absl::StatusOr<Scenario> beyond = LoadScenarioByName("beyond-contract", LibraryDir());
  absl::StatusOr<Scenario> plain = LoadScenarioByName("default", LibraryDir());
  ASSERT_TRUE(beyond.ok() && plain.ok());
  EXPECT_TRUE(beyond->faults.BreaksContract());
  EXPECT_FALSE(plain->faults.BreaksContract());
}

TEST(ScenarioFile, MinimalFileGetsTheDocumentedDefaults) {
  absl::StatusOr<Scenario> s = LoadScenarioFile(WriteScenario("x", kMinimal));
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->geometry.origin_sectors, 2048u);
  EXPECT_EQ(s->geometry.cow_sectors, 1024u);
  EXPECT_EQ(s->geometry.chunk_sectors, 0u);
  EXPECT_EQ(EffectiveChunkSectors(s->geometry), 32u);
  EXPECT_EQ(s->geometry.origin_block_bytes, 512u);
  EXPECT_EQ(s->geometry.cow_initial, CowInitial::kZero);
  EXPECT_EQ(s->workload.steps_per_cycle, 64u);
  EXPECT_EQ(s->workload.cycles, 2u);
  EXPECT_EQ(s->workload.max_in_flight, 16u);
  EXPECT_EQ(s->workload.pattern, AccessPattern::kRandom);
  EXPECT_EQ(s->workload.ops.merge_start, 0u);
  EXPECT_EQ(s->crash.trigger_weights[0], 1u);
  EXPECT_TRUE(s->crash.end_with_crash);
  EXPECT_FALSE(s->swarm);
  EXPECT_FALSE(s->store.skip_metadata_after_load);
  EXPECT_EQ(s->store.mutation, StoreMutation::kNone);
  EXPECT_EQ(s->target.mutation, TargetMutation::kNone);
  EXPECT_EQ(s->expect, "clean");
  EXPECT_EQ(s->ctest_seeds, (std::vector<uint64_t>{1, 2, 3, 4}));
  EXPECT_EQ(s->faults.latency_min_ns, FaultProfile{}.latency_min_ns);
  EXPECT_EQ(s->CrashCount(), 2u);
}

TEST(ScenarioFile, SizesAcceptHumanUnitsAndPlainSectors) {
  const std::string base = R"(name = "x"
description = "d"
[geometry]
origin_size = "1TiB"
cow_size = "4KiB"
chunk_sectors = 1
)";
  absl::StatusOr<Scenario> s = LoadScenarioFile(WriteScenario("x", base));
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->geometry.origin_sectors, sector_t{1} << 31);
  EXPECT_EQ(s->geometry.cow_sectors, 8u);
}

TEST(ScenarioFile, EveryFieldIsSettable) {
  const std::string text = R"(name = "x"
description = "first line\nsecond line"
expect = "no_lost_committed_exception"
ctest_seeds = [7, 9]
[geometry]
chunk_sectors = 8
origin_size = "2MiB"
cow_size = "1MiB"
origin_block_bytes = 4096
cow_block_bytes = 1024
cow_initial = "garbage"
[workload]
steps_per_cycle = 10
cycles = 4
max_in_flight = 256
pattern = "hotspot"
hotspot_chunks = 3
hotspot_percent = 90
think_min_ns = 5
think_max_ns = 50
[workload.ops]
origin_write = 1
origin_read = 2
snapshot_write = 3
snapshot_read = 4
origin_flush = 5
snapshot_flush = 6
drain = 7
reload = 8
merge_start = 9
merge_interrupt = 10
[workload.shapes]
partial_chunk = 11
whole_chunk = 12
spanning = 13
[faults]
swarm = true
latency_min_ns = 10
latency_max_ns = 20
reorder = "1/3"
write_cache = false
crash_keep_weight = 2
crash_drop_weight = 3
crash_tear_weight = 0
subsector_tear = "1/5"
lost_durable_write = "1/6"
misdirected_write = "1/7"
corrupted_sector = "1/8"
lying_flush = 1
[faults.origin]
read_eio = "1/9"
write_eio = "2/9"
eio_range_start = 16
eio_range_count = 8
eio_at_nth_io = 5
latent_read_error = "3/9"
[faults.cow]
read_eio = 0
[crash]
events_min = 3
events_max = 30
end_with_crash = false
[crash.triggers]
after_events = 1
area_write_submitted = 2
area_write_completed = 3
next_area_zeroed = 4
copy_completed = 5
merge_step = 6
[store]
skip_metadata_after_load = true
durable_invalidation = true
mutation = "no_next_area_zeroing"
[target]
full_chunk_write_skips_copy = true
flush_origin_before_commit_merge = true
commit_failed_copies = true
mutation = "release_origin_before_commit"
)";
  absl::StatusOr<Scenario> s = LoadScenarioFile(WriteScenario("x", text));
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->description, "first line\nsecond line");
  EXPECT_EQ(s->expect, "no_lost_committed_exception");
  EXPECT_EQ(s->ctest_seeds, (std::vector<uint64_t>{7, 9}));
  EXPECT_EQ(s->geometry.origin_block_bytes, 4096u);
  EXPECT_EQ(s->geometry.cow_block_bytes, 1024u);
  EXPECT_EQ(IoBlockSectors(s->geometry), 8u);
  EXPECT_EQ(s->geometry.cow_initial, CowInitial::kGarbage);
  EXPECT_EQ(s->workload.cycles, 4u);
  EXPECT_EQ(s->workload.max_in_flight, 256u);
  EXPECT_EQ(s->workload.pattern, AccessPattern::kHotspot);
  EXPECT_EQ(s->workload.think_max_ns, 50u);
  EXPECT_EQ(s->workload.ops.merge_interrupt, 10u);
  EXPECT_EQ(s->workload.shapes.spanning, 13u);
  EXPECT_TRUE(s->swarm);
  EXPECT_EQ(s->faults.reorder, (Ratio{1, 3}));
  EXPECT_FALSE(s->faults.write_cache);
  EXPECT_EQ(s->faults.crash_drop_weight, 3u);
  EXPECT_EQ(s->faults.lying_flush, kAlways);
  EXPECT_EQ(s->faults.origin.write_eio, (Ratio{2, 9}));
  EXPECT_EQ(s->faults.origin.eio_range_count, 8u);
  EXPECT_EQ(s->faults.origin.eio_at_nth_io, 5u);
  EXPECT_EQ(s->faults.origin.latent_read_error, (Ratio{3, 9}));
  EXPECT_EQ(s->faults.cow.read_eio, kNever);
  EXPECT_EQ(s->crash.trigger_weights[5], 6u);
  EXPECT_EQ(s->crash.events_min, 3u);
  EXPECT_FALSE(s->crash.end_with_crash);
  EXPECT_EQ(s->CrashCount(), 3u);
  EXPECT_TRUE(s->store.skip_metadata_after_load);
  EXPECT_TRUE(s->store.durable_invalidation);
  EXPECT_EQ(s->store.mutation, StoreMutation::kNoNextAreaZeroing);
  EXPECT_TRUE(s->target.full_chunk_write_skips_copy);
  EXPECT_TRUE(s->target.flush_origin_before_commit_merge);
  EXPECT_TRUE(s->target.commit_failed_copies);
  EXPECT_EQ(s->target.mutation, TargetMutation::kReleaseOriginBeforeCommit);

  absl::StatusOr<Scenario> again = ParseScenario(ScenarioToToml(*s), "again.toml");
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_TRUE(*again == *s);
}

TEST(ScenarioFile, CtestSeedsAcceptARange) {
  absl::StatusOr<Scenario> s = LoadScenarioFile(
      WriteScenario("x", std::string("ctest_seeds = { first = 10, count = 3 }\n") + kMinimal));
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->ctest_seeds, (std::vector<uint64_t>{10, 11, 12}));
}

TEST(ScenarioErrors, UnknownKeyNamesFileLineAndField) {
  EXPECT_EQ(ErrorWith("[workload]\ncycles = 2\nmax_inflight = 4\n"),
            "x.toml:9: workload.max_inflight: unknown key");
}

TEST(ScenarioErrors, UnknownTopLevelTableIsAnError) {
  EXPECT_EQ(ErrorWith("[wrkload]\ncycles = 2\n"), "x.toml:7: wrkload: unknown key");
}

TEST(ScenarioErrors, WrongTypeNamesTheExpectedType) {
  EXPECT_EQ(ErrorWith("[workload]\ncycles = \"3\"\n"),
            "x.toml:8: workload.cycles: must be an integer, got a string");
  EXPECT_EQ(ErrorWith("[store]\ndurable_invalidation = 1\n"),
            "x.toml:8: store.durable_invalidation: must be a boolean, got an integer");
  EXPECT_EQ(ErrorWith("", std::string("workload = 3\n") + kMinimal),
            "x.toml:1: workload: must be a table, got an integer");
}

TEST(ScenarioErrors, OutOfRangeGivesTheRangeAndTheValue) {
  EXPECT_EQ(ErrorWith("[workload]\nmax_in_flight = 0\n"),
            "x.toml:8: workload.max_in_flight: must be 1..256, got 0");
  EXPECT_EQ(ErrorWith("[workload]\nmax_in_flight = 257\n"),
            "x.toml:8: workload.max_in_flight: must be 1..256, got 257");
  EXPECT_EQ(ErrorWith("[workload]\nhotspot_percent = 101\n"),
            "x.toml:8: workload.hotspot_percent: must be 0..100, got 101");
  EXPECT_EQ(ErrorWith("[workload]\ncycles = -1\n"),
            "x.toml:8: workload.cycles: must be 0..4294967295, got -1");
}

TEST(ScenarioErrors, BadSizeUnitIsNamed) {
  const std::string base =
      "name = \"x\"\ndescription = \"d\"\n[geometry]\n"
      "origin_size = \"64MB\"\ncow_size = 1024\n";
  EXPECT_EQ(ErrorWith("", base),
            "x.toml:4: geometry.origin_size: bad size \"64MB\": give sectors as an integer or a "
            "string like \"64MiB\" (units KiB, MiB, GiB, TiB)");
}

TEST(ScenarioErrors, BadEnumValueListsTheChoices) {
  EXPECT_EQ(ErrorWith("cow_initial = \"random\"\n"),
            "x.toml:7: geometry.cow_initial: must be one of \"zero\", \"garbage\", got \"random\"");
  EXPECT_EQ(ErrorWith("[store]\nmutation = \"no_flush\"\n"),
            "x.toml:8: store.mutation: must be one of \"none\", \"no_area_flush\", "
            "\"no_next_area_zeroing\", \"overfill_area\", \"no_area_skip\", "
            "\"callbacks_before_area_write\", got \"no_flush\"");
}

TEST(ScenarioErrors, MissingRequiredKeyIsNamed) {
  EXPECT_EQ(ErrorWith("", "name = \"x\"\n[geometry]\norigin_size = 64\ncow_size = 64\n"),
            "x.toml:1: description: required key is missing");
  EXPECT_EQ(ErrorWith("", "name = \"x\"\ndescription = \"d\"\n\n[geometry]\norigin_size = 64\n"),
            "x.toml:4: geometry.cow_size: required key is missing");
  EXPECT_EQ(ErrorWith("", "name = \"x\"\ndescription = \"d\"\n"),
            "x.toml:1: geometry: required table is missing");
}

TEST(ScenarioErrors, TomlSyntaxErrorNamesTheLine) {
  EXPECT_THAT(ErrorWith("[workload\ncycles = 2\n"), StartsWith("x.toml:7: syntax: "));
  EXPECT_THAT(ErrorWith("[workload]\ncycles = = 2\n"), StartsWith("x.toml:8: syntax: "));
}

TEST(ScenarioErrors, ErrorIsOneLine) {
  EXPECT_EQ(ErrorWith("[workload\n").find('\n'), std::string::npos);
}

TEST(ScenarioErrors, NameMustMatchTheFile) {
  const std::string path = WriteScenario("y", kMinimal);
  absl::StatusOr<Scenario> s = LoadScenarioFile(path);
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(std::string(s.status().message()),
              HasSubstr("y.toml:1: name: must equal the file name \"y\", got \"x\""));
}

TEST(ScenarioErrors, ChunkSizeFollowsTheKernelRules) {
  EXPECT_EQ(ErrorWith("chunk_sectors = 3\n"),
            "x.toml:7: geometry.chunk_sectors: Chunk size is not a power of 2, got 3");
  EXPECT_EQ(ErrorWith("chunk_sectors = 4\ncow_block_bytes = 4096\n"),
            "x.toml:7: geometry.chunk_sectors: Chunk size is not a multiple of device blocksize, "
            "got 4");
  EXPECT_EQ(ErrorWith("chunk_sectors = 4096\n"),
            "x.toml:7: geometry.chunk_sectors: must be at most 2048 so that a whole-chunk write "
            "is one bio, got 4096");
}

TEST(ScenarioErrors, BlockSizesMustBeLogicalBlockSizes) {
  EXPECT_EQ(ErrorWith("origin_block_bytes = 1000\n"),
            "x.toml:7: geometry.origin_block_bytes: must be a power of two in 512..4096, got 1000");
}

TEST(ScenarioErrors, CowMustHoldHeaderAreaAndChunk) {
  EXPECT_EQ(ErrorWith("",
                      "name = \"x\"\ndescription = \"d\"\n[geometry]\nchunk_sectors = 8\n"
                      "origin_size = 64\ncow_size = 16\n"),
            "x.toml:6: geometry.cow_size: must hold the header, one metadata area and one data "
            "chunk (24 sectors), got 16");
}

TEST(ScenarioErrors, DeviceSizeMustBeAMultipleOfTheLogicalBlock) {
  EXPECT_EQ(ErrorWith("",
                      "name = \"x\"\ndescription = \"d\"\n[geometry]\norigin_size = 36\n"
                      "cow_size = 1024\norigin_block_bytes = 4096\n"),
            "x.toml:4: geometry.origin_size: must be a multiple of the logical block (8 sectors), "
            "got 36");
}

TEST(ScenarioErrors, BadRatioIsNamed) {
  EXPECT_EQ(ErrorWith("[faults]\nreorder = \"3/2\"\n"),
            "x.toml:8: faults.reorder: must be a ratio \"n/d\" with 0 <= n <= d and d > 0 (or 0 "
            "or 1), got \"3/2\"");
  EXPECT_EQ(ErrorWith("[faults.cow]\nread_eio = 2\n"),
            "x.toml:8: faults.cow.read_eio: must be a ratio \"n/d\" with 0 <= n <= d and d > 0 "
            "(or 0 or 1), got 2");
}

TEST(ScenarioErrors, FaultProfileValidationUsesTheFileFieldNames) {
  EXPECT_EQ(ErrorWith("[faults]\nlatency_min_ns = 100\nlatency_max_ns = 10\n"),
            "x.toml:9: faults.latency_max_ns: 10 is below latency_min_ns 100");
}

TEST(ScenarioErrors, AllZeroWeightsAreRefused) {
  EXPECT_EQ(ErrorWith("[workload.shapes]\npartial_chunk = 0\nwhole_chunk = 0\nspanning = 0\n"),
            "x.toml:7: workload.shapes: the weights are all 0");
  EXPECT_THAT(ErrorWith("[crash.triggers]\nafter_events = 0\n"),
              StartsWith("x.toml:7: crash.triggers: the weights are all 0 but the run crashes 2"));
  EXPECT_EQ(ErrorWith("[workload]\ncycles = 1\n[crash]\nend_with_crash = false\n"
                      "[crash.triggers]\nafter_events = 0\n"),
            "");
}

TEST(ScenarioErrors, MergeInterruptNeedsMergeStart) {
  EXPECT_EQ(ErrorWith("[workload.ops]\nmerge_interrupt = 1\n"),
            "x.toml:8: workload.ops.merge_interrupt: needs merge_start > 0: an interrupt is only "
            "drawn while a merge runs");
}

TEST(ScenarioErrors, CtestSeedsAreBounded) {
  EXPECT_EQ(ErrorWith("", std::string("ctest_seeds = []\n") + kMinimal),
            "x.toml:1: ctest_seeds: must list 1..64 seeds, got 0");
  std::string many = "ctest_seeds = [1";
  for (int i = 0; i < 99; ++i) many += ", 1";
  EXPECT_EQ(ErrorWith("", many + "]\n" + kMinimal),
            "x.toml:1: ctest_seeds: must list 1..64 seeds, got 100");
  EXPECT_EQ(ErrorWith("", std::string("ctest_seeds = { first = 1, count = 65 }\n") + kMinimal),
            "x.toml:1: ctest_seeds.count: must be 1..64, got 65");
  EXPECT_EQ(ErrorWith("", std::string("ctest_seeds = [1, \"2\"]\n") + kMinimal),
            "x.toml:1: ctest_seeds[1]: must be a non-negative integer");
}

TEST(ScenarioErrors, ExpectMustBeAnInvariantName) {
  EXPECT_EQ(ErrorWith("", std::string("expect = \"Clean!\"\n") + kMinimal),
            "x.toml:1: expect: must be \"clean\" or an invariant name, got \"Clean!\"");
}

TEST(ScenarioDir, LoadByNameReportsAMissingScenario) {
  absl::StatusOr<Scenario> s = LoadScenarioByName("no-such-scenario", LibraryDir());
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(s.status().message()), HasSubstr("no scenario \"no-such-scenario\""));
}

TEST(ScenarioDir, ListNamesTheBrokenFile) {
  const std::string good = WriteScenario("x", kMinimal);
  const std::string bad = WriteScenario("y", "name = \"y\"\n[[[\n");
  absl::StatusOr<std::vector<Scenario>> list =
      ListScenarios(std::filesystem::path(good).parent_path().string());
  ASSERT_FALSE(list.ok());
  EXPECT_THAT(std::string(list.status().message()), HasSubstr("y.toml:2: syntax: "));
}

TEST(ScenarioDir, EnvironmentOverridesTheDefaultDirectory) {
  const char* old = std::getenv("SNAPSIM_SCENARIO_DIR");
  const std::string saved = old ? old : "";
  ::unsetenv("SNAPSIM_SCENARIO_DIR");
  EXPECT_EQ(std::filesystem::path(DefaultScenarioDir()), std::filesystem::path(LibraryDir()));
  ::setenv("SNAPSIM_SCENARIO_DIR", "/elsewhere", 1);
  EXPECT_EQ(DefaultScenarioDir(), "/elsewhere");
  if (old) {
    ::setenv("SNAPSIM_SCENARIO_DIR", saved.c_str(), 1);
  } else {
    ::unsetenv("SNAPSIM_SCENARIO_DIR");
  }
}

// ---------------------------------------------------------------------------------------------
// [[snapshots]]: further snapshots of the origin (issue 12).

constexpr char kTwoFurtherSnapshots[] = R"(
[workload]
steps_per_cycle = 10
cycles = 2

[[snapshots]]
chunk_sectors = 8
cow_size = "256KiB"

[[snapshots]]
cow_size = 2048
create_at_step = 3
remove_at_step = 15
)";

TEST(ScenarioSnapshots, AOneSnapshotScenarioHasNoFurtherSnapshotsAndWritesNoSnapshotsKey) {
  absl::StatusOr<Scenario> s = LoadScenarioFile(WriteScenario("x", kMinimal));
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_TRUE(s->further_snapshots.empty());
  EXPECT_EQ(s->SnapshotCount(), 1u);
  EXPECT_EQ(ScenarioToToml(*s).find("snapshots"), std::string::npos);
}

TEST(ScenarioSnapshots, FurtherSnapshotsAreReadInOrderWithTheirDefaults) {
  absl::StatusOr<Scenario> s =
      LoadScenarioFile(WriteScenario("x", std::string(kMinimal) + kTwoFurtherSnapshots));
  ASSERT_TRUE(s.ok()) << s.status();
  ASSERT_EQ(s->further_snapshots.size(), 2u);
  EXPECT_EQ(s->SnapshotCount(), 3u);
  const FurtherSnapshot& first = s->further_snapshots[0];
  EXPECT_EQ(first.chunk_sectors, 8u);
  EXPECT_EQ(first.cow_sectors, 512u);
  EXPECT_EQ(first.create_at_step, 0u);
  EXPECT_EQ(first.remove_at_step, FurtherSnapshot::kNeverRemoved);
  const FurtherSnapshot& second = s->further_snapshots[1];
  EXPECT_EQ(second.chunk_sectors, 0u);
  EXPECT_EQ(EffectiveChunkSectors(second), kDefaultChunkSectors);
  EXPECT_EQ(second.cow_sectors, 2048u);
  EXPECT_EQ(second.create_at_step, 3u);
  EXPECT_EQ(second.remove_at_step, 15u);
}

TEST(ScenarioSnapshots, FurtherSnapshotsSurviveTheTomlRoundTrip) {
  absl::StatusOr<Scenario> s =
      LoadScenarioFile(WriteScenario("x", std::string(kMinimal) + kTwoFurtherSnapshots));
  ASSERT_TRUE(s.ok()) << s.status();
  const std::string text = ScenarioToToml(*s);
  absl::StatusOr<Scenario> again = ParseScenario(text, "roundtrip.toml");
  ASSERT_TRUE(again.ok()) << again.status() << "\n" << text;
  EXPECT_EQ(again->further_snapshots, s->further_snapshots);
  EXPECT_EQ(ScenarioToToml(*again), text);
}

TEST(ScenarioSnapshots, AtMostFourSnapshotsInAll) {
  std::string extra;
  for (int i = 0; i < 4; ++i) extra += "[[snapshots]]\ncow_size = 1024\n";
  EXPECT_EQ(ErrorWith(extra), "x.toml:7: snapshots: at most 3 further snapshots (4 in all), got 4");
}

TEST(ScenarioSnapshots, EachSnapshotIsCheckedAndNamedByItsIndex) {
  EXPECT_EQ(ErrorWith("[[snapshots]]\nchunk_sectors = 8\n"),
            "x.toml:7: snapshots[0].cow_size: required key is missing");
  EXPECT_EQ(ErrorWith("[[snapshots]]\ncow_size = 1024\n[[snapshots]]\ncow_size = 1024\n"
                      "chunk_sectors = 3\n"),
            "x.toml:11: snapshots[1].chunk_sectors: Chunk size is not a power of 2, got 3");
  EXPECT_EQ(ErrorWith("[[snapshots]]\nchunk_sectors = 16\ncow_size = 40\n"),
            "x.toml:9: snapshots[0].cow_size: must be 48..4294967296 sectors (a header, one "
            "metadata area and one data chunk), got 40");
  EXPECT_EQ(ErrorWith("[[snapshots]]\ncow_size = 1024\ncolour = 1\n"),
            "x.toml:9: snapshots[0].colour: unknown key");
  EXPECT_EQ(ErrorWith("", std::string("snapshots = 3\n") + kMinimal),
            "x.toml:1: snapshots: must be an array of tables ([[snapshots]]), got an integer");
}

TEST(ScenarioSnapshots, EachSnapshotIsMadeInsideTheRunAndRemovedAfterItWasMade) {
  // kMinimal's run: 64 steps a cycle, 2 cycles, each ending in a crash: steps 0..129.
  EXPECT_EQ(ErrorWith("[[snapshots]]\ncow_size = 1024\ncreate_at_step = 130\n"),
            "x.toml:9: snapshots[0].create_at_step: must be a step of the run, 0..129, got 130");
  EXPECT_EQ(ErrorWith("[[snapshots]]\ncow_size = 1024\ncreate_at_step = 5\nremove_at_step = 5\n"),
            "x.toml:10: snapshots[0].remove_at_step: must be a step after create_at_step, "
            "6..129, got 5");
  EXPECT_EQ(ErrorWith("[[snapshots]]\ncow_size = 1024\nremove_at_step = 129\n"), "");
}

}  // namespace
}  // namespace snapsim
