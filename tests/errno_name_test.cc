// SPDX-License-Identifier: GPL-2.0-only
//
// util/errno_name: an error number is shown with its name, so nobody has to look it up.
#include "util/errno_name.h"

#include "gtest/gtest.h"

namespace snapsim {
namespace {

TEST(ErrnoNameTest, NegativeErrnoGetsItsName) {
  EXPECT_EQ(ErrorText(-5), "error -5 (EIO)");
  EXPECT_EQ(ErrorText(-77), "error -77 (EBADFD)");
  EXPECT_EQ(ErrorText(-28), "error -28 (ENOSPC)");
  EXPECT_EQ(ErrorText(5), "error 5 (EIO)");
}

TEST(ErrnoNameTest, NumberWithoutANameStaysANumber) {
  EXPECT_EQ(ErrorText(0), "error 0");
  EXPECT_EQ(ErrorText(-4000), "error -4000");
}

}  // namespace
}  // namespace snapsim
