// SPDX-License-Identifier: GPL-2.0-only
//
// junit.xml: one testsuite per scenario, one failing testcase per (scenario, cause) naming the
// cause, its catalogue id and the replay command, one passing testcase per clean scenario; and
// it is well-formed XML (a minimal checker: balanced tags, quoted attributes, known entities).
#include "reports/junit_report.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace snapsim {
namespace {

struct Element {
  std::string name;
  std::string attributes;  // raw text between the name and '>'
};

// The opening tags of `xml` in order, or a problem. Checks nesting and escaping.
std::string CheckXml(const std::string& xml, std::vector<Element>& opened) {
  std::vector<std::string> stack;
  size_t i = xml.rfind("<?xml", 0) == 0 ? xml.find("?>") + 2 : 0;
  while (i < xml.size()) {
    if (xml[i] != '<') {
      if (xml[i] == '>') return "raw '>' in text";
      if (xml[i] == '&') {
        const size_t semi = xml.find(';', i);
        const std::string entity = xml.substr(i, semi - i + 1);
        if (entity != "&amp;" && entity != "&lt;" && entity != "&gt;" && entity != "&quot;" &&
            entity != "&#39;") {
          return "bad entity " + entity;
        }
      }
      ++i;
      continue;
    }
    const size_t end = xml.find('>', i);
    if (end == std::string::npos) return "unterminated tag";
    std::string tag = xml.substr(i + 1, end - i - 1);
    i = end + 1;
    if (tag[0] == '/') {
      if (stack.empty() || stack.back() != tag.substr(1)) return "mismatched </" + tag + ">";
      stack.pop_back();
      continue;
    }
    const bool self_closing = tag.back() == '/';
    if (self_closing) tag.pop_back();
    const size_t space = tag.find(' ');
    Element e{tag.substr(0, space), space == std::string::npos ? "" : tag.substr(space)};
    size_t quotes = 0;
    for (char c : e.attributes) {
      if (c == '<') return "'<' in attributes of " + e.name;
      quotes += c == '"' ? 1 : 0;
    }
    if (quotes % 2 != 0) return "unbalanced quotes in " + e.name;
    opened.push_back(e);
    if (!self_closing) stack.push_back(e.name);
  }
  return stack.empty() ? "" : "unclosed <" + stack.back() + ">";
}

CampaignSummary TwoScenarioSummary() {
  CampaignSummary s;
  s.config.scenarios = {"area-boundary-reload", "default"};
  s.scenarios["area-boundary-reload"] = ScenarioStats{10, 3};
  s.scenarios["default"] = ScenarioStats{10, 0};
  s.runs_with_findings = 3;
  Cause known;
  known.id = "next-free-lands-on-metadata-area";
  known.title = "A reload right after an area fills <hands out> the next area's chunk";
  known.known = true;
  known.catalogue_ids = {known.id};
  known.runs = 2;
  known.scenarios = {"area-boundary-reload"};
  known.invariants = {"table_well_formed"};
  known.contract = "within";
  known.replay_command = "snapsim run --scenario area-boundary-reload --seed 2";
  Cause unexplained = known;
  known.minimized_case = "cases/next-free-lands-on-metadata-area.case.json";
  known.minimized_steps = 34;
  unexplained.id = "unexplained-0123abcd";
  unexplained.known = false;
  unexplained.catalogue_ids.clear();
  unexplained.title = "unexplained: data | no crash | io & fiu";
  unexplained.runs = 1;
  s.causes = {unexplained, known};
  return s;
}

TEST(JunitReportTest, OneSuitePerScenarioOneFailurePerCause) {
  const std::string xml = RenderJunitReport(TwoScenarioSummary());
  std::vector<Element> opened;
  ASSERT_EQ(CheckXml(xml, opened), "") << xml;
  std::vector<std::string> suites, cases;
  size_t failures = 0;
  for (const Element& e : opened) {
    if (e.name == "testsuite") suites.push_back(e.attributes);
    if (e.name == "testcase") cases.push_back(e.attributes);
    if (e.name == "failure") ++failures;
  }
  ASSERT_EQ(suites.size(), 2u);
  EXPECT_NE(suites[0].find("name=\"area-boundary-reload\" tests=\"2\" failures=\"2\""),
            std::string::npos);
  EXPECT_NE(suites[1].find("name=\"default\" tests=\"1\" failures=\"0\""), std::string::npos);
  ASSERT_EQ(cases.size(), 3u);
  EXPECT_NE(cases[2].find("name=\"clean\""), std::string::npos);
  EXPECT_EQ(failures, 2u);
  EXPECT_NE(xml.find("message=\"known cause next-free-lands-on-metadata-area (catalogue id: "
                     "next-free-lands-on-metadata-area); replay: snapsim run --scenario "
                     "area-boundary-reload --seed 2\""),
            std::string::npos);
  EXPECT_NE(xml.find("unexplained cause unexplained-0123abcd (catalogue id: none)"),
            std::string::npos);
  EXPECT_NE(xml.find("replay case: snapsim run --replay-case "
                     "cases/next-free-lands-on-metadata-area.case.json"),
            std::string::npos)
      << "a cause's failure names its minimal case";
  EXPECT_NE(xml.find("&lt;hands out&gt;"), std::string::npos);
  EXPECT_NE(xml.find("io &amp; fiu"), std::string::npos);
}

TEST(JunitReportTest, WithoutAttributionEachFindingGroupFails) {
  CampaignSummary s = TwoScenarioSummary();
  s.causes.clear();
  FindingGroup g;
  g.id = "table_well_formed@area-boundary-reload/within";
  g.first.scenario = "area-boundary-reload";
  g.first.replay_command = "snapsim run --scenario area-boundary-reload --seed 2";
  s.findings.push_back(g);
  const std::string xml = RenderJunitReport(s);
  std::vector<Element> opened;
  ASSERT_EQ(CheckXml(xml, opened), "") << xml;
  EXPECT_NE(xml.find("finding table_well_formed@area-boundary-reload/within (not attributed)"),
            std::string::npos);
}

TEST(JunitReportTest, EscapesAndDropsControlCharacters) {
  EXPECT_EQ(XmlEscape("a<b>&\"'\x01\tz"), "a&lt;b&gt;&amp;&quot;&#39;\tz");
}

}  // namespace
}  // namespace snapsim
