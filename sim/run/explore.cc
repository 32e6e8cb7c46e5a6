// SPDX-License-Identifier: GPL-2.0-only
#include "sim/run/explore.h"

#include <algorithm>
#include <iterator>
#include <vector>

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

// The sectors the non-durable writes touch (where they land), each once, in increasing order.
std::vector<sector_t> TouchedSectors(const std::vector<CachedWrite>& writes) {
  std::vector<sector_t> sectors;
  for (const CachedWrite& w : writes) {
    for (uint32_t i = 0; i < w.sector_count; ++i) sectors.push_back(w.sector + i);
  }
  std::sort(sectors.begin(), sectors.end());
  sectors.erase(std::unique(sectors.begin(), sectors.end()), sectors.end());
  return sectors;
}

// The bytes a crash state leaves on the touched sectors, hashed 8 bytes at a time in four
// independent lanes (so the multiplies overlap): equal keys (with equal write lists) mean equal
// images, up to a 2^-64 collision per pair.
uint64_t ImageKey(const SectorSource& image, const std::vector<sector_t>& touched, uint64_t seed) {
  constexpr uint64_t kMultiplier = 0x9e3779b97f4a7c15ULL;
  constexpr uint32_t kRunSectors = 8;
  uint64_t lanes[4] = {seed, ~seed, seed ^ 0x5851f42d4c957f2dULL, seed ^ 0x14057b7ef767814fULL};
  uint64_t words[kRunSectors * kSectorSize / sizeof(uint64_t)];
  for (size_t next = 0; next < touched.size();) {
    const sector_t first = touched[next];
    uint32_t n = 0;  // consecutive sectors: one read
    while (next < touched.size() && touched[next] == first + n && n < kRunSectors) ++next, ++n;
    image.Read(first, n, reinterpret_cast<uint8_t*>(words));
    for (size_t i = 0; i < n * kSectorSize / sizeof(uint64_t); i += 4) {
      for (size_t lane = 0; lane < 4; ++lane) {
        const uint64_t h = (lanes[lane] ^ words[i + lane]) * kMultiplier;
        lanes[lane] = h ^ (h >> 31);
      }
    }
  }
  return Mix64(lanes[0] ^ Mix64(lanes[1] ^ Mix64(lanes[2] ^ Mix64(lanes[3]))));
}

// Per device, so that equal bytes on two devices hash apart: the origin's, then each COW's.
constexpr uint64_t kImageKeySeeds[] = {0x243f6a8885a308d3ULL, 0x13198a2e03707344ULL,
                                       0xa4093822299f31d0ULL, 0x082efa98ec4e6c89ULL,
                                       0x452821e638d01377ULL};
static_assert(std::size(kImageKeySeeds) >= 1 + kMaxScenarioSnapshots);

}  // namespace

std::string ExploreResult::Summary(uint32_t bound) const {
  if (findings.empty()) {
    return absl::StrFormat(
        "all %u crash states up to bound %u hold (%u crash points, %u states enumerated, %u "
        "pruned%s%s)",
        states_checked, bound, crash_points, states_enumerated, states_pruned,
        points_without_tears > 0
            ? absl::StrFormat(", %u point%s without sector tears (over the state limit)",
                              points_without_tears, points_without_tears == 1 ? "" : "s")
            : std::string(),
        points_over_bound > 0
            ? absl::StrFormat(", %u point%s over the state limit skipped", points_over_bound,
                              points_over_bound == 1 ? "" : "s")
            : std::string());
  }
  std::string names;
  for (const Finding& f : findings) absl::StrAppend(&names, names.empty() ? "" : ", ", f.invariant);
  return absl::StrFormat("%u findings within bound %u: %s", findings.size(), bound, names);
}

