// SPDX-License-Identifier: GPL-2.0-only
//
// Where the core's kernel messages go (DMERR / DMWARN / DMINFO in the kernel). The texts are the
// kernel's, prefixed as dmesg shows them ("device-mapper: persistent snapshot: ..."), so a user
// can grep for them in both places.
#ifndef SNAPSIM_CORE_KERNEL_LOG_H_
#define SNAPSIM_CORE_KERNEL_LOG_H_

#include <string>
#include <string_view>
#include <vector>

namespace snapsim {

enum class LogLevel { kErr, kWarn, kInfo };

class KernelLog {
 public:
  virtual ~KernelLog() = default;
  virtual void Log(LogLevel level, std::string_view message) = 0;
};

// Keeps every message; tests and the simulator's trace read them back.
class CollectingLog : public KernelLog {
 public:
  struct Entry {
    LogLevel level;
    std::string message;
  };
  void Log(LogLevel level, std::string_view message) override {
    entries_.push_back(Entry{level, std::string(message)});
  }
  const std::vector<Entry>& entries() const { return entries_; }
  void Clear() { entries_.clear(); }

 private:
  std::vector<Entry> entries_;
};

// Drops everything (benchmarks).
class NullLog : public KernelLog {
 public:
  void Log(LogLevel, std::string_view) override {}
};

}  // namespace snapsim

#endif  // SNAPSIM_CORE_KERNEL_LOG_H_
