// SPDX-License-Identifier: GPL-2.0-only
#include "reports/junit_report.h"

#include <algorithm>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "reports/markdown_report.h"
#include "reports/svg.h"

namespace snapsim {
namespace {

struct TestCase {
  std::string name;
  std::string message;  // "" when it passed
  std::string body;     // the failure's text
};

// The failing testcases of one scenario.
std::vector<TestCase> FailuresOf(const CampaignSummary& s, const std::string& scenario) {
  std::vector<TestCase> out;
  for (const Cause& c : s.causes) {
    if (std::find(c.scenarios.begin(), c.scenarios.end(), scenario) == c.scenarios.end()) continue;
    const std::string catalogue =
        c.catalogue_ids.empty() ? "none" : absl::StrJoin(c.catalogue_ids, "+");
    std::string message =
        absl::StrCat(c.known ? "known cause " : "unexplained cause ", c.id,
                     " (catalogue id: ", catalogue, "); replay: ", c.replay_command);
    if (c.correction_was_on) absl::StrAppend(&message, "; correction does not hold");
    std::string body = absl::StrCat(c.title, "\nruns: ", c.runs, " (", c.attributed_runs,
                                    " replayed)\ninvariants: ", absl::StrJoin(c.invariants, ", "),
                                    "\ncontract: ", c.contract, "\nreplay: ", c.replay_command);
    if (!c.upstream.empty()) absl::StrAppend(&body, "\nupstream: ", c.upstream);
    if (!CauseCaseReplay(c).empty()) {
      absl::StrAppend(&body, "\nminimal case: ", CauseCaseText(c),
                      "\nreplay case: ", CauseCaseReplay(c));
    }
    out.push_back({c.id, std::move(message), std::move(body)});
  }
  if (!s.causes.empty()) return out;
  for (const FindingGroup& g : s.findings) {
    if (g.first.scenario != scenario) continue;
    out.push_back(
        {g.id,
         absl::StrCat("finding ", g.id, " (not attributed); replay: ", g.first.replay_command),
         g.first.detail});
  }
  return out;
}

}  // namespace

std::string XmlEscape(std::string_view text) {
  std::string printable;
  for (char c : text) {
    if (static_cast<unsigned char>(c) >= 0x20 || c == '\n' || c == '\t') printable += c;
  }
  return HtmlEscape(printable);  // its five escapes are XML's too
}

std::string RenderJunitReport(const CampaignSummary& s) {
  std::vector<std::pair<std::string, std::vector<TestCase>>> suites;
  size_t tests = 0, failures = 0;
  for (const std::string& scenario : s.config.scenarios) {
    std::vector<TestCase> cases = FailuresOf(s, scenario);
    failures += cases.size();
    auto per = s.scenarios.find(scenario);
    const bool clean = per == s.scenarios.end() || per->second.runs_with_findings == 0;
    if (cases.empty() && clean) cases.push_back({"clean", "", ""});
    tests += cases.size();
    suites.emplace_back(scenario, std::move(cases));
  }
  std::string xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  absl::StrAppend(&xml, "<testsuites name=\"snapsim campaign\" tests=\"", tests, "\" failures=\"",
                  failures, "\">\n");
  for (const auto& [scenario, cases] : suites) {
    const size_t failed = std::count_if(cases.begin(), cases.end(),
                                        [](const TestCase& t) { return !t.message.empty(); });
    auto per = s.scenarios.find(scenario);
    const uint64_t runs = per == s.scenarios.end() ? 0 : per->second.seeds_run;
    absl::StrAppend(&xml, "  <testsuite name=\"", XmlEscape(scenario), "\" tests=\"", cases.size(),
                    "\" failures=\"", failed, "\" errors=\"0\" skipped=\"0\">\n");
    absl::StrAppend(&xml, "    <properties><property name=\"runs\" value=\"", runs,
                    "\"/></properties>\n");
    for (const TestCase& t : cases) {
      absl::StrAppend(&xml, "    <testcase classname=\"snapsim.", XmlEscape(scenario), "\" name=\"",
                      XmlEscape(t.name), "\"");
      if (t.message.empty()) {
        xml += "/>\n";
        continue;
      }
      absl::StrAppend(&xml, ">\n      <failure type=\"finding\" message=\"", XmlEscape(t.message),
                      "\">", XmlEscape(t.body), "</failure>\n    </testcase>\n");
    }
    xml += "  </testsuite>\n";
  }
  xml += "</testsuites>\n";
  return xml;
}

}  // namespace snapsim
