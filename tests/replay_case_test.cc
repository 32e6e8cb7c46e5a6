// SPDX-License-Identifier: GPL-2.0-only
#include "sim/run/replay_case.h"

#include <filesystem>
#include <fstream>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "sim/workload/scenario_toml.h"
#include "sim/workload/workload_generator.h"
#include "tests/support/test_paths.h"

namespace snapsim {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

ReplayCase MinimizedDefault() {
  absl::StatusOr<Scenario> scenario =
      LoadScenarioByName("default", std::string(testing::kSourceDir) + "/scenarios");
  EXPECT_TRUE(scenario.ok()) << scenario.status();
  ReplayCase replay;
  replay.scenario_name = "default";
  replay.scenario = *scenario;
  replay.scenario.source_file.clear();
  replay.seed = 42;
  Prng prng(42);
  replay.steps = GenerateWorkload(replay.scenario, prng);
  replay.steps.resize(20);
  replay.note = "minimized by hand";
  replay.expected_invariant = "no_lost_committed_exception";
  return replay;
}

std::string TempPath(const std::string& file) {
  const std::filesystem::path dir = std::filesystem::path(::testing::TempDir()) / "replay_test" /
                                    ::testing::UnitTest::GetInstance()->current_test_info()->name();
  std::filesystem::create_directories(dir);
  return (dir / file).string();
}

// A small hand-written case; `steps` and `extra` are spliced in as JSON text.
std::string HandWritten(const std::string& steps, const std::string& extra = "") {
  return R"({
  "format_version": 1,
  "scenario_name": "tiny",
  "scenario_toml": "name = \"tiny\"\ndescription = \"d\"\n[geometry]\nchunk_sectors = 8\norigin_size = 64\ncow_size = 64\n",
  "seed": 3,
  "steps": )" +
         steps + extra + "\n}\n";
}

std::string ErrorOf(const std::string& json_text) {
  absl::StatusOr<ReplayCase> c = ParseReplayCase(json_text, "case.json");
  return c.ok() ? "" : std::string(c.status().message());
}

TEST(ReplayCase, JsonRoundTripKeepsEveryField) {
  const ReplayCase original = MinimizedDefault();
  const std::string text = ReplayCaseToJson(original);
  absl::StatusOr<ReplayCase> again = ParseReplayCase(text, "case.json");
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_TRUE(*again == original);
  EXPECT_EQ(again->steps.size(), 20u);
  EXPECT_EQ(again->expected_invariant, "no_lost_committed_exception");
  EXPECT_EQ(ReplayCaseToJson(*again), text);
}

TEST(ReplayCase, FileRoundTrip) {
  const ReplayCase original = MinimizedDefault();
  const std::string path = TempPath("case.json");
  ASSERT_TRUE(SaveReplayCase(original, path).ok());
  absl::StatusOr<ReplayCase> loaded = LoadReplayCase(path);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_TRUE(*loaded == original);
}

TEST(ReplayCase, EmbeddedScenarioReplaysWhateverTheLibrarySays) {
  ReplayCase original = MinimizedDefault();
  original.scenario.workload.cycles = 7;  // differs from scenarios/default.toml
  absl::StatusOr<ReplayCase> again = ParseReplayCase(ReplayCaseToJson(original), "case.json");
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->scenario.workload.cycles, 7u);
}

TEST(ReplayCase, HandWrittenCaseWithScenarioAsOneString) {
  absl::StatusOr<ReplayCase> c = ParseReplayCase(
      HandWritten(R"([{"kind": "origin_write", "sector": 8, "count": 8}, {"kind": "drain"},
                      {"kind": "crash", "trigger": "area_write_completed"}])"),
      "case.json");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->scenario.geometry.origin_sectors, 64u);
  ASSERT_EQ(c->steps.size(), 3u);
  EXPECT_EQ(c->steps[0].kind, StepKind::kOriginWrite);
  EXPECT_EQ(c->steps[0].sector, 8u);
  EXPECT_EQ(c->steps[2].trigger, CrashTrigger::kAreaWriteCompleted);
  EXPECT_EQ(c->note, "");
}

