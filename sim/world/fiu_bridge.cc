// SPDX-License-Identifier: GPL-2.0-only
#include "sim/world/fiu_bridge.h"

#include <fiu-control.h>
#include <fiu.h>

#include "util/assert.h"

namespace snapsim {
namespace {

// libfiu is process-wide, so this guard must be too: the one justified global of the simulator.
bool& BridgeActive() {
  static bool active = false;
  return active;
}

}  // namespace

Probe FiuProbeFor(std::string_view point) {
  const size_t slash = point.rfind('/');
  const std::string_view leaf = slash == std::string_view::npos ? point : point.substr(slash + 1);
  if (leaf == "alloc_area") return Probe::kFiuAllocArea;
  if (leaf == "alloc_callbacks") return Probe::kFiuAllocCallbacks;
  if (leaf == "chunk_io") return Probe::kFiuChunkIo;
  return Probe::kFiuOther;
}

FiuBridge::FiuBridge(Prng& prng, Probes& probes) : prng_(prng), probes_(probes) {
  SNAPSIM_ASSERT(!BridgeActive() && "one FiuBridge per process: libfiu's registry is global");
  BridgeActive() = true;
  fiu_init(0);  // idempotent in libfiu
}

FiuBridge::~FiuBridge() {
  DisableAll();
  BridgeActive() = false;
}

absl::Status FiuBridge::Enable(std::string_view point, Ratio ratio) {
  if (!ratio.valid()) {
    return absl::InvalidArgumentError("fiu." + std::string(point) + ": ratio above 1 or /0");
  }
  for (auto& p : points_) {
    if (p->name == point) {
      p->ratio = ratio;
      return absl::OkStatus();
    }
  }
  if (points_.size() >= kMaxPoints) {
    return absl::ResourceExhaustedError("fiu: more than kMaxPoints fault points");
  }
  auto p = std::make_unique<Point>(Point{this, std::string(point), ratio, FiuProbeFor(point)});
  if (fiu_enable_external(p->name.c_str(), 1, p.get(), 0, &FiuBridge::Decide) != 0) {
    return absl::InternalError("fiu_enable_external failed for " + p->name);
  }
  points_.push_back(std::move(p));
  return absl::OkStatus();
}

void FiuBridge::DisableAll() {
  for (auto& p : points_) fiu_disable(p->name.c_str());
  points_.clear();
}

uint64_t FiuBridge::fired(std::string_view point) const {
  for (const auto& p : points_) {
    if (p->name == point) return p->fired;
  }
  return 0;
}

int FiuBridge::Decide(const char* name, int* failnum, void** failinfo, unsigned int* flags) {
  Point* point = static_cast<Point*>(*failinfo);
  SNAPSIM_ASSERT(point != nullptr && point->name == name);
  if (!point->bridge->prng_.Chance(point->ratio)) return 0;
  ++point->fired;
  point->bridge->probes_.Bump(point->probe);
  return 1;
}

}  // namespace snapsim
