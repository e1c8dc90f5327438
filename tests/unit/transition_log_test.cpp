#include "pgconn/transition_log.h"

#include <gtest/gtest.h>

namespace pgconn {
namespace {

TEST(TransitionLogTest, OneLinePerKeyPerWindowThenCountsWhatWasHeldBack) {
  TransitionLog log(std::chrono::seconds(60));
  const auto t0 = TransitionLog::Clock::time_point{};
  EXPECT_EQ(log.Admit("auth", t0), 0u);
  EXPECT_EQ(log.Admit("up", t0), 0u);  // another key is not limited by the first
  EXPECT_FALSE(log.Admit("auth", t0 + std::chrono::seconds(10)));
  EXPECT_FALSE(log.Admit("auth", t0 + std::chrono::seconds(59)));
  EXPECT_EQ(log.Admit("auth", t0 + std::chrono::seconds(60)), 2u);
  EXPECT_EQ(log.Admit("auth", t0 + std::chrono::seconds(200)), 0u);
  EXPECT_FALSE(log.Admit("up", t0 + std::chrono::seconds(1)));
  EXPECT_EQ(log.Admit("up", t0 + std::chrono::seconds(2), true), 1u);  // forced through
}

TEST(TransitionLogTest, SuppressedNoteOnlyWhenSomethingWasHeldBack) {
  EXPECT_EQ(SuppressedNote(0), "");
  EXPECT_EQ(SuppressedNote(3), " (3 similar lines suppressed since the last one)");
}

}  // namespace
}  // namespace pgconn
