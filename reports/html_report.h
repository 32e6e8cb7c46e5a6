// SPDX-License-Identifier: GPL-2.0-only
//
// index.html: one self-contained page for people: campaign facts, the findings table, charts as
// inline SVG (findings by invariant and by scenario, probes fired, seeds per second over the run)
// and, for each finding with a trace, the timeline of its minimized run.
//
// Contract: no network, no external CSS or JS, no script at all; every string from a summary or
// a trace is HTML-escaped. The page is a pure function of the summary and the trace files it
// names; trace paths that are relative are read relative to `report_dir`.
#ifndef SNAPSIM_REPORTS_HTML_REPORT_H_
#define SNAPSIM_REPORTS_HTML_REPORT_H_

#include <string>

#include "sim/campaign/campaign_summary.h"

namespace snapsim {

std::string RenderHtmlReport(const CampaignSummary& summary, const std::string& report_dir);

}  // namespace snapsim

#endif  // SNAPSIM_REPORTS_HTML_REPORT_H_
