// SPDX-License-Identifier: GPL-2.0-only
#include "sim/workload/workload_generator.h"

#include <algorithm>
#include <array>

#include "absl/strings/str_cat.h"
#include "core/bio_split.h"
#include "util/assert.h"

namespace snapsim {
namespace {

// The step kind of each OpWeights field, in the order WeightsOf lists them.
constexpr std::array<StepKind, 10> kOpKinds = {StepKind::kOriginWrite,   StepKind::kOriginRead,
                                               StepKind::kSnapshotWrite, StepKind::kSnapshotRead,
                                               StepKind::kOriginFlush,   StepKind::kSnapshotFlush,
                                               StepKind::kDrain,         StepKind::kReload,
                                               StepKind::kStartMerge,    StepKind::kMergeInterrupt};

enum Shape : size_t { kPartialChunk = 0, kWholeChunk = 1, kSpanning = 2 };

class Generator {
 public:
  Generator(const Scenario& scenario, Prng& prng)
      : scenario_(scenario),
        workload_(scenario.workload),
        prng_(prng),
        chunk_(EffectiveChunkSectors(scenario.geometry)),
        block_(IoBlockSectors(scenario.geometry)),
        end_(scenario.geometry.origin_sectors),
        chunks_((end_ + chunk_ - 1) / chunk_) {
    SNAPSIM_ASSERT(chunk_ % block_ == 0 && end_ % block_ == 0 && chunks_ >= 1);
    if (workload_.pattern == AccessPattern::kHotspot) {
      hot_start_ = prng_.UintLessThan(chunks_);
      hot_chunks_ = std::min<uint64_t>(workload_.hotspot_chunks, chunks_);
    }
  }

  std::vector<Step> Run() {
    const uint32_t crashes = scenario_.CrashCount();
    const size_t total = size_t{workload_.steps_per_cycle} * workload_.cycles + crashes;
    SNAPSIM_ASSERT(total <= kMaxStepsPerRun);
    std::vector<Step> steps;
    steps.reserve(total);
    for (uint32_t cycle = 0; cycle < workload_.cycles; ++cycle) {
      const size_t cycle_start = steps.size();
      for (uint32_t i = 0; i < workload_.steps_per_cycle; ++i) steps.push_back(NextOp());
      if (cycle >= crashes) continue;
      Step crash = CrashStep();
      size_t at = steps.size();  // the cycle's end, unless the crash may land anywhere
      if (prng_.Chance(scenario_.crash.anywhere)) {
        at = cycle_start + prng_.UintInclusive(0, workload_.steps_per_cycle);
      }
      steps.insert(steps.begin() + static_cast<ptrdiff_t>(at), crash);
    }
    SNAPSIM_ASSERT(steps.size() == total);
    return steps;
  }

 private:
  uint64_t Delay() {
    if (workload_.think_max_ns == workload_.think_min_ns) return workload_.think_min_ns;
    return prng_.UintInclusive(workload_.think_min_ns, workload_.think_max_ns);
  }

  Step NextOp() {
    const OpWeights& w = workload_.ops;
    std::array<uint32_t, kOpKinds.size()> weights = {
        w.origin_write,   w.origin_read, w.snapshot_write, w.snapshot_read, w.origin_flush,
        w.snapshot_flush, w.drain,       w.reload,         w.merge_start,   w.merge_interrupt};
    // Merge rules: one start per run; interrupts only once a merge has started.
    if (merge_started_) weights[8] = 0;
    if (!merge_started_) weights[9] = 0;
    uint64_t sum = 0;
    for (uint32_t weight : weights) sum += weight;
    Step step;
    step.kind = sum == 0 ? StepKind::kDrain : kOpKinds[prng_.WeightedIndex(weights)];
    if (step.kind == StepKind::kStartMerge) merge_started_ = true;
    if (IsIo(step.kind)) PlaceIo(&step);
    step.delay_ns = Delay();
    return step;
  }

  Step CrashStep() {
    const CrashPolicy& policy = scenario_.crash;
    Step step;
    step.kind = StepKind::kCrash;
    step.trigger = static_cast<CrashTrigger>(prng_.WeightedIndex(policy.trigger_weights));
    if (step.trigger == CrashTrigger::kAfterEvents) {
      step.count = static_cast<uint32_t>(prng_.UintInclusive(policy.events_min, policy.events_max));
    }
    step.delay_ns = Delay();
    return step;
  }

