// SPDX-License-Identifier: GPL-2.0-only
//
// Runs the built `snapsim` binary: the CLI frame (help, version, unknown commands and flags) and
// `snapsim inspect` on kernel-written and crafted images.
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "core/format.h"
#include "core/inspect.h"
#include "core/memory_device.h"
#include "core/sha256.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/support/golden.h"
#include "tests/support/test_paths.h"

namespace snapsim {
namespace {

struct Result {
  int exit_code = -1;
  std::string out;
  std::string err;
};

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

std::string FileSha256(const std::string& path) {
  const std::string bytes = Slurp(path);
  return Sha256Hex(
      absl::MakeConstSpan(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()));
}

std::string Scratch(const std::string& name) {
  return ::testing::TempDir() + "cli_inspect_test_" + std::to_string(getpid()) + "_" + name;
}

// Runs snapsim with `args` (already shell-quoted where needed).
Result RunSnapsim(const std::string& args) {
  const std::string out = Scratch("stdout"), err = Scratch("stderr");
  const std::string command =
      absl::StrCat("'", testing::kSnapsimBinary, "' ", args, " >'", out, "' 2>'", err, "'");
  const int status = std::system(command.c_str());
  Result result;
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  result.out = Slurp(out);
  result.err = Slurp(err);
  ::unlink(out.c_str());
  ::unlink(err.c_str());
  return result;
}

std::string GoldenImage(const std::string& name, const std::string& image) {
  return absl::StrCat(testing::kGoldenImageDir, "/", name, "/", image, ".img");
}

bool IsOneLine(const std::string& text) {
  return !text.empty() && text.back() == '\n' && text.find('\n') == text.size() - 1;
}

// Writes a COW image with a valid header, chunk 8, and the given area-0 entries.
std::string CraftedCow(const std::string& name, const std::vector<DiskException>& entries,
                       uint32_t magic = kSnapMagic) {
  std::vector<uint8_t> bytes(64 * 8 * kSectorSize, 0);
  EncodeHeader(DiskHeader{magic, 1, kSnapshotDiskVersion, 8}, bytes.data());
  for (uint32_t i = 0; i < entries.size(); ++i) {
    EncodeException(bytes.data() + 8 * kSectorSize, i, entries[i]);
  }
  const std::string path = Scratch(name);
  std::ofstream(path, std::ios::binary)
      .write(reinterpret_cast<const char*>(bytes.data()),
             static_cast<std::streamsize>(bytes.size()));
  return path;
}

TEST(CliFrame, HelpListsTheCommands) {
  for (const std::string args : {"--help", "help"}) {
    const Result r = RunSnapsim(args);
    EXPECT_EQ(r.exit_code, 0) << args;
    EXPECT_TRUE(absl::StrContains(r.out, "inspect")) << r.out;
  }
}

TEST(CliFrame, CommandHelpShowsUsageAndFlagsWithDefaults) {
  for (const std::string args : {"inspect --help", "help inspect"}) {
    const Result r = RunSnapsim(args);
    EXPECT_EQ(r.exit_code, 0) << args;
    EXPECT_TRUE(absl::StrContains(r.out, "usage: snapsim inspect COW_IMAGE")) << r.out;
    EXPECT_TRUE(absl::StrContains(r.out, "--chunk-sha256")) << r.out;
    EXPECT_TRUE(absl::StrContains(r.out, "--json  print one JSON object")) << r.out;
    EXPECT_TRUE(absl::StrContains(r.out, "(default: false)")) << r.out;
  }
}

TEST(CliFrame, VersionNamesTheVersionAndCommit) {
  const Result r = RunSnapsim("--version");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_TRUE(absl::StartsWith(r.out, "snapsim 0.")) << r.out;
  EXPECT_TRUE(absl::StrContains(r.out, "(git ")) << r.out;
  // The test build is configured with assertions on, as every campaign build is.
  EXPECT_TRUE(absl::StrContains(r.out, "\nassertions: on\n")) << r.out;
}

TEST(CliFrame, NoCommandIsAUsageError) { EXPECT_EQ(RunSnapsim("").exit_code, 2); }

TEST(CliFrame, UnknownCommandIsAOneLineUsageError) {
  const Result r = RunSnapsim("frobnicate");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(IsOneLine(r.err)) << r.err;
  EXPECT_TRUE(absl::StrContains(r.err, "unknown command 'frobnicate'")) << r.err;
}

TEST(CliInspect, UnknownFlagIsAOneLineUsageError) {
  const Result r = RunSnapsim(absl::StrCat("inspect --bogus '", GoldenImage("a-cs16", "cow"), "'"));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(IsOneLine(r.err)) << r.err;
  EXPECT_TRUE(absl::StrContains(r.err, "unknown flag --bogus")) << r.err;
}

TEST(CliInspect, AbseilsOwnFlagsAreNotInspectFlags) {
  EXPECT_EQ(
      RunSnapsim(absl::StrCat("inspect --helpfull '", GoldenImage("a-cs16", "cow"), "'")).exit_code,
      2);
}

TEST(CliInspect, CleanKernelCowExitsZeroWithAReadableReport) {
  const Result r = RunSnapsim(absl::StrCat("inspect '", GoldenImage("b-multiarea", "cow"), "'"));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(absl::StrContains(r.out, "status              4832/8192 32")) << r.out;
  EXPECT_TRUE(absl::StrContains(r.out, "damage              none")) << r.out;
  EXPECT_TRUE(r.err.empty()) << r.err;
}

TEST(CliInspect, JsonHasTheTableAndStatusInspectComputes) {
  for (const std::string name : {"a-cs16", "b-multiarea", "c-writable", "d-invalid"}) {
    const Result r = RunSnapsim(absl::StrCat("inspect --json '", GoldenImage(name, "cow"), "'"));
    EXPECT_EQ(r.exit_code, 0) << name << r.err;
    const nlohmann::json j = nlohmann::json::parse(r.out, nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << r.out;
    auto golden = testing::LoadGoldenCase(name);
    ASSERT_TRUE(golden.ok());
    auto cow = golden->LoadImage("cow");
    ASSERT_TRUE(cow.ok());
    const InspectReport report = InspectCow(**cow, {.decode_invalid_table = true});
    EXPECT_EQ(j["magic"], kSnapMagic);
    EXPECT_EQ(j["version"], 1);
    EXPECT_EQ(j["chunk_size"], golden->chunk_sectors);
    EXPECT_EQ(j["exceptions_per_area"], golden->exceptions_per_area);
    EXPECT_EQ(j["status"], *testing::FinalSnapshotStatus(*golden)) << name;
    EXPECT_EQ(j["next_free"], report.next_free);
    EXPECT_EQ(j["current_area"], report.current_area);
    EXPECT_TRUE(j["damage"].empty());
    ASSERT_EQ(j["exceptions"].size(), report.exceptions.size());
    for (size_t i = 0; i < report.exceptions.size(); ++i) {
      EXPECT_EQ(j["exceptions"][i][0], report.exceptions[i].old_chunk);
      EXPECT_EQ(j["exceptions"][i][1], report.exceptions[i].new_chunk);
    }
  }
}

TEST(CliInspect, DamagedCowExitsOneAndNamesTheDamage) {
  const std::string path = CraftedCow("twice", {{5, 2}, {5, 3}});
  const Result r = RunSnapsim(absl::StrCat("inspect --json '", path, "'"));
  ::unlink(path.c_str());
  EXPECT_EQ(r.exit_code, 1);
  const nlohmann::json j = nlohmann::json::parse(r.out, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << r.out;
  ASSERT_EQ(j["damage"].size(), 1u);
  EXPECT_EQ(j["damage"][0]["kind"], "origin_chunk_mapped_twice");
  EXPECT_EQ(j["damage"][0]["severity"], "error");
  EXPECT_EQ(j["damage"][0]["where"]["slot"], 1);
}

TEST(CliInspect, BadMagicIsDamageNotUnusableInput) {
  const std::string path = CraftedCow("magic", {}, 0xdeadbeef);
  const Result r = RunSnapsim(absl::StrCat("inspect '", path, "'"));
  ::unlink(path.c_str());
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(absl::StrContains(r.out, "bad_magic")) << r.out;
}

TEST(CliInspect, MissingFileExitsTwoWithOneLineOnStderr) {
  const Result r = RunSnapsim("inspect /nonexistent/cow.img");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err,
            "snapsim inspect: cannot open /nonexistent/cow.img: No such file or directory\n");
  EXPECT_TRUE(r.out.empty());
}

TEST(CliInspect, EmptyFileExitsTwo) {
  const std::string path = Scratch("empty");
  std::ofstream(path).close();
  const Result r = RunSnapsim(absl::StrCat("inspect '", path, "'"));
  ::unlink(path.c_str());
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(IsOneLine(r.err)) << r.err;
}

TEST(CliInspect, WrongNumberOfImagesExitsTwo) {
  EXPECT_EQ(RunSnapsim("inspect").exit_code, 2);
  const std::string cow = GoldenImage("a-cs16", "cow");
  EXPECT_EQ(RunSnapsim(absl::StrCat("inspect '", cow, "' '", cow, "'")).exit_code, 2);
}

TEST(CliInspect, ChunkSha256WithoutOriginExitsTwo) {
  const Result r =
      RunSnapsim(absl::StrCat("inspect --chunk-sha256 '", GoldenImage("a-cs16", "cow"), "'"));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(IsOneLine(r.err)) << r.err;
}

TEST(CliInspect, ChunkSha256PrintsTheSnapshotTheKernelRead) {
  auto golden = testing::LoadGoldenCase("c-writable");
  ASSERT_TRUE(golden.ok());
  const std::vector<std::string> expected = golden->ChunkSha256("snap");
  // Both spellings of the flag name work.
  for (const std::string flag : {"--chunk-sha256", "--chunk_sha256"}) {
    const Result r = RunSnapsim(absl::StrCat("inspect ", flag, " --origin '",
                                             GoldenImage("c-writable", "origin"), "' '",
                                             GoldenImage("c-writable", "cow"), "'"));
    EXPECT_EQ(r.exit_code, 0) << r.err;
    const std::vector<std::string> lines = absl::StrSplit(r.out, '\n', absl::SkipEmpty());
    ASSERT_EQ(lines.size(), expected.size());
    for (size_t chunk = 0; chunk < lines.size(); ++chunk) {
      EXPECT_EQ(lines[chunk], absl::StrCat(chunk, " ", expected[chunk]));
    }
  }
}

TEST(CliInspect, InvalidSnapshotHasNoImageToHash) {
  const Result r = RunSnapsim(absl::StrCat("inspect --chunk-sha256 --origin='",
                                           GoldenImage("d-invalid", "origin"), "' '",
                                           GoldenImage("d-invalid", "cow"), "'"));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(IsOneLine(r.err)) << r.err;
}

// The kernel loads no table of an invalidated snapshot, but its exceptions are still on disk and
// someone recovering data needs them: shown, marked not loaded, the exit status as without them.
TEST(CliInspect, InvalidSnapshotShowsItsTableAsOnDiskNotLoadedByTheKernel) {
  const std::string cow = GoldenImage("d-invalid", "cow");
  const Result json = RunSnapsim(absl::StrCat("inspect --json '", cow, "'"));
  EXPECT_EQ(json.exit_code, 0) << json.err;
  const nlohmann::json j = nlohmann::json::parse(json.out, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << json.out;
  EXPECT_EQ(j["valid"], 0);
  EXPECT_EQ(j["status"], "Invalid");
  EXPECT_EQ(j["loaded"], false);
  auto golden = testing::LoadGoldenCase("d-invalid");
  ASSERT_TRUE(golden.ok());
  auto image = golden->LoadImage("cow");
  ASSERT_TRUE(image.ok());
  const InspectReport loaded = InspectCow(**image);
  EXPECT_TRUE(loaded.exceptions.empty()) << "what the kernel loads";
  const InspectReport on_disk = InspectCow(**image, {.decode_invalid_table = true});
  ASSERT_FALSE(on_disk.exceptions.empty()) << "the golden image has exceptions on disk";
  EXPECT_FALSE(on_disk.table_loaded);
  ASSERT_EQ(j["exceptions"].size(), on_disk.exceptions.size());
  EXPECT_EQ(j["exceptions"][0][0], on_disk.exceptions[0].old_chunk);
  EXPECT_EQ(j["exceptions"][0][1], on_disk.exceptions[0].new_chunk);

  const Result text = RunSnapsim(absl::StrCat("inspect '", cow, "'"));
  EXPECT_EQ(text.exit_code, 0) << text.err;
  EXPECT_TRUE(absl::StrContains(
      text.out, absl::StrCat("exceptions          ", on_disk.exceptions.size(),
                             " in 1 area(s) on disk, not loaded by the kernel (invalid)\n")))
      << text.out;
  EXPECT_TRUE(absl::StrContains(text.out, "status              Invalid\n")) << text.out;

  const Result valid =
      RunSnapsim(absl::StrCat("inspect --json '", GoldenImage("a-cs16", "cow"), "'"));
  EXPECT_EQ(nlohmann::json::parse(valid.out, nullptr, false)["loaded"], true) << valid.out;
}

TEST(CliInspect, ImagesAreUnchangedAfterInspect) {
  const std::string cow = GoldenImage("e-merge-partial", "cow");
  const std::string origin = GoldenImage("e-merge-partial", "origin");
  const std::string cow_before = FileSha256(cow), origin_before = FileSha256(origin);
  EXPECT_EQ(
      RunSnapsim(absl::StrCat("inspect --json --chunk-sha256 --origin '", origin, "' '", cow, "'"))
          .exit_code,
      0);
  EXPECT_EQ(RunSnapsim(absl::StrCat("inspect '", cow, "'")).exit_code, 0);
  EXPECT_EQ(FileSha256(cow), cow_before);
  EXPECT_EQ(FileSha256(origin), origin_before);
}

}  // namespace
}  // namespace snapsim
