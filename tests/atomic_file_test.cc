// SPDX-License-Identifier: GPL-2.0-only
//
// util/atomic_file: what the user has at a path is never replaced by accident, and a read error
// or a path that is no file is an error, never a short or hanging read.
#include "util/atomic_file.h"

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "gtest/gtest.h"

namespace snapsim {
namespace {

class AtomicFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ::testing::TempDir() + "/atomic_file_" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  std::string dir_;
};

TEST_F(AtomicFileTest, ReplacesARegularFileButNeverADirectoryOrAFifo) {
  const std::string file = dir_ + "/summary.json";
  ASSERT_TRUE(WriteFileAtomically(file, "old").ok());
  ASSERT_TRUE(WriteFileAtomically(file, "new").ok());
  EXPECT_EQ(*ReadWholeFile(file), "new");

  const std::string fifo = dir_ + "/fifo";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  const absl::Status s = WriteFileAtomically(fifo, "data");
  EXPECT_EQ(s.message(), fifo + ": exists and is not a regular file; not replaced");
  struct stat st;
  ASSERT_EQ(::lstat(fifo.c_str(), &st), 0);
  EXPECT_TRUE(S_ISFIFO(st.st_mode)) << "the FIFO was replaced";

  const std::string sub = dir_ + "/sub";
  std::filesystem::create_directory(sub);
  EXPECT_FALSE(WriteFileAtomically(sub, "data").ok());
  EXPECT_TRUE(std::filesystem::is_directory(sub));
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir_),
                          std::filesystem::directory_iterator()),
            3)
      << "a temporary file was left behind";
}

TEST_F(AtomicFileTest, ANewFileNeverReplacesAnExistingOne) {
  const std::string file = dir_ + "/trace.jsonl";
  EXPECT_TRUE(CheckNewFilePath(file).ok());
  ASSERT_TRUE(WriteNewFileAtomically(file, "mine").ok());
  EXPECT_EQ(CheckNewFilePath(file).code(), absl::StatusCode::kAlreadyExists);
  const absl::Status s = WriteNewFileAtomically(file, "theirs");
  EXPECT_EQ(s.message(), file + ": exists; not overwritten");
  EXPECT_EQ(*ReadWholeFile(file), "mine");
}

// The last step of WriteNewFileAtomically: a file that appears after the check (another process)
// is still not replaced, and the temporary file stays for the caller to remove.
TEST_F(AtomicFileTest, RenameNoReplaceRefusesAFileThatIsThereAtTheRename) {
  const std::string from = dir_ + "/new.tmp", to = dir_ + "/image";
  ASSERT_TRUE(WriteFileAtomically(from, "new").ok());
  ASSERT_TRUE(WriteFileAtomically(to, "theirs").ok());
  const absl::Status s = RenameNoReplace(from, to);
  EXPECT_EQ(s.code(), absl::StatusCode::kAlreadyExists) << s;
  EXPECT_EQ(*ReadWholeFile(to), "theirs");
  EXPECT_EQ(*ReadWholeFile(from), "new");
  std::filesystem::remove(to);
  EXPECT_TRUE(RenameNoReplace(from, to).ok());
  EXPECT_EQ(*ReadWholeFile(to), "new");
  EXPECT_FALSE(std::filesystem::exists(from));
}

TEST_F(AtomicFileTest, ReadingADirectoryOrAFifoIsAnErrorThatNamesIt) {
  absl::StatusOr<std::string> d = ReadWholeFile(dir_);
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.status().message(), dir_ + ": is a directory, not a file");

  const std::string fifo = dir_ + "/fifo";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  absl::StatusOr<std::string> f = ReadWholeFile(fifo);  // no writer: must not block
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.status().message(), fifo + ": not a regular file");

  EXPECT_EQ(ReadWholeFile(dir_ + "/missing").status().code(), absl::StatusCode::kNotFound);
}

TEST_F(AtomicFileTest, ReadsAFileLargerThanOneBufferWhole) {
  const std::string file = dir_ + "/big";
  std::string content(300'000, 'x');
  content[299'999] = 'y';
  ASSERT_TRUE(WriteFileAtomically(file, content).ok());
  EXPECT_EQ(*ReadWholeFile(file), content);
}

}  // namespace
}  // namespace snapsim
