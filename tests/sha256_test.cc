// SPDX-License-Identifier: GPL-2.0-only
#include "core/sha256.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace snapsim {
namespace {

absl::Span<const uint8_t> Bytes(const std::string& s) {
  return absl::MakeConstSpan(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}

TEST(Sha256, MatchesTheFipsExamples) {
  EXPECT_EQ(Sha256Hex(Bytes("")),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Sha256Hex(Bytes("abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(Sha256Hex(Bytes("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

TEST(Sha256, MillionAsInPiecesEqualsTheKnownDigest) {
  const std::string a(1000, 'a');
  Sha256 sha;
  for (int i = 0; i < 1000; ++i) sha.Update(Bytes(a));
  EXPECT_EQ(DigestHex(sha.Final()),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(Sha256, SplittingTheInputAnywhereGivesTheSameDigest) {
  std::vector<uint8_t> data(300);
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<uint8_t>(i * 7);
  const std::string whole = Sha256Hex(data);
  for (size_t cut = 0; cut <= data.size(); cut += 13) {
    Sha256 sha;
    sha.Update(absl::MakeConstSpan(data).subspan(0, cut));
    sha.Update(absl::MakeConstSpan(data).subspan(cut));
    EXPECT_EQ(DigestHex(sha.Final()), whole) << "cut at " << cut;
  }
}

}  // namespace
}  // namespace snapsim
