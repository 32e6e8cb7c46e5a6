// SPDX-License-Identifier: GPL-2.0-only
#include "util/assert.h"

#include "absl/strings/str_cat.h"

namespace snapsim {

AssertionFailure::AssertionFailure(const char* condition, const char* file, int line,
                                   const char* function)
    : std::logic_error(
          absl::StrCat(file, ":", line, ": ", function, ": Assertion `", condition, "' failed")),
      condition_(condition),
      file_(file),
      line_(line),
      function_(function) {}

std::string AssertionFailure::Location() const { return absl::StrCat(file_, ":", line_); }

void AssertionFailed(const char* condition, const char* file, int line, const char* function) {
  throw AssertionFailure(condition, file, line, function);
}

bool AssertionsEnabled() {
#ifdef SNAPSIM_ASSERTIONS_OFF
  return false;
#else
  return true;
#endif
}

}  // namespace snapsim
