// SPDX-License-Identifier: GPL-2.0-only
// Paths the tests need, fixed at configure time so tests run from any directory.
#ifndef SNAPSIM_TESTS_SUPPORT_TEST_PATHS_H_
#define SNAPSIM_TESTS_SUPPORT_TEST_PATHS_H_

namespace snapsim::testing {
inline constexpr const char* kTestDataDir = SNAPSIM_TEST_DATA_DIR;
inline constexpr const char* kSourceDir = SNAPSIM_SOURCE_DIR;
inline constexpr const char* kSnapsimBinary = SNAPSIM_BINARY;
}  // namespace snapsim::testing

#endif  // SNAPSIM_TESTS_SUPPORT_TEST_PATHS_H_
