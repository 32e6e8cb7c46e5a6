// SPDX-License-Identifier: GPL-2.0-only
//
// Fuzz target: a replay case file (`snapsim run --replay-case`) through ParseReplayCase, which
// also parses the embedded scenario TOML and checks the steps. A case that parses must survive
// its own JSON: ParseReplayCase(ReplayCaseToJson(c)) == c (replay_case.h's contract).
#include <cstdint>
#include <string_view>

#include "absl/status/statusor.h"
#include "fuzz/fuzz_target.h"
#include "sim/run/replay_case.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace snapsim;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<ReplayCase> replay_case = ParseReplayCase(text, "fuzz.json");
  if (!replay_case.ok()) {
    FuzzCheck(!replay_case.status().message().empty(), "a refused case says why");
    return 0;
  }
  absl::StatusOr<ReplayCase> again = ParseReplayCase(ReplayCaseToJson(*replay_case), "again.json");
  FuzzCheck(again.ok(), "the JSON of a replay case parses");
  FuzzCheck(*again == *replay_case, "the JSON of a replay case gives back an equal case");
  return 0;
}
