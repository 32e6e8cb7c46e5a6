// SPDX-License-Identifier: GPL-2.0-only
#include "sim/world/trace.h"

#include <sstream>

#include "gtest/gtest.h"

namespace snapsim {
namespace {

TraceEvent Sample() {
  return TraceEvent{1500, "complete", "cow", "write", 64, 8, kTraceFlagFua, 17, -5, {}};
}

TEST(Trace, WritesOneJsonLinePerEventWithFixedKeyOrder) {
  std::ostringstream out;
  Trace trace(&out);
  trace.Record(Sample());
  TraceEvent noted = Sample();
  noted.detail = "say \"hi\"\n";
  trace.Record(noted);
  EXPECT_EQ(out.str(),
            "{\"t\":1500,\"kind\":\"complete\",\"device\":\"cow\",\"op\":\"write\",\"sector\":64,"
            "\"count\":8,\"flags\":2,\"write_id\":17,\"result\":-5}\n"
            "{\"t\":1500,\"kind\":\"complete\",\"device\":\"cow\",\"op\":\"write\",\"sector\":64,"
            "\"count\":8,\"flags\":2,\"write_id\":17,\"result\":-5,"
            "\"detail\":\"say \\\"hi\\\"\\u000a\"}\n");
  EXPECT_EQ(trace.events(), 2u);
}

TEST(Trace, HashIsTheSameWithOrWithoutAFile) {
  std::ostringstream out;
  Trace with_file(&out);
  Trace without_file;
  with_file.Record(Sample());
  without_file.Record(Sample());
  EXPECT_EQ(with_file.hash(), without_file.hash());
}

TEST(Trace, HashChangesWithAnyFieldAndWithOrder) {
  Trace base;
  base.Record(Sample());
  auto hash_of = [](TraceEvent e) {
    Trace t;
    t.Record(e);
    return t.hash();
  };
  TraceEvent e = Sample();
  e.t += 1;
  EXPECT_NE(hash_of(e), base.hash());
  e = Sample();
  e.result = 0;
  EXPECT_NE(hash_of(e), base.hash());
  e = Sample();
  e.device = "origin";
  EXPECT_NE(hash_of(e), base.hash());
  e = Sample();
  e.sector = 65;
  EXPECT_NE(hash_of(e), base.hash());

  TraceEvent other = Sample();
  other.write_id = 18;
  Trace ab;
  ab.Record(Sample());
  ab.Record(other);
  Trace ba;
  ba.Record(other);
  ba.Record(Sample());
  EXPECT_NE(ab.hash(), ba.hash());
}

}  // namespace
}  // namespace snapsim
