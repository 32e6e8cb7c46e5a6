// SPDX-License-Identifier: GPL-2.0-only
#include "sim/run/explore.h"

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "sim/run/run.h"
#include "sim/run/simulation.h"
#include "sim/world/crash.h"
#include "sim/world/prng.h"
#include "util/assert.h"

namespace snapsim {
namespace {

// The bytes a crash state leaves on the sectors the non-durable writes touch, hashed 8 bytes at a
// time: equal keys (with equal write lists) mean equal images, up to a 2^-64 collision per pair.
uint64_t ImageKey(const PageStore& image, const std::vector<CachedWrite>& writes, uint64_t seed) {
  uint64_t hash = seed;
  uint64_t words[kSectorSize / sizeof(uint64_t)];
  for (const CachedWrite& w : writes) {
    for (uint32_t i = 0; i < w.sector_count; ++i) {
      image.Read(w.sector + i, 1, reinterpret_cast<uint8_t*>(words));
      for (uint64_t word : words) {
        hash = (hash ^ word) * 0x9e3779b97f4a7c15ULL;
        hash ^= hash >> 31;
      }
    }
  }
  return Mix64(hash);
}

}  // namespace

std::string ExploreResult::Summary(uint32_t bound) const {
  if (findings.empty()) {
    return absl::StrFormat(
        "all %u crash states up to bound %u hold (%u crash points, %u states enumerated, %u "
        "pruned%s)",
        states_checked, bound, crash_points, states_enumerated, states_pruned,
        points_over_bound > 0
            ? absl::StrFormat(", %u points over the state limit skipped", points_over_bound)
            : std::string());
  }
  std::string names;
  for (const Finding& f : findings) absl::StrAppend(&names, names.empty() ? "" : ", ", f.invariant);
  return absl::StrFormat("%u findings within bound %u: %s", findings.size(), bound, names);
}

namespace {

// The command that explores only this crash state again.
std::string StateReplayCommand(const ExploreOptions& options, uint32_t point, uint64_t state) {
  std::string command = absl::StrCat(options.replay_prefix, " --seed ", options.seed,
                                     " --crash-point ", point, " --state ", state);
  if (!options.tears) absl::StrAppend(&command, " --no-tears");
  if (options.max_states_per_point != kDefaultMaxStatesPerPoint) {
    absl::StrAppend(&command, " --max-states ", options.max_states_per_point);
  }
  return command;
}

}  // namespace

ExploreResult Explore(const Scenario& scenario, const ExploreOptions& options) {
  SNAPSIM_ASSERT(options.bound >= 1);
  SNAPSIM_ASSERT(!options.only_state || options.only_point > 0);
  ExploreResult result;
  std::vector<Step> steps;
  for (const Step& step : StepsForSeed(scenario, options.seed)) {
    if (step.kind != StepKind::kCrash) steps.push_back(step);  // the explorer picks the crashes
  }
  const uint32_t first_point = options.only_point > 0 ? options.only_point : 1;
  const uint32_t last_point = options.only_point > 0 ? options.only_point : options.bound;
  for (uint32_t point = first_point; point <= last_point; ++point) {
    bool reached = false;
    RunOptions run_options;
    run_options.replay_prefix = options.replay_prefix;
    run_options.crash_at_completion = point;
    run_options.on_crash_point = [&](CrashPointContext& context) {
      reached = true;
      ++result.crash_points;
      const std::vector<CachedWrite> origin_writes = context.origin->NonDurableWrites();
      const std::vector<CachedWrite> cow_writes = context.cow->NonDurableWrites();
      bool tears = options.tears;
      auto count_states = [&](bool with_tears) -> uint64_t {
        const uint64_t a = CrashEnumerator(origin_writes, with_tears).count();
        const uint64_t b = CrashEnumerator(cow_writes, with_tears).count();
        if (a == 0 || b == 0 || a > options.max_states_per_point / b) return 0;
        return a * b;
      };
      uint64_t states = count_states(tears);
      if (states == 0 && tears) {
        tears = false;
        ++result.points_without_tears;
        states = count_states(false);
      }
      if (states == 0) {
        ++result.points_over_bound;
        return;
      }
      result.states_at_point = states;
      uint64_t first_state = 0, end_state = states;
      if (options.only_state) {
        if (*options.only_state >= states) {
          result.state_out_of_range = true;
          return;
        }
        first_state = *options.only_state;
        end_state = first_state + 1;
      }
      CrashEnumerator origin_enum(origin_writes, tears);
      CrashEnumerator cow_enum(cow_writes, tears);
      absl::flat_hash_set<std::pair<uint64_t, uint64_t>> seen;  // lookups only, never iterated
      for (uint64_t i = first_state; i < end_state; ++i) {
        ++result.states_enumerated;
        PageStore origin_image =
            context.origin->CrashImage(origin_enum.At(i % origin_enum.count()));
        PageStore cow_image = context.cow->CrashImage(cow_enum.At(i / origin_enum.count()));
        if (options.prune && !options.only_state) {
          auto key = std::make_pair(ImageKey(origin_image, origin_writes, 0x243f6a8885a308d3ULL),
                                    ImageKey(cow_image, cow_writes, 0x13198a2e03707344ULL));
          if (!seen.insert(key).second) {
            ++result.states_pruned;
            continue;
          }
        }
        ++result.states_checked;
        std::vector<Finding> found = context.check(std::move(origin_image), std::move(cow_image));
        for (Finding& f : found) {
          f.crash_point = absl::StrCat(context.crash_point, ", crash state ", i);
          f.replay_command = StateReplayCommand(options, point, i);
          bool known = false;
          for (const Finding& g : result.findings) known |= g.invariant == f.invariant;
          if (!known) result.findings.push_back(std::move(f));
        }
      }
    };
    RunResult run = RunSteps(scenario, options.seed, steps, run_options);
    for (const auto& [name, verdict] : run.verdicts) {
      result.verdicts[name].checked += verdict.checked;
      result.verdicts[name].failed += verdict.failed;
    }
    if (options.log_out != nullptr && reached) {
      *options.log_out << absl::StrFormat("crash point %u: %u states checked so far, %u pruned\n",
                                          point, result.states_checked, result.states_pruned);
    }
    if (!reached) {
      result.run_ended_before_bound = true;
      break;
    }
  }
  return result;
}

}  // namespace snapsim