TEST(StepJson, WritesOnlyTheFieldsOfItsKind) {
  Step write{StepKind::kSnapshotWrite, 16, 4, CrashTrigger::kAfterEvents, 0};
  EXPECT_EQ(nlohmann::json(write).dump(), R"({"count":4,"kind":"snapshot_write","sector":16})");
  Step crash{StepKind::kCrash, 0, 12, CrashTrigger::kNextAreaZeroed, 5};
  EXPECT_EQ(nlohmann::json(crash).dump(),
            R"({"count":12,"delay_ns":5,"kind":"crash","trigger":"next_area_zeroed"})");
  EXPECT_EQ(nlohmann::json(Step{StepKind::kReload}).dump(), R"({"kind":"reload"})");
}

TEST(StepNames, EveryKindAndTriggerParsesBackFromItsName) {
  for (size_t i = 0; i < kNumStepKinds; ++i) {
    const StepKind kind = static_cast<StepKind>(i);
    EXPECT_EQ(ParseStepKind(StepKindName(kind)), kind);
  }
  for (size_t i = 0; i < kNumCrashTriggers; ++i) {
    const CrashTrigger trigger = static_cast<CrashTrigger>(i);
    EXPECT_EQ(ParseCrashTrigger(CrashTriggerName(trigger)), trigger);
  }
  EXPECT_EQ(ParseStepKind("write"), std::nullopt);
}

TEST(ReplayCaseErrors, SyntaxErrorNamesTheFile) {
  EXPECT_THAT(ErrorOf("{\"format_version\": 1,"), StartsWith("case.json: syntax: "));
  EXPECT_EQ(ErrorOf("{\n").find('\n'), std::string::npos);
}

// Found by fuzz_replay_case: a number too large for a double threw out of ParseReplayCase (an
// exit 134 of `snapsim run --replay-case`) instead of being a syntax error.
TEST(ReplayCaseErrors, NumberTooLargeIsASyntaxErrorNotAnException) {
  EXPECT_THAT(ErrorOf("33333333333e333333e33csn"), StartsWith("case.json: syntax: "));
  EXPECT_THAT(ErrorOf(R"({"format_version": 1, "seed": 1e999})"),
              StartsWith("case.json: syntax: "));
}

// nlohmann would cast these into the step's integer fields with undefined behaviour (found by
// fuzz_replay_case: fuzz/corpus/replay_case/crash-step-number-not-an-integer.json).
TEST(ReplayCaseErrors, AStepNumberThatIsNotAnIntegerThatFitsNamesTheStepAndField) {
  EXPECT_EQ(
      ErrorOf(HandWritten(
          R"([{"kind": "origin_write", "sector": 0, "count": 15555555555555555555555555}])")),
      "case.json: steps[0]: count: must be a non-negative integer, got 1.5555555555555555e+25");
  EXPECT_EQ(ErrorOf(HandWritten(R"([{"kind": "drain"}, {"kind": "origin_read", "sector": 1.5}])")),
            "case.json: steps[1]: sector: must be a non-negative integer, got 1.5");
  EXPECT_EQ(ErrorOf(HandWritten(R"([{"kind": "origin_read", "sector": -8, "count": 1}])")),
            "case.json: steps[0]: sector: must be a non-negative integer, got -8");
  EXPECT_EQ(ErrorOf(HandWritten(R"([{"kind": "snapshot_create", "snapshot": 4294967296}])")),
            "case.json: steps[0]: snapshot: at most 4294967295, got 4294967296");
}

TEST(ReplayCaseErrors, UnknownTopLevelKey) {
  EXPECT_EQ(ErrorOf(HandWritten("[]", R"(, "notes": "x")")), "case.json: notes: unknown key");
}

TEST(ReplayCaseErrors, MissingRequiredKey) {
  EXPECT_EQ(ErrorOf(R"({"format_version": 1, "scenario_name": "x", "seed": 1, "steps": []})"),
            "case.json: scenario_toml: required key is missing");
}

TEST(ReplayCaseErrors, WrongFormatVersion) {
  std::string text = HandWritten("[]");
  text.replace(text.find("\"format_version\": 1"), 19, "\"format_version\": 2");
  EXPECT_EQ(ErrorOf(text), "case.json: format_version: must be 1, got 2");
}

