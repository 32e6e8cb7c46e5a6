// SPDX-License-Identifier: GPL-2.0-only
//
// The signature of a failing run that no catalogued correction explains: what stays the same
// when one bug shows in another scenario, at another chunk, or as a neighbouring invariant.
// It joins the family of the first violated invariant (metadata, data, liveness, assertion,
// runner), the kind of crash point with every number replaced by '#' (a crash step whose trigger
// never came is "crashed when idle", whatever the trigger), and the injected fault
// families that fired (io, beyond, fiu: the crash and scheduler probes fire in every run and
// say nothing). Runs with one signature form one cause, "unexplained-<8 hex digits>".
#ifndef SNAPSIM_SIM_CAMPAIGN_UNEXPLAINED_SIGNATURE_H_
#define SNAPSIM_SIM_CAMPAIGN_UNEXPLAINED_SIGNATURE_H_

#include <string>
#include <string_view>

#include "sim/check/finding.h"

namespace snapsim {

// "metadata", "data", "liveness", "assertion", "runner", or the invariant itself when unknown.
std::string InvariantFamily(std::string_view invariant);

// "area write to chunk 12 queued" -> "area write to chunk # queued".
std::string StripNumbers(std::string_view text);

// REQUIRES: run has a finding. E.g. "data | area write to chunk # queued | io".
std::string UnexplainedSignature(const RunResult& run);

// "unexplained-" + 8 hex digits of a stable (FNV-1a) hash of the signature.
std::string UnexplainedCauseId(std::string_view signature);

}  // namespace snapsim

#endif  // SNAPSIM_SIM_CAMPAIGN_UNEXPLAINED_SIGNATURE_H_
