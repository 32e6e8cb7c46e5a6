// SPDX-License-Identifier: GPL-2.0-only
//
// The invalidation_has_cause invariant. The target invalidates a snapshot for one of two reasons,
// each named in the kernel log, and each must be earned:
// - "Unable to allocate exception": the COW is full. Earned only once the writes through the
//   origin and the snapshot have touched more distinct chunks than the COW has data chunks. Each
//   chunk needs at most one exception, and the space of an exception a crash lost before its
//   commit is handed out again, so a store that fills up sooner leaked or wasted space.
// - "Error reading/writing": an I/O or a commit failed. Earned only when an I/O error or an
//   allocation failure was injected since the snapshot was activated.
// A merge gives chunks back, so the out-of-space rule is not applied once a merge started.
#ifndef SNAPSIM_SIM_CHECK_INVALIDATION_CAUSE_H_
#define SNAPSIM_SIM_CHECK_INVALIDATION_CAUSE_H_

#include <cstdint>
#include <optional>
#include <string_view>

#include "sim/check/verdicts.h"
#include "sim/world/probes.h"

namespace snapsim {

enum class InvalidationReason { kOutOfSpace, kIoError };

// The reason a kernel log line gives for an invalidation, or nullopt for any other line.
std::optional<InvalidationReason> InvalidationReasonOf(std::string_view kernel_message);

// How many injected faults so far could make an I/O or an allocation of the store fail.
uint64_t ErrorFaultsFired(const Probes& probes);

struct InvalidationEvidence {
  // Distinct chunks any write (origin or snapshot) touched since the snapshot was made; an upper
  // bound of the exceptions the snapshot ever needed.
  uint64_t distinct_chunks_written = 0;
  // Data chunks of the COW: neither the header nor a metadata area.
  uint64_t cow_data_chunks = 0;
  // False once a merge started: merged exceptions free their chunks.
  bool space_rule_applies = true;
  // ErrorFaultsFired since the activation that invalidated.
  uint64_t error_faults_since_activation = 0;
};

// Judges one invalidation: tallies invalidation_has_cause and adds a finding when unearned.
void CheckInvalidationCause(InvalidationReason reason, const InvalidationEvidence& evidence,
                            Verdicts& verdicts);

}  // namespace snapsim

#endif  // SNAPSIM_SIM_CHECK_INVALIDATION_CAUSE_H_
