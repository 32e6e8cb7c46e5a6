// SPDX-License-Identifier: GPL-2.0-only
#include "sim/run/planted_nondeterminism.h"

#include <unistd.h>

#include <cstddef>
#include <cstdint>

#include "sim/world/prng.h"

namespace snapsim {

std::vector<Step> PlantedNondeterminism(const std::vector<Step>& steps) {
  if (steps.size() < 2) return steps;
  const auto address = static_cast<uint64_t>(reinterpret_cast<uintptr_t>(steps.data()));
  const uint64_t ambient = Mix64(address ^ (static_cast<uint64_t>(::getpid()) << 32));
  std::vector<Step> out = steps;
  out.erase(out.begin() + static_cast<std::ptrdiff_t>(ambient % steps.size()));
  return out;
}

}  // namespace snapsim
