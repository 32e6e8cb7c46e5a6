// SPDX-License-Identifier: GPL-2.0-only
//
// AbslView: a std::string_view as an absl::string_view. Debian's Abseil 20220623 has its own
// absl::string_view, distinct from std::string_view, so Abseil calls need the conversion.
#ifndef SNAPSIM_UTIL_ABSL_VIEW_H_
#define SNAPSIM_UTIL_ABSL_VIEW_H_

#include <string_view>

#include "absl/strings/string_view.h"

namespace snapsim {

inline absl::string_view AbslView(std::string_view s) {
  return absl::string_view(s.data(), s.size());
}

}  // namespace snapsim

#endif  // SNAPSIM_UTIL_ABSL_VIEW_H_
