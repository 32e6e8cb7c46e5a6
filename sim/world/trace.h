// SPDX-License-Identifier: GPL-2.0-only
//
// Trace: a JSON-lines record of what the world did, and a running 64-bit hash of it.
//
// Contract:
//  - The same events give byte-identical lines and the same hash(). The hash folds every field
//    of every event (not the formatted line), so it is the same whether a file is written or not
//    and costs little when none is: run a seed twice and compare hash().
//  - Lines are {"t":..,"kind":..,"device":..,"op":..,"sector":..,"count":..,"flags":..,
//    "write_id":..,"result":..[,"detail":..]}, keys always in this order.
//  - The output stream, if any, must outlive the Trace.
#ifndef SNAPSIM_SIM_WORLD_TRACE_H_
#define SNAPSIM_SIM_WORLD_TRACE_H_

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>

namespace snapsim {

// Bits of TraceEvent::flags.
inline constexpr uint32_t kTraceFlagPreflush = 1u << 0;
inline constexpr uint32_t kTraceFlagFua = 1u << 1;
inline constexpr uint32_t kTraceFlagBeyondContract = 1u << 2;

struct TraceEvent {
  uint64_t t = 0;           // simulated ns
  std::string_view kind;    // "submit", "complete", "crash", "fault", ...
  std::string_view device;  // device name, or "" for world events
  std::string_view op;      // "read", "write", "flush", or ""
  uint64_t sector = 0;
  uint64_t count = 0;       // sectors
  uint32_t flags = 0;       // kTraceFlag...
  uint64_t write_id = 0;    // the device's id of the I/O, 0 if none
  int64_t result = 0;       // 0 or -errno
  std::string_view detail;  // free text, omitted when empty
};

class Trace {
 public:
  // `out` may be null: then only the hash is kept.
  explicit Trace(std::ostream* out = nullptr) : out_(out) {}

  void Record(const TraceEvent& event);

  uint64_t hash() const { return hash_; }
  uint64_t events() const { return events_; }

 private:
  std::ostream* out_;
  uint64_t hash_ = 0xcbf29ce484222325ULL;
  uint64_t events_ = 0;
};

// A trace hash as people and files see it: 16 lowercase hex digits, as `snapsim run` prints it.
std::string FormatTraceHash(uint64_t hash);
// The inverse: exactly 16 hex digits; nullopt otherwise.
std::optional<uint64_t> ParseTraceHash(std::string_view text);

}  // namespace snapsim

#endif  // SNAPSIM_SIM_WORLD_TRACE_H_
