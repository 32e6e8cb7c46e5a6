// SPDX-License-Identifier: GPL-2.0-only
//
// The main() of a fuzz target outside libFuzzer: runs LLVMFuzzerTestOneInput once on every file
// named, or on every regular file of a directory named (sorted, so a failure names the same file
// on every machine). Exit 0 when all ran, 2 when a path cannot be read; a bug aborts.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>
#include <system_error>
#include <vector>

#include "fuzz/fuzz_target.h"
#include "util/atomic_file.h"

namespace {

namespace fs = std::filesystem;

// More files than any seed corpus holds: a directory this large is the wrong directory.
constexpr size_t kMaxCorpusFiles = 100000;

bool RunFile(const std::string& path) {
  absl::StatusOr<std::string> bytes = snapsim::ReadWholeFile(path);
  if (!bytes.ok()) {
    std::fprintf(stderr, "corpus: %s\n", std::string(bytes.status().message()).c_str());
    return false;
  }
  LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(bytes->data()), bytes->size());
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> files;
  for (int i = 1; i < argc; ++i) {
    std::error_code ec;
    if (!fs::is_directory(argv[i], ec)) {
      files.emplace_back(argv[i]);
      continue;
    }
    for (fs::directory_iterator it(argv[i], ec), end; !ec && it != end; it.increment(ec)) {
      if (files.size() >= kMaxCorpusFiles) break;
      if (it->is_regular_file(ec)) files.push_back(it->path().string());
    }
    if (ec) {
      std::fprintf(stderr, "corpus: cannot list %s: %s\n", argv[i], ec.message().c_str());
      return 2;
    }
  }
  std::sort(files.begin(), files.end());
  if (files.empty()) {
    std::fprintf(stderr, "corpus: no input file given\n");
    return 2;
  }
  for (const std::string& path : files) {
    if (!RunFile(path)) return 2;
  }
  std::printf("corpus: %zu inputs ran\n", files.size());
  return 0;
}
