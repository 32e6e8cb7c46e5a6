// SPDX-License-Identifier: GPL-2.0-only
#include "sim/world/trace.h"

#include <string>

#include "sim/world/prng.h"

namespace snapsim {
namespace {

uint64_t Fold(uint64_t hash, uint64_t value) { return Mix64(hash ^ value) + 0x9e3779b97f4a7c15ULL; }

void AppendJsonString(std::string& out, std::string_view s) {
  out += '"';
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u < 0x20) {
      static constexpr char kHex[] = "0123456789abcdef";
      out += "\\u00";
      out += kHex[u >> 4];
      out += kHex[u & 15];
    } else {
      out += c;
    }
  }
  out += '"';
}

}  // namespace

void Trace::Record(const TraceEvent& e) {
  uint64_t h = hash_;
  h = Fold(h, e.t);
  h = Fold(h, Fnv1a64(e.kind));
  h = Fold(h, Fnv1a64(e.device));
  h = Fold(h, Fnv1a64(e.op));
  h = Fold(h, e.sector);
  h = Fold(h, e.count);
  h = Fold(h, e.flags);
  h = Fold(h, e.write_id);
  h = Fold(h, static_cast<uint64_t>(e.result));
  h = Fold(h, Fnv1a64(e.detail));
  hash_ = h;
  ++events_;
  if (out_ == nullptr) return;

  std::string line = "{\"t\":" + std::to_string(e.t) + ",\"kind\":";
  AppendJsonString(line, e.kind);
  line += ",\"device\":";
  AppendJsonString(line, e.device);
  line += ",\"op\":";
  AppendJsonString(line, e.op);
  line += ",\"sector\":" + std::to_string(e.sector);
  line += ",\"count\":" + std::to_string(e.count);
  line += ",\"flags\":" + std::to_string(e.flags);
  line += ",\"write_id\":" + std::to_string(e.write_id);
  line += ",\"result\":" + std::to_string(e.result);
  if (!e.detail.empty()) {
    line += ",\"detail\":";
    AppendJsonString(line, e.detail);
  }
  line += "}\n";
  out_->write(line.data(), static_cast<std::streamsize>(line.size()));
}

std::string FormatTraceHash(uint64_t hash) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(16, '0');
  for (int i = 15; i >= 0; --i, hash >>= 4) out[static_cast<size_t>(i)] = kHex[hash & 15];
  return out;
}

std::optional<uint64_t> ParseTraceHash(std::string_view text) {
  if (text.size() != 16) return std::nullopt;
  uint64_t hash = 0;
  for (char c : text) {
    uint64_t digit = 0;
    if (c >= '0' && c <= '9') {
      digit = static_cast<uint64_t>(c - '0');
    } else if (c >= 'a' && c <= 'f') {
      digit = static_cast<uint64_t>(c - 'a' + 10);
    } else if (c >= 'A' && c <= 'F') {
      digit = static_cast<uint64_t>(c - 'A' + 10);
    } else {
      return std::nullopt;
    }
    hash = hash << 4 | digit;
  }
  return hash;
}

}  // namespace snapsim