  // The chunk an I/O starts from, by the access pattern.
  uint64_t PickChunk() {
    switch (workload_.pattern) {
      case AccessPattern::kSequential:
        return cursor_ % chunks_;
      case AccessPattern::kRandom:
        return prng_.UintLessThan(chunks_);
      case AccessPattern::kHotspot:
        if (prng_.Chance(Ratio{workload_.hotspot_percent, 100})) {
          return (hot_start_ + prng_.UintLessThan(hot_chunks_)) % chunks_;
        }
        return prng_.UintLessThan(chunks_);
    }
    SNAPSIM_ASSERT(false && "unknown access pattern");
    return 0;
  }

  // Sectors of chunk b inside the device (the last chunk may be short).
  uint64_t ExtentOf(uint64_t b) const { return std::min<uint64_t>(chunk_, end_ - b * chunk_); }

  void PlaceIo(Step* step) {
    const ShapeWeights& s = workload_.shapes;
    const std::array<uint32_t, 3> weights = {s.partial_chunk, s.whole_chunk, s.spanning};
    Shape shape = static_cast<Shape>(prng_.WeightedIndex(weights));
    uint64_t b = PickChunk();
    const uint64_t blocks_per_chunk = chunk_ / block_;
    if (shape == kPartialChunk && blocks_per_chunk == 1) shape = kWholeChunk;
    if (shape == kSpanning && chunks_ < 2) shape = kWholeChunk;

    sector_t sector = 0;
    uint64_t count = 0;
    switch (shape) {
      case kWholeChunk:
        sector = b * chunk_;
        count = ExtentOf(b);
        break;
      case kPartialChunk: {
        const uint64_t blocks = ExtentOf(b) / block_;
        const uint64_t start = prng_.UintLessThan(blocks);
        // Starting at the chunk's first block, a full chunk must stop one block short.
        const uint64_t max_len = blocks - start - (start == 0 && blocks == blocks_per_chunk);
        const uint64_t len = prng_.UintInclusive(1, max_len);
        sector = b * chunk_ + start * block_;
        count = len * block_;
        break;
      }
      case kSpanning: {
        b = std::min(b, chunks_ - 2);  // chunk b is whole and has a successor
        const sector_t boundary = (b + 1) * chunk_;
        const uint64_t max_blocks = kMaxBioSectors / block_;
        const uint64_t before = prng_.UintInclusive(1, std::min(blocks_per_chunk, max_blocks - 1));
        const uint64_t after_max =
            std::min({2 * blocks_per_chunk, (end_ - boundary) / block_, max_blocks - before});
        const uint64_t after = prng_.UintInclusive(1, after_max);
        sector = boundary - before * block_;
        count = (before + after) * block_;
        break;
      }
    }
    SNAPSIM_ASSERT(count >= 1 && count <= kMaxBioSectors && sector + count <= end_);
    SNAPSIM_ASSERT(sector % block_ == 0 && count % block_ == 0);
    step->sector = sector;
    step->count = static_cast<uint32_t>(count);
    cursor_ = (sector + count - 1) / chunk_ + 1;
  }

