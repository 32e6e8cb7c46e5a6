// SPDX-License-Identifier: GPL-2.0-only
#include "sim/world/probes.h"

#include "util/assert.h"

namespace snapsim {
namespace {

constexpr std::array<std::string_view, kProbeCount> kNames = {
    "crash.write_kept",
    "crash.write_dropped",
    "crash.write_torn",
    "crash.in_flight_write",
    "io.read_eio",
    "io.write_eio",
    "io.latent_read_error",
    "io.nth_eio",
    "io.range_eio",
    "beyond.subsector_tear",
    "beyond.lost_durable_write",
    "beyond.misdirected_write",
    "beyond.corrupted_sector",
    "beyond.lying_flush",
    "sched.reordered_completion",
    "sched.slow_io",
    "fiu.alloc_area",
    "fiu.alloc_callbacks",
    "fiu.chunk_io",
    "fiu.other",
};

}  // namespace

std::string_view ProbeName(Probe probe) {
  const size_t index = static_cast<size_t>(probe);
  SNAPSIM_ASSERT(index < kProbeCount);
  return kNames[index];
}

std::optional<Probe> ProbeFromName(std::string_view name) {
  for (size_t i = 0; i < kProbeCount; ++i) {
    if (kNames[i] == name) return static_cast<Probe>(i);
  }
  return std::nullopt;
}

uint64_t Probes::total() const {
  uint64_t sum = 0;
  for (uint64_t c : counts_) sum += c;
  return sum;
}

void Probes::Merge(const Probes& other) {
  for (size_t i = 0; i < kProbeCount; ++i) counts_[i] += other.counts_[i];
}

std::string Probes::Format() const {
  std::string out;
  for (size_t i = 0; i < kProbeCount; ++i) {
    out += kNames[i];
    out += ' ';
    out += std::to_string(counts_[i]);
    out += '\n';
  }
  return out;
}

}  // namespace snapsim
