// SPDX-License-Identifier: GPL-2.0-only
//
// The model's verdicts must not depend on whether the checks could read a sector back (issue
// 10). Two copies of one sector's history see the same writes, acknowledgements, FLUSHes and
// crashes; at each crash copy A always reads the sector back (Rebase to a value it accepts),
// copy B only sometimes (a latent read error hides it otherwise). Knowing less, B must never be
// stricter: every value A accepts at any later read or crash, B accepts too. Before crashes
// settled their sectors, a FLUSH after a crash made a pre-crash write durable in B only, and B
// then rejected the old value A had read back.
#include <optional>
#include <vector>

#include "gtest/gtest.h"
#include "rapidcheck.h"
#include "rapidcheck/gtest.h"
#include "sim/check/model.h"
#include "sim/workload/stamp.h"

namespace snapsim {
namespace {

constexpr sector_t kSector = 8;

enum class OpKind : int { kSubmit, kAck, kFlush, kRead, kCrash };

struct Op {
  OpKind kind = OpKind::kSubmit;
  size_t pick = 0;       // kAck: which write in flight; kCrash: which accepted value A reads
  bool read_ok = false;  // kCrash: B's check read succeeded
};

Op GenOp() {
  Op op;
  op.kind = static_cast<OpKind>(*rc::gen::inRange(0, 5));
  op.pick = *rc::gen::inRange<size_t>(0, 64);
  op.read_ok = *rc::gen::arbitrary<bool>();
  return op;
}

RC_GTEST_PROP(ModelPropertyTest, CheckReadsThatFailNeverMakeTheModelStricter, ()) {
  // Full-size cases from the first one: a failure needs a write, a crash and a read after it.
  const std::vector<Op> ops =
      *rc::gen::resize(100, rc::gen::container<std::vector<Op>>(rc::gen::exec(GenOp)));
  SectorHistory a(InitialOriginStamp(kSector));
  SectorHistory b(InitialOriginStamp(kSector));
  uint64_t seq = 0;
  uint64_t last_id = 0;
  uint64_t crashes = 0;
  std::vector<uint64_t> in_flight;
  // Every value a read may show: the initial data, each write, garbage.
  auto universe = [&] {
    std::vector<std::optional<Stamp>> values = {InitialOriginStamp(kSector), std::nullopt};
    for (uint64_t id = 1; id <= last_id; ++id) {
      values.push_back(Stamp{kStampDeviceOrigin, kSector, id});
    }
    return values;
  };
  for (const Op& op : ops) {
    switch (op.kind) {
      case OpKind::kSubmit: {
        const uint64_t s = ++seq;
        a.AddWrite(kStampDeviceOrigin, ++last_id, s);
        b.AddWrite(kStampDeviceOrigin, last_id, s);
        in_flight.push_back(last_id);
        break;
      }
      case OpKind::kAck: {
        if (in_flight.empty()) break;
        const size_t i = op.pick % in_flight.size();
        const uint64_t s = ++seq;
        a.Ack(in_flight[i], s);
        b.Ack(in_flight[i], s);
        in_flight.erase(in_flight.begin() + static_cast<std::ptrdiff_t>(i));
        break;
      }
      case OpKind::kFlush: {
        const uint64_t s = ++seq;
        a.MarkDurableBefore(s);
        b.MarkDurableBefore(s);
        break;
      }
      case OpKind::kRead: {
        const uint64_t submit = ++seq;
        const uint64_t complete = ++seq;
        for (const std::optional<Stamp>& v : universe()) {
          if (a.AcceptableRead(kSector, v, submit, complete)) {
            RC_ASSERT(b.AcceptableRead(kSector, v, submit, complete));
          }
        }
        break;
      }
      case OpKind::kCrash: {
        ++crashes;
        in_flight.clear();  // never acknowledged now
        a.SettleAtCrash(kSector, crashes);
        b.SettleAtCrash(kSector, crashes);
        std::vector<std::optional<Stamp>> accepted;
        for (const std::optional<Stamp>& v : universe()) {
          if (a.AcceptableAfterCrash(kSector, v)) {
            RC_ASSERT(b.AcceptableAfterCrash(kSector, v));
            accepted.push_back(v);
          }
        }
        RC_ASSERT(!accepted.empty());
        const std::optional<Stamp> read = accepted[op.pick % accepted.size()];
        a.Rebase(read);
        if (op.read_ok) b.Rebase(read);
        break;
      }
    }
  }
}

}  // namespace
}  // namespace snapsim