  const Scenario& scenario_;
  const WorkloadSpec& workload_;
  Prng& prng_;
  const uint64_t chunk_;   // sectors
  const uint64_t block_;   // sectors, divides chunk_ and end_
  const sector_t end_;     // origin (and snapshot) size in sectors
  const uint64_t chunks_;  // chunks touching the device, the last maybe short
  bool merge_started_ = false;
  uint64_t cursor_ = 0;  // kSequential: next chunk
  uint64_t hot_start_ = 0;
  uint64_t hot_chunks_ = 1;
};

// The further snapshots' make and remove steps, each placed just before the generated step its
// create_at_step / remove_at_step names (0: made with the first snapshot, no step). At one
// index, removals come first, then makes, each in snapshot order.
std::vector<Step> WithSnapshotSteps(const Scenario& scenario, std::vector<Step> generated) {
  if (scenario.further_snapshots.empty()) return generated;
  std::vector<std::vector<Step>> before(generated.size() + 1);
  for (bool make : {false, true}) {
    for (size_t i = 0; i < scenario.further_snapshots.size(); ++i) {
      const FurtherSnapshot& further = scenario.further_snapshots[i];
      const uint32_t at = make ? further.create_at_step : further.remove_at_step;
      if (at == FurtherSnapshot::kNeverRemoved || (make && at == 0)) continue;
      Step step;
      step.kind = make ? StepKind::kMakeSnapshot : StepKind::kRemoveSnapshot;
      step.snapshot = static_cast<uint32_t>(i + 1);
      before[std::min<size_t>(at, generated.size())].push_back(step);
    }
  }
  std::vector<Step> steps;
  for (size_t i = 0; i <= generated.size(); ++i) {
    steps.insert(steps.end(), before[i].begin(), before[i].end());
    if (i < generated.size()) steps.push_back(generated[i]);
  }
  SNAPSIM_ASSERT(steps.size() <= kMaxStepsPerRun);
  return steps;
}

// Several snapshots: each snapshot read, write and FLUSH goes to one of the snapshots that exist
// at its generated step (the first always does), drawn from a stream of its own so that the
// generated steps are the same as without further snapshots.
void ChooseSnapshotsForSnapshotIo(const Scenario& scenario, const Prng& prng,
                                  std::vector<Step>& generated) {
  if (scenario.further_snapshots.empty()) return;
  Prng choice = prng.Split("snapshot-io");
  std::vector<uint32_t> existing;
  for (size_t g = 0; g < generated.size(); ++g) {
    Step& step = generated[g];
    if (step.kind != StepKind::kSnapshotWrite && step.kind != StepKind::kSnapshotRead &&
        step.kind != StepKind::kSnapshotFlush) {
      continue;
    }
    existing.assign(1, 0);
    for (size_t i = 0; i < scenario.further_snapshots.size(); ++i) {
      const FurtherSnapshot& further = scenario.further_snapshots[i];
      const bool made = further.create_at_step <= g;
      const bool removed =
          further.remove_at_step != FurtherSnapshot::kNeverRemoved && further.remove_at_step <= g;
      if (made && !removed) existing.push_back(static_cast<uint32_t>(i + 1));
    }
    step.snapshot = existing[choice.UintLessThan(existing.size())];
  }
}

}  // namespace

std::vector<Step> GenerateWorkload(const Scenario& scenario, Prng& prng) {
  SNAPSIM_ASSERT(ValidateScenario(scenario).ok());
  std::vector<Step> generated = Generator(scenario, prng).Run();
  ChooseSnapshotsForSnapshotIo(scenario, prng, generated);
  return WithSnapshotSteps(scenario, std::move(generated));
}

absl::Status ValidateSteps(const Scenario& scenario, absl::Span<const Step> steps) {
  if (steps.size() > kMaxStepsPerRun) {
    return absl::InvalidArgumentError(
        absl::StrCat("steps: at most ", kMaxStepsPerRun, " steps, got ", steps.size()));
  }
  const sector_t end = scenario.geometry.origin_sectors;
  const uint32_t block = IoBlockSectors(scenario.geometry);
  for (size_t i = 0; i < steps.size(); ++i) {
    const Step& step = steps[i];
    const std::string where = absl::StrCat("steps[", i, "] (", StepKindName(step.kind), ")");
    if (static_cast<size_t>(step.kind) >= kNumStepKinds) {
      return absl::InvalidArgumentError(absl::StrCat("steps[", i, "]: unknown step kind"));
    }
    if (step.kind == StepKind::kCrash && static_cast<size_t>(step.trigger) >= kNumCrashTriggers) {
      return absl::InvalidArgumentError(absl::StrCat(where, ": unknown crash trigger"));
    }
    if ((step.kind == StepKind::kMakeSnapshot || step.kind == StepKind::kRemoveSnapshot) &&
        (step.snapshot == 0 || step.snapshot > scenario.further_snapshots.size())) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ": snapshot must be a further snapshot of the scenario, 1..",
                       scenario.further_snapshots.size(), ", got ", step.snapshot));
    }
    if (TakesSnapshotIndex(step.kind) && !IsSnapshotStep(step.kind) &&
        step.snapshot > scenario.further_snapshots.size()) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ": snapshot must be a snapshot of the scenario, 0..",
                       scenario.further_snapshots.size(), ", got ", step.snapshot));
    }
    if (!TakesSnapshotIndex(step.kind) && step.snapshot != 0) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ": snapshot applies to snapshot steps only, got ", step.snapshot));
    }
    if (!IsIo(step.kind)) continue;
    if (step.count == 0 || step.count > kMaxBioSectors) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ": count must be 1..", kMaxBioSectors, " sectors, got ", step.count));
    }
    if (step.sector >= end || step.count > end - step.sector) {
      return absl::InvalidArgumentError(absl::StrCat(where, ": sectors ", step.sector, "+",
                                                     step.count, " go past the device end ", end));
    }
    if (step.sector % block != 0 || step.count % block != 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          where, ": sector and count must be multiples of the ", block, "-sector logical block"));
    }
  }
  return absl::OkStatus();
}

}  // namespace snapsim
