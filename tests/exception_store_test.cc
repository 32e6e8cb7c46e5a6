// SPDX-License-Identifier: GPL-2.0-only
// CreateExceptionStore and the chunk size rules: the "<P|N> <chunk_size>" table arguments with
// the kernel's error texts, and the transient ('N') store.
#include "core/exception_store.h"

#include <cerrno>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "core/chunk_size.h"
#include "core/memory_device.h"
#include "gtest/gtest.h"

namespace snapsim {
namespace {

class CreateExceptionStoreTest : public ::testing::Test {
 protected:
  absl::StatusOr<std::unique_ptr<ExceptionStore>> Create(std::vector<std::string> args) {
    return CreateExceptionStore(args, &origin_, &cow_, StoreOptions{}, &log_);
  }
  // The error text of a failed creation, or "ok".
  std::string ErrorOf(std::vector<std::string> args) {
    auto store = Create(std::move(args));
    if (store.ok()) return "ok";
    EXPECT_EQ(store.status().code(), absl::StatusCode::kInvalidArgument);
    return std::string(store.status().message());
  }

  MemoryDevice origin_{1024, 512, "origin"};
  MemoryDevice cow_{1024, 512, "cow"};
  CollectingLog log_;
};

TEST_F(CreateExceptionStoreTest, UpperOrLowerPPicksThePersistentStore) {
  for (const char* flag : {"P", "p"}) {
    auto store = Create({flag, "8"});
    ASSERT_TRUE(store.ok()) << store.status();
    EXPECT_STREQ((*store)->type_name(), "persistent");
    EXPECT_EQ((*store)->chunk_size(), 8u);
    EXPECT_EQ((*store)->Status(StatusType::kTable), " P 8");
  }
}

TEST_F(CreateExceptionStoreTest, UpperOrLowerNPicksTheTransientStore) {
  for (const char* flag : {"N", "n"}) {
    auto store = Create({flag, "16"});
    ASSERT_TRUE(store.ok()) << store.status();
    EXPECT_STREQ((*store)->type_name(), "transient");
    EXPECT_EQ((*store)->Status(StatusType::kTable), " N 16");
  }
}

TEST_F(CreateExceptionStoreTest, OnlyTheFlagsFirstCharacterCounts) {
  auto store = Create({"persistent", "8"});
  ASSERT_TRUE(store.ok()) << store.status();
  EXPECT_STREQ((*store)->type_name(), "persistent");
}

TEST_F(CreateExceptionStoreTest, OtherFlagsAreRejected) {
  EXPECT_EQ(ErrorOf({"X", "8"}), "Persistent flag is not P or N");
  EXPECT_EQ(ErrorOf({"", "8"}), "Persistent flag is not P or N");
}

TEST_F(CreateExceptionStoreTest, FewerThanTwoArgumentsAreRejected) {
  EXPECT_EQ(ErrorOf({"P"}), "Insufficient exception store arguments");
}

TEST_F(CreateExceptionStoreTest, ChunkSizeErrorsCarryTheKernelTexts) {
  EXPECT_EQ(ErrorOf({"P", "abc"}), "Invalid chunk size");
  EXPECT_EQ(ErrorOf({"P", "-8"}), "Invalid chunk size");
  EXPECT_EQ(ErrorOf({"P", ""}), "Invalid chunk size");
  EXPECT_EQ(ErrorOf({"P", "2147483648"}), "Invalid chunk size");
  EXPECT_EQ(ErrorOf({"P", "12"}), "Chunk size is not a power of 2");
  EXPECT_EQ(ErrorOf({"P", "2147483647"}), "Chunk size is not a power of 2");
  EXPECT_EQ(ErrorOf({"P", "4194304"}), "Chunk size is too high");
  EXPECT_EQ(ErrorOf({"P", "2097152"}), "ok");
}

TEST_F(CreateExceptionStoreTest, ZeroChunkSizeIsLeftForTheStoreToChoose) {
  auto store = Create({"P", "0"});
  ASSERT_TRUE(store.ok()) << store.status();
  EXPECT_EQ((*store)->chunk_size(), 0u);
  EXPECT_EQ((*store)->ReadMetadata([](chunk_t, chunk_t) { return 0; }), 0);
  EXPECT_EQ((*store)->chunk_size(), 32u);
}

TEST(ChunkSizeTest, MustBeAMultipleOfBothDevicesBlockSize) {
  const char* error = nullptr;
  EXPECT_EQ(ValidateChunkSize(4, 4096, 512, &error), -EINVAL);
  EXPECT_STREQ(error, "Chunk size is not a multiple of device blocksize");
  error = nullptr;
  EXPECT_EQ(ValidateChunkSize(4, 512, 4096, &error), -EINVAL);
  EXPECT_STREQ(error, "Chunk size is not a multiple of device blocksize");
  EXPECT_EQ(ValidateChunkSize(8, 4096, 4096, &error), 0);
}

TEST(ChunkSizeTest, PowerOfTwoIsCheckedBeforeBlockSizeAndSize) {
  const char* error = nullptr;
  EXPECT_EQ(ValidateChunkSize(6, 4096, 4096, &error), -EINVAL);
  EXPECT_STREQ(error, "Chunk size is not a power of 2");
  EXPECT_EQ(ValidateChunkSize(0, 512, 512, &error), -EINVAL);
  EXPECT_STREQ(error, "Chunk size is not a power of 2");
  EXPECT_EQ(ValidateChunkSize(1u << 22, 512, 512, &error), -EINVAL);
  EXPECT_STREQ(error, "Chunk size is too high");
}

TEST(ChunkSizeTest, ParsingFollowsKstrtoul) {
  EXPECT_EQ(*ParseChunkSize("+8"), 8u);
  EXPECT_EQ(*ParseChunkSize("8\n"), 8u);
  EXPECT_EQ(*ParseChunkSize("0"), 0u);
  EXPECT_EQ(*ParseChunkSize("2147483647"), 2147483647u);
  EXPECT_FALSE(ParseChunkSize("8k").ok());
  EXPECT_FALSE(ParseChunkSize(" 8").ok());
  EXPECT_FALSE(ParseChunkSize("+").ok());
  EXPECT_FALSE(ParseChunkSize("99999999999999999999999").ok());
}

TEST(TransientStoreTest, HandsOutChunksFromTheStartUntilTheCowIsFull) {
  MemoryDevice origin(64, 512, "origin");
  MemoryDevice cow(24, 512, "cow");  // three chunks of 8
  auto created = CreateExceptionStore({"N", "8"}, &origin, &cow, {}, nullptr);
  ASSERT_TRUE(created.ok());
  ExceptionStore& store = **created;
  EXPECT_EQ(store.ReadMetadata([](chunk_t, chunk_t) { return 1; }), 0);
  std::vector<chunk_t> chunks;
  Exception e;
  while (store.PrepareException(&e) == 0) chunks.push_back(e.new_chunk);
  EXPECT_EQ(chunks, (std::vector<chunk_t>{0, 1, 2}));
  // 3.7.1's transient store says -1 when full, not -ENOSPC.
  EXPECT_EQ(store.PrepareException(&e), -1);
  sector_t total = 0, allocated = 0, metadata = 0;
  store.Usage(&total, &allocated, &metadata);
  EXPECT_EQ(total, 24u);
  EXPECT_EQ(allocated, 24u);
  EXPECT_EQ(metadata, 0u);
  int calls = 0;
  store.CommitException(e, [&calls](bool ok) { calls += ok ? 1 : 100; });
  EXPECT_EQ(calls, 1) << "commit succeeds at once";
  EXPECT_EQ(store.Status(StatusType::kInfo), "");
  EXPECT_TRUE(cow.bytes() == std::vector<uint8_t>(24 * 512, 0)) << "nothing is written";
}

}  // namespace
}  // namespace snapsim
