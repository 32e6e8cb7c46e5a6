// SPDX-License-Identifier: GPL-2.0-only
#include "sim/check/invalidation_cause.h"

#include "absl/strings/str_format.h"
#include "sim/check/invariants.h"

namespace snapsim {

std::optional<InvalidationReason> InvalidationReasonOf(std::string_view kernel_message) {
  if (kernel_message.find("Invalidating snapshot: Unable to allocate exception") !=
      std::string_view::npos) {
    return InvalidationReason::kOutOfSpace;
  }
  if (kernel_message.find("Invalidating snapshot: Error reading/writing") !=
      std::string_view::npos) {
    return InvalidationReason::kIoError;
  }
  return std::nullopt;
}

uint64_t ErrorFaultsFired(const Probes& probes) {
  static constexpr Probe kErrorProbes[] = {
      Probe::kIoReadEio,         Probe::kIoWriteEio, Probe::kIoLatentReadError,
      Probe::kIoNthEio,          Probe::kIoRangeEio, Probe::kFiuAllocArea,
      Probe::kFiuAllocCallbacks, Probe::kFiuChunkIo, Probe::kFiuOther,
  };
  uint64_t fired = 0;
  for (Probe probe : kErrorProbes) fired += probes.count(probe);
  return fired;
}

void CheckInvalidationCause(InvalidationReason reason, const InvalidationEvidence& evidence,
                            Verdicts& verdicts) {
  if (reason == InvalidationReason::kOutOfSpace) {
    if (!evidence.space_rule_applies) return;
    const bool earned = evidence.distinct_chunks_written > evidence.cow_data_chunks;
    verdicts.Tally(invariant::kInvalidationHasCause, earned);
    if (earned) return;
    verdicts.AddFinding(
        invariant::kInvalidationHasCause,
        absl::StrFormat("out of space only after more than %u distinct chunks are written",
                        evidence.cow_data_chunks),
        absl::StrFormat("invalidated as out of space after %u distinct chunks written, with %u "
                        "data chunks on the COW",
                        evidence.distinct_chunks_written, evidence.cow_data_chunks),
        "The store ran out of COW space before the writes could have used it up: space was "
        "leaked (chunks below next_free that no exception holds) or handed out twice.");
    return;
  }
  const bool earned = evidence.error_faults_since_activation > 0;
  verdicts.Tally(invariant::kInvalidationHasCause, earned);
  if (earned) return;
  verdicts.AddFinding(invariant::kInvalidationHasCause,
                      "an I/O-error invalidation only after an injected I/O error or allocation "
                      "failure",
                      "invalidated for an I/O error with no fault injected since activation",
                      "The target reported a failed read or write that no device returned: an "
                      "error status was invented or misrouted on the way back.");
}

}  // namespace snapsim
