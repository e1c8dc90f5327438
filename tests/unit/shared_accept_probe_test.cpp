#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "pgconn/accept_probe.h"

namespace pgconn {
namespace {

using std::chrono::milliseconds;

AcceptEndpoint Tcp(const std::string& host, const std::string& port) {
  AcceptEndpoint endpoint;
  endpoint.host = host;
  endpoint.port = port;
  return endpoint;
}

AcceptEndpoint Unix(const std::string& path) {
  AcceptEndpoint endpoint;
  endpoint.socket_path = path;
  return endpoint;
}

// Counts the real probes and answers "accepting" only for port 5432.
class SharedAcceptProbeTest : public ::testing::Test {
 protected:
  std::atomic<int> probes{0};
  SharedAcceptProbe shared{[this](const AcceptEndpoint& endpoint, milliseconds) {
    ++probes;
    return AcceptProbeResult{endpoint.port == "5432", 0.001,
                             endpoint.port == "5432" ? "" : "refused"};
  }};
};

TEST_F(SharedAcceptProbeTest, TargetsOnOneServerShareOneProbeWithinMaxAge) {
  for (int target = 0; target < 1000; ++target) {
    EXPECT_TRUE(shared.Probe(Tcp("db", "5432"), milliseconds(100), milliseconds(60000)).accepting);
  }
  EXPECT_EQ(probes.load(), 1);
}

TEST_F(SharedAcceptProbeTest, EachServerIsProbedOnItsOwn) {
  EXPECT_TRUE(shared.Probe(Tcp("db", "5432"), milliseconds(100), milliseconds(60000)).accepting);
  const AcceptProbeResult other =
      shared.Probe(Tcp("db", "6432"), milliseconds(100), milliseconds(60000));
  EXPECT_FALSE(other.accepting);
  EXPECT_EQ(other.error, "refused");
  shared.Probe(Tcp("db2", "5432"), milliseconds(100), milliseconds(60000));
  shared.Probe(Unix("/run/postgresql/.s.PGSQL.5432"), milliseconds(100), milliseconds(60000));
  EXPECT_EQ(probes.load(), 4);
}

TEST_F(SharedAcceptProbeTest, AnOlderAnswerIsProbedAgain) {
  shared.Probe(Tcp("db", "5432"), milliseconds(100), milliseconds(20));
  std::this_thread::sleep_for(milliseconds(40));
  shared.Probe(Tcp("db", "5432"), milliseconds(100), milliseconds(20));
  EXPECT_EQ(probes.load(), 2);
}

// A poll interval of 1 s shares for 0.5 s: one target polling every second still probes each time.
TEST_F(SharedAcceptProbeTest, ZeroMaxAgeAlwaysProbes) {
  for (int i = 0; i < 3; ++i) shared.Probe(Tcp("db", "5432"), milliseconds(100), milliseconds(0));
  EXPECT_EQ(probes.load(), 3);
}

}  // namespace
}  // namespace pgconn
