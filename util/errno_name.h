// SPDX-License-Identifier: GPL-2.0-only
//
// Error numbers for people: the kernel's convention returns -errno, and "error -5" alone sends
// the reader to errno.h. ErrorText(-5) is "error -5 (EIO)"; a number with no name keeps the
// number alone.
#ifndef SNAPSIM_UTIL_ERRNO_NAME_H_
#define SNAPSIM_UTIL_ERRNO_NAME_H_

#include <string>

namespace snapsim {

// "error <error> (<NAME>)" for a negative errno (or a positive one), "error <error>" otherwise.
std::string ErrorText(int error);

}  // namespace snapsim

#endif  // SNAPSIM_UTIL_ERRNO_NAME_H_
