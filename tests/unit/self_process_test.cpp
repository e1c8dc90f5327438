#include "pgconn/self_process.h"

#include <gtest/gtest.h>

namespace pgconn {
namespace {

constexpr const char* kStat =
    "4242 (pgconn (x) exporter) S 1 4242 4242 0 -1 4194560 1197 0 0 0 150 50 0 0 20 0 9 0 "
    "123456 107106304 3007 18446744073709551615 1 1 0 0 0 0 0 4096 0 0 0 0 17 1 0 0 0 0 0";

TEST(ParseProcStatTest, ReadsFieldsAfterACommandWithParentheses) {
  auto stat = ParseProcStat(kStat);
  ASSERT_TRUE(stat);
  EXPECT_EQ(stat->utime_ticks, 150);
  EXPECT_EQ(stat->stime_ticks, 50);
  EXPECT_EQ(stat->start_ticks, 123456);
  EXPECT_EQ(stat->vsize_bytes, 107106304);
  EXPECT_EQ(stat->rss_pages, 3007);
}

TEST(ParseProcStatTest, TruncatedOrGarbageIsAnError) {
  EXPECT_FALSE(ParseProcStat("4242 (x) S 1 2 3"));
  EXPECT_FALSE(ParseProcStat("no parenthesis at all"));
  EXPECT_FALSE(ParseProcStat(
      "1 (x) S 1 1 1 0 -1 0 0 0 0 0 abc 50 0 0 20 0 9 0 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1"));
}

TEST(ParseBootTimeTest, FindsBtime) {
  EXPECT_EQ(ParseBootTime("cpu  1 2 3\nintr 5\nbtime 1700000000\nprocesses 9\n"), 1700000000);
  EXPECT_FALSE(ParseBootTime("cpu 1 2 3\n"));
}

TEST(ParseMaxOpenFilesTest, SoftLimitOrUnlimited) {
  const char* limits =
      "Limit                     Soft Limit           Hard Limit           Units     \n"
      "Max cpu time              unlimited            unlimited            seconds   \n"
      "Max open files            1024                 524288               files     \n";
  EXPECT_EQ(ParseMaxOpenFiles(limits), 1024);
  EXPECT_FALSE(ParseMaxOpenFiles(
      "Max open files            unlimited            unlimited            files\n"));
  EXPECT_FALSE(ParseMaxOpenFiles("Max open files            \n"));
}

TEST(ReadSelfProcessTest, ReadsTheRealProcfs) {
  auto self = ReadSelfProcess("/proc");
  ASSERT_TRUE(self);
  EXPECT_GT(self->resident_bytes, 0);
  EXPECT_GT(self->open_fds, 2);
  EXPECT_GT(self->start_time_unix, 1e9);
}

TEST(ReadSelfProcessTest, MissingProcfsIsNotACrash) {
  EXPECT_FALSE(ReadSelfProcess("/nonexistent-procfs"));
}

}  // namespace
}  // namespace pgconn
