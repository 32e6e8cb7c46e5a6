// SPDX-License-Identifier: GPL-2.0-only
//
// What every fuzz target in fuzz/ defines: libFuzzer's entry point. The same file builds two
// ways (fuzz/CMakeLists.txt): with clang's -fsanitize=fuzzer, libFuzzer calls it with generated
// inputs; in the ordinary build, corpus_main.cc calls it once per file of the seed corpus, so the
// corpus (and every crash found and added to it) is a regression test of every build.
//
// Contract of a target: it returns 0, and anything wrong with the code under test aborts (a
// crash, a sanitizer report, an uncaught exception, or FuzzCheck on a broken contract).
#ifndef SNAPSIM_FUZZ_FUZZ_TARGET_H_
#define SNAPSIM_FUZZ_FUZZ_TARGET_H_

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace snapsim {

// A contract of the code under test does not hold for this input: report it and abort, so that
// libFuzzer keeps the input as a crash.
inline void FuzzCheck(bool holds, const char* contract) {
  if (holds) return;
  std::fprintf(stderr, "fuzz: contract broken: %s\n", contract);
  std::abort();
}

// The contract of a parser with a writer: text that parses is written back to text that parses
// to an equal value. `parse(text, source)` returns an absl::StatusOr; `print(value)` the text.
template <typename Parse, typename Print>
void CheckRoundTrip(std::string_view text, Parse parse, Print print) {
  auto value = parse(text, "fuzz input");
  if (!value.ok()) {
    FuzzCheck(!value.status().message().empty(), "a refused input says why");
    return;
  }
  auto again = parse(print(*value), "written back");
  FuzzCheck(again.ok(), "what the writer writes parses");
  FuzzCheck(*again == *value, "what the writer writes parses to an equal value");
}

}  // namespace snapsim

#endif  // SNAPSIM_FUZZ_FUZZ_TARGET_H_
