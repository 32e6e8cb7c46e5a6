// SPDX-License-Identifier: GPL-2.0-only
//
// FiuBridge: lets the run's Prng decide the libfiu fault points compiled into core/
// ("snapsim/store/alloc_area", "snapsim/store/alloc_callbacks", "snapsim/store/chunk_io", ...).
//
// Each enabled point gets fiu_enable_external with a callback that draws Chance(ratio) from the
// bridge's Prng and, when it fires, bumps the point's probe ("fiu.alloc_area", ...; names not
// known here go to "fiu.other"). libfiu's own random mode is never used: its generator is not
// ours and would break determinism.
//
// Contract:
//  - libfiu's registry is process-wide: at most one FiuBridge exists per process at a time (one
//    simulation per process; campaigns use worker processes). Asserted.
//  - The bridge owns the points it enabled and disables them when destroyed.
//  - The Prng and Probes outlive the bridge. fiu_failinfo() at a point returns the bridge's
//    private context: core code must not use it.
#ifndef SNAPSIM_SIM_WORLD_FIU_BRIDGE_H_
#define SNAPSIM_SIM_WORLD_FIU_BRIDGE_H_

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "sim/world/prng.h"
#include "sim/world/probes.h"

namespace snapsim {

// The probe counting hits of the fault point `point` (by its last path component).
Probe FiuProbeFor(std::string_view point);

class FiuBridge {
 public:
  static constexpr size_t kMaxPoints = 64;

  FiuBridge(Prng& prng, Probes& probes);
  ~FiuBridge();
  FiuBridge(const FiuBridge&) = delete;
  FiuBridge& operator=(const FiuBridge&) = delete;

  // Fails `point` with probability `ratio` at each hit. Re-enabling a point updates its ratio.
  absl::Status Enable(std::string_view point, Ratio ratio);
  // Disables every point this bridge enabled.
  void DisableAll();

  // Times `point` fired since it was enabled (0 if unknown).
  uint64_t fired(std::string_view point) const;

 private:
  struct Point {
    FiuBridge* bridge;
    std::string name;
    Ratio ratio;
    Probe probe;
    uint64_t fired = 0;
  };
  static int Decide(const char* name, int* failnum, void** failinfo, unsigned int* flags);

  Prng& prng_;
  Probes& probes_;
  std::vector<std::unique_ptr<Point>> points_;  // stable addresses: libfiu holds them
};

}  // namespace snapsim

#endif  // SNAPSIM_SIM_WORLD_FIU_BRIDGE_H_