namespace {

// The command that explores crash point `point` again, and with `state` only that crash state.
std::string ReplayCommandOf(const ExploreOptions& options, uint32_t point,
                            std::optional<uint64_t> state) {
  std::string command =
      absl::StrCat(options.replay_prefix, " --seed ", options.seed, " --crash-point ", point);
  if (state) absl::StrAppend(&command, " --state ", *state);
  if (!options.tears) absl::StrAppend(&command, " --no-tears");
  if (options.max_states_per_point != kDefaultMaxStatesPerPoint) {
    absl::StrAppend(&command, " --max-states ", options.max_states_per_point);
  }
  return command;
}

// Findings keep one per invariant: the first crash point and state that show it.
void AddIfNewInvariant(Finding finding, std::vector<Finding>& findings) {
  for (const Finding& known : findings) {
    if (known.invariant == finding.invariant) return;
  }
  findings.push_back(std::move(finding));
}

}  // namespace

std::vector<Step> ExploreSteps(const Scenario& scenario, uint64_t seed) {
  std::vector<Step> steps;
  for (const Step& step : StepsForSeed(scenario, seed)) {
    if (step.kind != StepKind::kCrash) steps.push_back(step);  // the explorer picks the crashes
  }
  return steps;
}

PointResult ExplorePoint(const Scenario& scenario, const std::vector<Step>& steps,
                         const ExploreOptions& options, uint32_t point) {
  SNAPSIM_ASSERT(point >= 1);
  PointResult result;
  result.point = point;
  RunOptions run_options;
  run_options.replay_prefix = options.replay_prefix;
  run_options.crash_at_completion = point;
  run_options.check_reads = options.check_reads;
  run_options.reuse_recovery = options.incremental;
  run_options.on_crash_point = [&](CrashPointContext& context) {
    result.reached = true;
    // The devices' choices: the origin's, then each COW's, as CrashImages lists them.
    std::vector<std::vector<CachedWrite>> writes;
    writes.push_back(context.origin->NonDurableWrites());
    for (const SimDevice* cow : context.cows) writes.push_back(cow->NonDurableWrites());
    bool tears = options.tears;
    auto count_states = [&](bool with_tears) -> uint64_t {
      uint64_t product = 1;
      for (const std::vector<CachedWrite>& device_writes : writes) {
        const uint64_t n = CrashEnumerator(device_writes, with_tears).count();
        if (n == 0 || product > options.max_states_per_point / n) return 0;
        product *= n;
      }
      return product;
    };
    uint64_t states = count_states(tears);
    if (states == 0 && tears) {
      tears = false;
      result.without_tears = true;
      states = count_states(false);
    }
    if (states == 0) {
      result.over_bound = true;
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
    std::vector<CrashEnumerator> enumerators;
    std::vector<std::vector<sector_t>> touched;  // per device: what the pruning key reads
    std::vector<const SimDevice*> devices;
    // Each device's crash image, rebuilt state after state (SimDevice::RebuildCrashImage).
    std::vector<DurableMedium> images;
    for (size_t d = 0; d < writes.size(); ++d) {
      enumerators.emplace_back(writes[d], tears);
      touched.push_back(TouchedSectors(writes[d]));
      devices.push_back(d == 0 ? context.origin : context.cows[d - 1]);
      images.push_back(devices.back()->medium());
    }
    CrashState state;
    state.touched = &touched;
    state.origin = &images[0];
    for (size_t d = 1; d < images.size(); ++d) state.cows.push_back(&images[d]);
    absl::flat_hash_set<std::vector<uint64_t>> seen;  // lookups only, never iterated
    // Per device, the choice its image and key were last built for: in mixed radix only the
    // origin's changes at every state, so the COWs' are rebuilt and hashed far less often.
    std::vector<std::optional<uint64_t>> built_choice(writes.size());
    std::vector<uint64_t> key(writes.size());
    for (uint64_t i = first_state; i < end_state; ++i) {
      ++result.states_enumerated;
      // State i in mixed radix, the origin's choice the lowest digit: with one COW, the origin's
      // choice is i % origin_states and the COW's i / origin_states.
      uint64_t rest = i;
      for (size_t d = 0; d < enumerators.size(); ++d) {
        const uint64_t count = enumerators[d].count();
        const uint64_t choice = rest % count;
        rest /= count;
        if (built_choice[d] == choice) continue;
        built_choice[d] = choice;
        devices[d]->RebuildCrashImage(enumerators[d].At(choice), images[d]);
        if (options.prune && !options.only_state) {
          key[d] = ImageKey(images[d], touched[d], kImageKeySeeds[d]);
        }
      }
      if (options.prune && !options.only_state && !seen.insert(key).second) {
        ++result.states_pruned;
        continue;
      }
      ++result.states_checked;
      std::vector<Finding> found = context.check(state);
      if (options.on_state_checked) options.on_state_checked(point, i, found);
      for (Finding& f : found) {
        f.crash_point = absl::StrCat(context.crash_point, ", crash state ", i);
        f.replay_command = ReplayCommandOf(options, point, i);
        AddIfNewInvariant(std::move(f), result.findings);
      }
    }
    result.states_recovered = *context.states_recovered;
  };
  RunResult run = RunSteps(scenario, options.seed, steps, run_options);
  result.verdicts = std::move(run.verdicts);
  // What the replay itself found (an assertion that fired, a stuck world, also inside a state's
  // check): findings of this point too, never dropped.
  for (Finding& f : run.findings) {
    f.replay_command = ReplayCommandOf(options, point, options.only_state);
    AddIfNewInvariant(std::move(f), result.findings);
  }
  return result;
}

bool AddPoint(const PointResult& point, const ExploreOptions& options, ExploreResult& total) {
  for (const auto& [name, verdict] : point.verdicts) {
    total.verdicts[name].checked += verdict.checked;
    total.verdicts[name].failed += verdict.failed;
  }
  if (!point.reached) {
    total.run_ended_before_bound = true;
    return false;
  }
  ++total.crash_points;
  total.points_without_tears += point.without_tears ? 1 : 0;
  total.points_over_bound += point.over_bound ? 1 : 0;
  total.state_out_of_range |= point.state_out_of_range;
  if (point.states_at_point != 0) total.states_at_point = point.states_at_point;
  total.states_enumerated += point.states_enumerated;
  total.states_pruned += point.states_pruned;
  total.states_checked += point.states_checked;
  total.states_recovered += point.states_recovered;
  for (const Finding& f : point.findings) AddIfNewInvariant(f, total.findings);
  if (options.log_out != nullptr) {
    *options.log_out << absl::StrFormat("crash point %u: %u states checked so far, %u pruned\n",
                                        point.point, total.states_checked, total.states_pruned);
  }
  return true;
}

ExploreResult Explore(const Scenario& scenario, const ExploreOptions& options) {
  SNAPSIM_ASSERT(options.bound >= 1);
  SNAPSIM_ASSERT(!options.only_state || options.only_point > 0);
  ExploreResult result;
  const std::vector<Step> steps = ExploreSteps(scenario, options.seed);
  const uint32_t first_point = options.only_point > 0 ? options.only_point : 1;
  const uint32_t last_point = options.only_point > 0 ? options.only_point : options.bound;
  for (uint32_t point = first_point; point <= last_point; ++point) {
    if (!AddPoint(ExplorePoint(scenario, steps, options, point), options, result)) break;
  }
  return result;
}

void to_json(nlohmann::json& j, const PointResult& p) {
  j = {{"point", p.point},
       {"reached", p.reached},
       {"without_tears", p.without_tears},
       {"over_bound", p.over_bound},
       {"state_out_of_range", p.state_out_of_range},
       {"states_at_point", p.states_at_point},
       {"states_enumerated", p.states_enumerated},
       {"states_pruned", p.states_pruned},
       {"states_checked", p.states_checked},
       {"states_recovered", p.states_recovered},
       {"verdicts", p.verdicts},
       {"findings", p.findings}};
}

void from_json(const nlohmann::json& j, PointResult& p) {
  j.at("point").get_to(p.point);
  j.at("reached").get_to(p.reached);
  j.at("without_tears").get_to(p.without_tears);
  j.at("over_bound").get_to(p.over_bound);
  j.at("state_out_of_range").get_to(p.state_out_of_range);
  j.at("states_at_point").get_to(p.states_at_point);
  j.at("states_enumerated").get_to(p.states_enumerated);
  j.at("states_pruned").get_to(p.states_pruned);
  j.at("states_checked").get_to(p.states_checked);
  j.at("states_recovered").get_to(p.states_recovered);
  j.at("verdicts").get_to(p.verdicts);
  j.at("findings").get_to(p.findings);
}

}  // namespace snapsim
