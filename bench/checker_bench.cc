// SPDX-License-Identifier: GPL-2.0-only
//
// How fast the checker checks: crash states recovered and checked per CPU second, in the
// exhaustive mode (Explore) and in the random mode (RunSeed). Run from a Release build:
//   build-rel/bench/checker_bench --benchmark_counters_tabular=true
// The target is 100,000 crash states per second per core; docs/checker.md has the figures and
// the profile of where the time goes.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "benchmark/benchmark.h"
#include "sim/run/explore.h"
#include "sim/run/explore_workers.h"
#include "sim/run/run.h"
#include "sim/run/simulation.h"
#include "sim/workload/scenario.h"
#include "sim/workload/scenario_toml.h"
#include "sim/world/crash.h"

namespace snapsim {
namespace {

constexpr uint32_t kExploreBound = 20;
// The per-point state limit the figures in README.md and docs/checker.md were taken with (the
// explorer's default was 4,096 then): the same workload, so figures compare across versions.
constexpr uint64_t kBenchMaxStates = 4096;

Scenario LoadCorrected(const std::string& name) {
  absl::StatusOr<Scenario> s = LoadScenarioByName(name, DefaultScenarioDir());
  if (!s.ok()) {
    fprintf(stderr, "%s\n", std::string(s.status().message()).c_str());
    std::abort();
  }
  s->store.skip_metadata_after_load = true;
  s->store.durable_invalidation = true;
  s->target.flush_origin_before_commit_merge = true;
  s->target.commit_failed_copies = true;
  return *s;
}

void ExploreBench(benchmark::State& state, const Scenario& scenario) {
  ExploreOptions options;
  options.bound = kExploreBound;
  options.max_states_per_point = kBenchMaxStates;
  uint64_t checked = 0, enumerated = 0;
  for (auto _ : state) {
    const ExploreResult r = Explore(scenario, options);
    checked += r.states_checked;
    enumerated += r.states_enumerated;
    benchmark::DoNotOptimize(r.findings.size());
  }
  state.counters["states_checked"] = benchmark::Counter(checked, benchmark::Counter::kIsRate);
  state.counters["states_enumerated"] = benchmark::Counter(enumerated, benchmark::Counter::kIsRate);
  state.counters["states_per_explore"] =
      benchmark::Counter(checked, benchmark::Counter::kAvgIterations);
}

// scenarios/explore-small as it is: 2-sector chunks, 32 KiB devices.
void BM_ExploreSmall(benchmark::State& state) {
  ExploreBench(state, LoadCorrected("explore-small"));
}
BENCHMARK(BM_ExploreSmall)->Unit(benchmark::kMillisecond);

// explore-small over worker processes (explore --jobs N), in wall-clock time: the speed-up over
// BM_ExploreSmall/real_time is how the explorer scales with cores.
void BM_ExploreSmallWorkers(benchmark::State& state) {
  const Scenario scenario = LoadCorrected("explore-small");
  ExploreOptions options;
  options.bound = kExploreBound;
  options.max_states_per_point = kBenchMaxStates;
  uint64_t checked = 0;
  for (auto _ : state) {
    absl::StatusOr<ExploreResult> r =
        ExploreInWorkers(scenario, options, static_cast<uint32_t>(state.range(0)));
    if (!r.ok()) {
      state.SkipWithError(std::string(r.status().message()).c_str());
      return;
    }
    checked += r->states_checked;
  }
  state.counters["states_checked"] = benchmark::Counter(checked, benchmark::Counter::kIsRate);
}
BENCHMARK(BM_ExploreSmallWorkers)->Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kMillisecond);

// The memory-speed limit of the same exploration: every crash point replayed and every crash
// state's images built as Explore builds them (SimDevice::RebuildCrashImage, a device's image
// only when its choice changes), then each image read whole once (every sector of the origin and
// the COW folded into a sum) instead of recovered and checked. The ratio of BM_ExploreSmall's
// states_checked to this benchmark's states_read is how the checker compares with looking at
// every byte of every state once (above 1: it looks at fewer, the sectors that can differ).
void BM_ExploreSmallReadImagesOnly(benchmark::State& state) {
  const Scenario scenario = LoadCorrected("explore-small");
  const std::vector<Step> steps = ExploreSteps(scenario, 1);
  uint64_t read = 0, sum = 0;
  std::vector<uint8_t> buffer;
  auto read_once = [&](const DurableMedium& image) {
    buffer.resize(image.size_sectors() * kSectorSize);
    image.Read(0, image.size_sectors(), buffer.data());
    for (size_t i = 0; i < buffer.size(); i += 8) sum += buffer[i];
  };
  for (auto _ : state) {
    for (uint32_t point = 1; point <= kExploreBound; ++point) {
      RunOptions options;
      options.crash_at_completion = point;
      options.on_crash_point = [&](CrashPointContext& context) {
        const std::vector<CachedWrite> origin_writes = context.origin->NonDurableWrites();
        const std::vector<CachedWrite> cow_writes = context.cows[0]->NonDurableWrites();
        // As Explore: with tears if the point stays within the state limit, else without, else
        // the point is skipped.
        bool tears = true;
        auto fits = [&](bool with_tears) {
          const uint64_t a = CrashEnumerator(origin_writes, with_tears).count();
          const uint64_t b = CrashEnumerator(cow_writes, with_tears).count();
          return a != 0 && b != 0 && a <= kBenchMaxStates / b;
        };
        if (!fits(tears)) tears = false;
        if (!fits(tears)) return;
        CrashEnumerator origin_enum(origin_writes, tears);
        CrashEnumerator cow_enum(cow_writes, tears);
        DurableMedium origin_image = context.origin->medium();
        DurableMedium cow_image = context.cows[0]->medium();
        const uint64_t states = origin_enum.count() * cow_enum.count();
        for (uint64_t i = 0; i < states; ++i) {
          context.origin->RebuildCrashImage(origin_enum.At(i % origin_enum.count()), origin_image);
          if (i % origin_enum.count() == 0) {
            context.cows[0]->RebuildCrashImage(cow_enum.At(i / origin_enum.count()), cow_image);
          }
          read_once(origin_image);
          read_once(cow_image);
          ++read;
        }
      };
      RunSteps(scenario, 1, steps, options);
    }
  }
  benchmark::DoNotOptimize(sum);
  state.counters["states_read"] = benchmark::Counter(read, benchmark::Counter::kIsRate);
}
BENCHMARK(BM_ExploreSmallReadImagesOnly)->Unit(benchmark::kMillisecond);

// The reference profile: the same workload on 4 KiB chunks and 256 KiB devices.
void BM_ExploreReference4KiBChunks(benchmark::State& state) {
  Scenario scenario = LoadCorrected("explore-small");
  scenario.geometry.chunk_sectors = 8;
  scenario.geometry.origin_sectors = 512;
  scenario.geometry.cow_sectors = 512;
  ExploreBench(state, scenario);
}
BENCHMARK(BM_ExploreReference4KiBChunks)->Unit(benchmark::kMillisecond);

// Random mode: one seed of scenarios/default per iteration (seeds 1, 2, 3, ...).
void BM_RandomSeedsDefault(benchmark::State& state) {
  const Scenario scenario = LoadCorrected("default");
  uint64_t seed = 0, crash_states = 0, ios = 0;
  for (auto _ : state) {
    const RunResult r = RunSeed(scenario, ++seed);
    crash_states += r.crash_states_checked;
    ios += r.ios;
    benchmark::DoNotOptimize(r.findings.size());
  }
  state.counters["seeds"] = benchmark::Counter(seed, benchmark::Counter::kIsRate);
  state.counters["crash_states"] = benchmark::Counter(crash_states, benchmark::Counter::kIsRate);
  state.counters["ios"] = benchmark::Counter(ios, benchmark::Counter::kIsRate);
}
BENCHMARK(BM_RandomSeedsDefault)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace snapsim
