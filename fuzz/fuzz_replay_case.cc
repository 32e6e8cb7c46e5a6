// SPDX-License-Identifier: GPL-2.0-only
//
// Fuzz target: a replay case file (`snapsim run --replay-case`) through ParseReplayCase, which
// also parses the embedded scenario TOML and checks the steps. A case that parses must survive
// its own JSON: ParseReplayCase(ReplayCaseToJson(c)) == c (replay_case.h's contract).
#include <cstdint>
#include <string_view>

#include "fuzz/fuzz_target.h"
#include "sim/run/replay_case.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace snapsim;
  CheckRoundTrip(std::string_view(reinterpret_cast<const char*>(data), size), ParseReplayCase,
                 ReplayCaseToJson);
  return 0;
}
