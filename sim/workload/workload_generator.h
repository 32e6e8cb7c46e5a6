// SPDX-License-Identifier: GPL-2.0-only
//
// The workload generator: (scenario, the run's workload Prng stream) -> the run's steps.
//
// Contract (tests/workload_generator_test.cc checks each rule):
//  - Deterministic: the same scenario and the same Prng state give the same steps; only `prng`
//    is drawn from, with integer helpers only.
//  - The run is `workload.cycles` cycles of `workload.steps_per_cycle` steps. Every cycle ends
//    with one kCrash step, except the last when crash.end_with_crash is false. No other step is
//    a kCrash. The trigger is drawn by crash.trigger_weights; a kAfterEvents crash carries a
//    count drawn from [events_min, events_max], other triggers carry 0.
//  - Reads and writes, on the origin and on the snapshot (both as long as the origin), are
//    non-empty, inside the device, at most kMaxBioSectors long, and sector and count are
//    multiples of the larger logical block in sectors. Shapes, with C the chunk size:
//      partial chunk  inside one chunk and shorter than C (falls back to whole chunk if C is
//                     one logical block);
//      whole chunk    one chunk-aligned chunk (the device's last chunk may be shorter);
//      spanning       crosses at least one chunk boundary (falls back to whole chunk if the
//                     device has a single chunk).
//  - Merge rules: at most one kStartMerge per run (a merge, once started, is resumed by reloads
//    and recoveries, never restarted); kMergeInterrupt only after the kStartMerge. Snapshot
//    writes stay allowed while merging.
//  - Every step's delay_ns is drawn from [think_min_ns, think_max_ns] (nothing is drawn when
//    the range is a single value).
//  - Several snapshots: a kMakeSnapshot step stands just before generated step create_at_step
//    of each further snapshot made after the first (create_at_step > 0), a kRemoveSnapshot step
//    just before generated step remove_at_step; at one index removals come first, then makes,
//    each in snapshot order. The generated steps are drawn as if those steps were not there.
//    Each snapshot read, write and FLUSH goes to a snapshot that exists at its generated step
//    (Step::snapshot: 0 the first, i further snapshot i), drawn uniformly from a stream of its
//    own (Split("snapshot-io")), so the steps themselves are as with one snapshot.
//  - At most kMaxStepsPerRun steps (asserted; ValidateScenario bounds the scenario).
// REQUIRES: ValidateScenario(scenario).ok().
#ifndef SNAPSIM_SIM_WORKLOAD_WORKLOAD_GENERATOR_H_
#define SNAPSIM_SIM_WORKLOAD_WORKLOAD_GENERATOR_H_

#include <vector>

#include "absl/status/status.h"
#include "absl/types/span.h"
#include "sim/workload/scenario.h"
#include "sim/workload/workload.h"
#include "sim/world/prng.h"

namespace snapsim {

std::vector<Step> GenerateWorkload(const Scenario& scenario, Prng& prng);

// Checks hand-written or minimized steps against the scenario's devices: every read and write
// non-empty, inside the origin, at most kMaxBioSectors, aligned to the logical block; at most
// kMaxStepsPerRun steps. OK, or InvalidArgument "steps[i]: <problem>".
absl::Status ValidateSteps(const Scenario& scenario, absl::Span<const Step> steps);

}  // namespace snapsim

#endif  // SNAPSIM_SIM_WORKLOAD_WORKLOAD_GENERATOR_H_
