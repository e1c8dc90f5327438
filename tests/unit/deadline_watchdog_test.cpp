#include "pgconn/deadline_watchdog.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <thread>

namespace pgconn {
namespace {

using Millis = std::chrono::milliseconds;

struct SocketPair {
  int fds[2] = {-1, -1};
  SocketPair() { EXPECT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0); }
  ~SocketPair() {
    close(fds[0]);
    close(fds[1]);
  }
};

TEST(DeadlineWatchdogTest, UnblocksAReadThatWouldWaitForever) {
  DeadlineWatchdog watchdog;
  SocketPair pair;
  auto guard = watchdog.Arm(pair.fds[0], DeadlineWatchdog::Clock::now() + Millis(100));
  char byte = 0;
  // Nobody writes to the peer: without the watchdog this read never returns.
  const ssize_t got = read(pair.fds[0], &byte, 1);
  EXPECT_EQ(got, 0);
  EXPECT_TRUE(guard.fired());
}

TEST(DeadlineWatchdogTest, DisarmedGuardLeavesTheSocketAlone) {
  DeadlineWatchdog watchdog;
  SocketPair pair;
  {
    auto guard = watchdog.Arm(pair.fds[0], DeadlineWatchdog::Clock::now() + Millis(50));
    EXPECT_FALSE(guard.fired());
  }
  std::this_thread::sleep_for(Millis(120));
  ASSERT_EQ(write(pair.fds[1], "x", 1), 1);
  char byte = 0;
  EXPECT_EQ(read(pair.fds[0], &byte, 1), 1);
  EXPECT_EQ(byte, 'x');
}

}  // namespace
}  // namespace pgconn