TEST(ReplayCaseErrors, UnknownStepKindNamesTheStep) {
  EXPECT_EQ(ErrorOf(HandWritten(R"([{"kind": "drain"}, {"kind": "write"}])")),
            "case.json: steps[1]: kind: unknown step kind \"write\"");
  EXPECT_EQ(ErrorOf(HandWritten(R"([{"kind": "crash", "trigger": "soon"}])")),
            "case.json: steps[0]: trigger: unknown crash trigger \"soon\"");
  EXPECT_EQ(ErrorOf(HandWritten(R"([{"kind": "drain", "sectr": 1}])")),
            "case.json: steps[0]: unknown key \"sectr\"");
}

TEST(ReplayCaseErrors, WrongTypeInAStep) {
  EXPECT_EQ(ErrorOf(HandWritten(R"([{"kind": "origin_read", "sector": "eight", "count": 8}])")),
            "case.json: steps[0]: sector: must be a non-negative integer, got \"eight\"");
}

TEST(ReplayCaseErrors, StepOutsideTheDevice) {
  EXPECT_EQ(ErrorOf(HandWritten(R"([{"kind": "origin_read", "sector": 60, "count": 8}])")),
            "case.json: steps[0] (origin_read): sectors 60+8 go past the device end 64");
}

TEST(ReplayCaseErrors, BrokenEmbeddedScenarioNamesItsLineAndField) {
  std::string text = HandWritten("[]");
  text.replace(text.find("cow_size = 64"), 13, "cow_size = 8");
  EXPECT_EQ(ErrorOf(text),
            "case.json (scenario_toml):6: geometry.cow_size: must hold the header, one metadata "
            "area and one data chunk (24 sectors), got 8");
}

TEST(ReplayCaseErrors, ScenarioNameMustMatchTheEmbeddedScenario) {
  std::string text = HandWritten("[]");
  text.replace(text.find("\"scenario_name\": \"tiny\""), 23, "\"scenario_name\": \"big\"");
  EXPECT_EQ(ErrorOf(text),
            "case.json: scenario_name: \"big\" differs from the embedded scenario's \"tiny\"");
}

TEST(ReplayCaseErrors, MissingFileIsNotFound) {
  absl::StatusOr<ReplayCase> c = LoadReplayCase(TempPath("absent.json"));
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(c.status().message()), HasSubstr("absent.json"));
}

TEST(ReplayCase, TraceHashIsOptionalAndRoundTrips) {
  ReplayCase c = MinimizedDefault();
  const std::string without = ReplayCaseToJson(c);
  EXPECT_THAT(without, Not(HasSubstr("trace_hash"))) << "files written before keep their bytes";
  c.trace_hash = 0x0123456789abcdefULL;
  const std::string with = ReplayCaseToJson(c);
  EXPECT_THAT(with, HasSubstr("\"trace_hash\": \"0123456789abcdef\""));
  absl::StatusOr<ReplayCase> again = ParseReplayCase(with, "case.json");
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(*again, c);
  absl::StatusOr<ReplayCase> old = ParseReplayCase(without, "case.json");
  ASSERT_TRUE(old.ok()) << old.status();
  EXPECT_FALSE(old->trace_hash.has_value());
}

TEST(ReplayCaseErrors, TraceHashMustBeSixteenHexDigits) {
  for (const char* bad : {"42", "\"12\"", "\"0123456789abcdeg\""}) {
    EXPECT_EQ(ErrorOf(HandWritten("[]", std::string(",\n  \"trace_hash\": ") + bad)),
              std::string("case.json: trace_hash: must be 16 hex digits in a string, got ") + bad);
  }
}

TEST(ReplayCase, ReplayHashIsCheckedAgainstTheRecordedOne) {
  ReplayCase c = MinimizedDefault();
  EXPECT_TRUE(CheckReplayHash(c, 7, "case.json").ok()) << "nothing recorded: nothing to check";
  c.trace_hash = 7;
  EXPECT_TRUE(CheckReplayHash(c, 7, "case.json").ok());
  absl::Status s = CheckReplayHash(c, 8, "case.json");
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(s.message(), HasSubstr("case.json: replays with trace hash 0000000000000008, not "
                                     "the 0000000000000007 it was written with"));
}

}  // namespace
}  // namespace snapsim
