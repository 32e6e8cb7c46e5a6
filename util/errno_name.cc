// SPDX-License-Identifier: GPL-2.0-only
#include "util/errno_name.h"

#include <cstring>

#include "absl/strings/str_cat.h"

namespace snapsim {

std::string ErrorText(int error) {
  const int number = error < 0 ? -error : error;
  // glibc's name of the number ("EIO"); null for a number it does not know.
  const char* name = error == 0 ? nullptr : ::strerrorname_np(number);
  if (name == nullptr) return absl::StrCat("error ", error);
  return absl::StrCat("error ", error, " (", name, ")");
}

}  // namespace snapsim
