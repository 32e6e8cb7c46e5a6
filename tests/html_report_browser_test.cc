// SPDX-License-Identifier: GPL-2.0-only
//
// Opens index.html in headless Chromium and checks the DOM it builds: the findings rows, the
// inline SVG charts and a cause's timeline render, and hostile text stays text. Chromium is a test
// dependency (scripts/install-deps.sh): without it this test fails, it does not skip.
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "reports/report_files.h"
#include "tests/support/fake_campaign.h"
#include "util/atomic_file.h"

namespace snapsim {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

std::string FindChromium() {
  for (const char* path : {"/usr/bin/chromium", "/usr/bin/chromium-browser"}) {
    if (::access(path, X_OK) == 0) return path;
  }
  return "";
}

// Runs `command` through the shell and returns its standard output.
std::string Capture(const std::string& command, int* exit_status) {
  std::string out;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) {
    *exit_status = -1;
    return out;
  }
  char buffer[65536];
  for (size_t n; (n = fread(buffer, 1, sizeof(buffer), pipe)) > 0;) out.append(buffer, n);
  int status = ::pclose(pipe);
  *exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return out;
}

size_t Count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

TEST(HtmlReportBrowserTest, ChromiumRendersFindingsChartsAndTimeline) {
  std::string chromium = FindChromium();
  ASSERT_FALSE(chromium.empty())
      << "chromium is not installed: run scripts/install-deps.sh (Debian package chromium); "
         "this test needs a real browser and does not skip";
  std::string dir = testing::MakeTempDir("browser");
  ASSERT_TRUE(WriteFileAtomically(dir + "/case.trace.jsonl", testing::kSampleTrace).ok());
  CampaignSummary summary = testing::FakeSummary();
  // One cause with its minimized case; the finding of that cause shares the case and its trace.
  Cause cause;
  cause.id = "next-free-lands-on-metadata-area";
  cause.title = "A reload right after an area fills hands out the next area's chunk";
  cause.known = true;
  cause.runs = 1;
  cause.scenarios = {"a"};
  cause.contract = "within";
  cause.replay_command = "snapsim run --scenario a --seed 4";
  cause.minimized_case = "case.case.json";
  cause.minimized_trace = "case.trace.jsonl";
  cause.minimized_steps = 34;
  summary.causes = {cause};
  summary.findings.front().cause = cause.id;
  summary.findings.front().minimized = cause.minimized_case;
  summary.findings.front().trace = "case.trace.jsonl";
  ASSERT_TRUE(WriteReports(summary, dir).ok());

  std::string profile = testing::MakeTempDir("chromium-profile");
  std::string command =
      absl::StrCat("timeout 120 ", chromium,
                   " --headless --no-sandbox --disable-gpu --disable-quic --no-first-run"
                   " --disable-background-networking --disable-component-update --disable-sync"
                   " --user-data-dir=",
                   profile, " --dump-dom file://", dir, "/index.html 2>/dev/null");
  int status = 0;
  std::string dom = Capture(command, &status);
  std::filesystem::remove_all(profile);
  ASSERT_EQ(status, 0) << "chromium failed: " << command;
  ASSERT_THAT(dom, HasSubstr("<table id=\"findings\">"));
  EXPECT_EQ(Count(dom, "<tr class=\"finding\">"), 3u);
  EXPECT_THAT(dom, HasSubstr("snapsim run --scenario a --seed 4"));
  EXPECT_EQ(Count(dom, "<svg class=\"chart bar-chart\""), 3u);
  EXPECT_EQ(Count(dom, "<svg class=\"chart line-chart\""), 1u);
  EXPECT_THAT(dom, HasSubstr("<polyline"));
  // The shared trace is drawn once, with its cause, above the findings; the cause shows the
  // command that replays its minimal case.
  EXPECT_EQ(Count(dom, "<svg class=\"timeline\""), 1u);
  EXPECT_LT(dom.find("<svg class=\"timeline\""), dom.find("<table id=\"findings\">"));
  EXPECT_THAT(dom, HasSubstr("snapsim run --replay-case case.case.json"));
  EXPECT_THAT(dom,
              HasSubstr("case.case.json (the case of cause next-free-lands-on-metadata-area)"));
  EXPECT_THAT(dom, HasSubstr("class=\"crash\""));
  // The hostile detail is text in the DOM, never an element.
  EXPECT_THAT(dom, HasSubstr("lost &lt;script&gt;alert(\"x\")&lt;/script&gt; &amp; more"));
  EXPECT_THAT(dom, Not(HasSubstr("<script")));
}

}  // namespace
}  // namespace snapsim
