// tail -F semantics of the log follower on real files in a temporary directory.
#include "pgconn/log_follower.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace pgconn {
namespace {

namespace fs = std::filesystem;

class LogFollowerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/pgconn_log_follower_XXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr);
    dir_ = pattern;
    path_ = (dir_ / "postgresql.log").string();
  }
  void TearDown() override { fs::remove_all(dir_); }

  void Append(const std::string& text, const std::string& path = "") {
    std::ofstream out(path.empty() ? path_ : path, std::ios::app | std::ios::binary);
    out << text;
  }
  std::vector<std::string> PollLines(LogFollower& follower) {
    std::vector<std::string> lines;
    follower.Poll([&](std::string_view line) { lines.emplace_back(line); });
    return lines;
  }

  fs::path dir_;
  std::string path_;
};

using Lines = std::vector<std::string>;

TEST_F(LogFollowerTest, FirstReadStartsAtTheEnd) {
  Append("history 1\nhistory 2\n");
  LogFollower follower(path_);
  EXPECT_TRUE(follower.stats().open);
  EXPECT_EQ(PollLines(follower), Lines{});
  Append("new 1\nnew 2\n");
  EXPECT_EQ(PollLines(follower), (Lines{"new 1", "new 2"}));
  EXPECT_EQ(PollLines(follower), Lines{});
}

TEST_F(LogFollowerTest, MissingAtStartIsReadFromItsBeginningWhenItAppears) {
  LogFollower follower(path_);
  EXPECT_FALSE(follower.stats().open);
  EXPECT_EQ(follower.stats().open_errno, ENOENT);
  EXPECT_EQ(PollLines(follower), Lines{});
  Append("first\n");
  EXPECT_EQ(PollLines(follower), Lines{"first"});
  EXPECT_TRUE(follower.stats().open);
}

TEST_F(LogFollowerTest, RotationByRenameLosesNoLineAndRepeatsNone) {
  Append("");
  LogFollower follower(path_);
  Append("a\n");
  EXPECT_EQ(PollLines(follower), Lines{"a"});
  // The writer still holds the old file after the rename and writes once more before switching.
  std::FILE* writer = std::fopen(path_.c_str(), "a");
  ASSERT_NE(writer, nullptr);
  fs::rename(path_, path_ + ".1");
  std::fputs("b\nc-unterminated", writer);
  std::fclose(writer);
  EXPECT_EQ(PollLines(follower), Lines{"b"});  // nothing at the path yet: keep the old file
  Append("d\n");                               // the new file
  EXPECT_EQ(PollLines(follower), (Lines{"c-unterminated", "d"}));
  EXPECT_EQ(follower.stats().rotations, 1u);
  Append("e\n");
  EXPECT_EQ(PollLines(follower), Lines{"e"});
}

TEST_F(LogFollowerTest, TruncationRewinds) {
  Append("");
  LogFollower follower(path_);
  Append("one\ntwo\n");
  EXPECT_EQ(PollLines(follower), (Lines{"one", "two"}));
  fs::resize_file(path_, 0);
  Append("z\n");
  EXPECT_EQ(PollLines(follower), Lines{"z"});
  EXPECT_EQ(follower.stats().truncations, 1u);
}

TEST_F(LogFollowerTest, PartialLineWaitsForItsNewline) {
  Append("");
  LogFollower follower(path_);
  Append("abc");
  EXPECT_EQ(PollLines(follower), Lines{});
  Append("def\nghi\n");
  EXPECT_EQ(PollLines(follower), (Lines{"abcdef", "ghi"}));
}

TEST_F(LogFollowerTest, OneMegabyteLineIsCutAndTheNextLineIsIntact) {
  Append("");
  LogFollower follower(path_, 4096);
  Append(std::string(1 << 20, 'x') + "\nafter\n");
  const Lines lines = PollLines(follower);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0], std::string(4096, 'x'));
  EXPECT_EQ(lines[1], "after");
  EXPECT_EQ(follower.stats().truncated_lines, 1u);
}

TEST_F(LogFollowerTest, BinaryGarbageIsJustBytes) {
  Append("");
  LogFollower follower(path_);
  std::string garbage;
  for (int i = 0; i < 256; ++i) {
    if (i != '\n') garbage += static_cast<char>(i);
  }
  Append(garbage + "\nok\n");
  const Lines lines = PollLines(follower);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0], garbage);
  EXPECT_EQ(lines[1], "ok");
}

}  // namespace
}  // namespace pgconn
