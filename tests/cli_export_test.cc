// SPDX-License-Identifier: GPL-2.0-only
//
// Runs the built `snapsim export`: the first crash state as image files that `snapsim inspect`
// reads back, and existing images never overwritten.
#include <filesystem>
#include <fstream>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "core/format.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/support/cli_runner.h"
#include "tests/support/fake_campaign.h"

namespace snapsim {
namespace {

namespace fs = std::filesystem;
using testing::CliResult;
using testing::IsOneLine;
using testing::MakeTempDir;
using testing::ReadFileOrEmpty;
using testing::RunSnapsim;

// A scenario without known findings and a seed that crashes.
constexpr const char* kCleanRun = "--scenario steady-origin-writes --seed 3";

TEST(CliExportTest, ExportedCrashStateInspectsWithoutDamage) {
  const std::string out = MakeTempDir("cli_export_round_trip") + "/state";
  CliResult r = RunSnapsim(absl::StrCat("export ", kCleanRun, " --out '", out, "'"));
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  const std::string cow = out + "/cow.img";
  EXPECT_TRUE(absl::StrContains(r.out, absl::StrCat("snapsim inspect ", cow))) << r.out;
  ASSERT_TRUE(fs::exists(out + "/origin.img"));
  ASSERT_TRUE(fs::exists(cow));
  EXPECT_GT(fs::file_size(cow), 0u);

  CliResult inspected = RunSnapsim(absl::StrCat("inspect --json '", cow, "'"));
  EXPECT_EQ(inspected.exit_code, 0) << inspected.out << inspected.err;
  const nlohmann::json j = nlohmann::json::parse(inspected.out);
  const uint32_t magic = j.at("magic").get<uint32_t>();
  EXPECT_TRUE(magic == kSnapMagic || magic == 0) << "magic " << magic;
  EXPECT_TRUE(j.at("damage").empty()) << j.at("damage").dump();
}

TEST(CliExportTest, ExistingImagesAreNeverOverwritten) {
  const std::string out = MakeTempDir("cli_export_existing");
  { std::ofstream(out + "/cow.img") << "precious"; }
  CliResult r = RunSnapsim(absl::StrCat("export ", kCleanRun, " --out '", out, "'"));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(IsOneLine(r.err)) << r.err;
  EXPECT_TRUE(absl::StrContains(r.err, "already exists")) << r.err;
  EXPECT_EQ(ReadFileOrEmpty(out + "/cow.img"), "precious");
  EXPECT_FALSE(fs::exists(out + "/origin.img"));
}

TEST(CliExportTest, MissingOrBadArgumentsExitTwoWithOneLine) {
  const std::string out = MakeTempDir("cli_export_bad") + "/never";
  for (const std::string& args : {
           absl::StrCat("export --seed 3"),
           absl::StrCat("export --out '", out, "'"),
           absl::StrCat("export --seed x --out '", out, "'"),
           absl::StrCat("export --scenario no-such-scenario --seed 3 --out '", out, "'"),
       }) {
    CliResult r = RunSnapsim(args);
    EXPECT_EQ(r.exit_code, 2) << args;
    EXPECT_TRUE(IsOneLine(r.err)) << args << ": " << r.err;
  }
  EXPECT_FALSE(fs::exists(out));
}

}  // namespace
}  // namespace snapsim
