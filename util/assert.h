// SPDX-License-Identifier: GPL-2.0-only
//
// SNAPSIM_ASSERT(condition): the project's assertion, on in every build type (Release too: the
// campaigns are where a broken promise must be named, as TigerBeetle runs its simulator). Only a
// build configured with -DSNAPSIM_ASSERTIONS=OFF compiles them out; `snapsim --version` says
// which.
//
// A failed assertion throws AssertionFailure carrying "file:line: Assertion `condition' failed"
// (file relative to the source tree). A simulated run catches it and reports the finding
// `assertions_hold` with that text and the replay command; anywhere else it is uncaught and the
// process terminates printing the same text. Because it unwinds the frames between the failed
// check and the catcher, it obeys the crash contract (sim/run/crash_triggers.h): whatever those
// frames were updating is abandoned, never used again.
#ifndef SNAPSIM_UTIL_ASSERT_H_
#define SNAPSIM_UTIL_ASSERT_H_

#include <stdexcept>
#include <string>

namespace snapsim {

class AssertionFailure : public std::logic_error {
 public:
  AssertionFailure(const char* condition, const char* file, int line, const char* function);

  const std::string& condition() const { return condition_; }
  const std::string& file() const { return file_; }
  int line() const { return line_; }
  const std::string& function() const { return function_; }
  // "file:line" of the failed check.
  std::string Location() const;

 private:
  std::string condition_;
  std::string file_;
  int line_ = 0;
  std::string function_;
};

[[noreturn]] void AssertionFailed(const char* condition, const char* file, int line,
                                  const char* function);

// Whether this build checks SNAPSIM_ASSERT conditions.
bool AssertionsEnabled();

}  // namespace snapsim

#ifdef SNAPSIM_ASSERTIONS_OFF
// The condition is not evaluated, but it must still compile.
#define SNAPSIM_ASSERT(condition) static_cast<void>(sizeof(static_cast<bool>(condition)))
#else
#define SNAPSIM_ASSERT(condition) \
  (static_cast<bool>(condition)   \
       ? static_cast<void>(0)     \
       : ::snapsim::AssertionFailed(#condition, __FILE__, __LINE__, __func__))
#endif

#endif  // SNAPSIM_UTIL_ASSERT_H_
