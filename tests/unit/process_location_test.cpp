// Where a target's server is, from its DSN: libpq's host lists, defaults, and what is local.
#include <gtest/gtest.h>

#include "pgconn/conninfo.h"
#include "pgconn/process_scan.h"

namespace pgconn {
namespace {

TargetLocation Locate(const std::string& dsn, const std::string& default_host = "",
                      const std::string& default_port = "") {
  const auto hosts = DsnHosts(dsn);
  EXPECT_TRUE(hosts) << dsn;
  const auto location =
      LocateTarget("t", hosts.value_or(std::vector<DsnHost>{}), default_host, default_port);
  EXPECT_TRUE(location) << dsn;
  return location.value_or(TargetLocation{});
}

SocketEndpoint At(const char* address, uint16_t port) { return {*ParseIpAddress(address), port}; }

TEST(ProcessLocationTest, DsnHostsSplitsLibpqListsAndSpreadsASinglePort) {
  const auto hosts = DsnHosts("host=a,b,/run/pg port=5433 dbname=x");
  ASSERT_TRUE(hosts);
  ASSERT_EQ(hosts->size(), 3u);
  EXPECT_EQ((*hosts)[1].host, "b");
  EXPECT_EQ((*hosts)[2].host, "/run/pg");
  EXPECT_EQ((*hosts)[2].port, "5433");
  const auto url = DsnHosts("postgresql://u@db1:5432,db2:6543/app");
  ASSERT_TRUE(url);
  ASSERT_EQ(url->size(), 2u);
  EXPECT_EQ((*url)[1].host, "db2");
  EXPECT_EQ((*url)[1].port, "6543");
  const auto none = DsnHosts("dbname=x");
  ASSERT_TRUE(none);
  ASSERT_EQ(none->size(), 1u);
  EXPECT_EQ((*none)[0].host, "");
  EXPECT_FALSE(DsnHosts("host=a,b port=1,2,3"));  // lists that do not line up
  EXPECT_FALSE(DsnHosts("host='unterminated"));
}

TEST(ProcessLocationTest, LoopbackAndUnixSocketsAreLocal) {
  const TargetLocation v4 = Locate("host=127.0.0.1 port=5433");
  EXPECT_EQ(v4.endpoints, std::vector<SocketEndpoint>{At("127.0.0.1", 5433)});
  EXPECT_EQ(v4.port, 5433);
  EXPECT_TRUE(IsLocal(v4));
  const TargetLocation localhost = Locate("host=localhost");
  EXPECT_EQ(localhost.endpoints,
            (std::vector<SocketEndpoint>{At("127.0.0.1", 5432), At("::1", 5432)}));
  EXPECT_TRUE(IsLocal(localhost));
  EXPECT_TRUE(IsLocal(Locate("host=::1")));
  EXPECT_TRUE(IsLocal(Locate("host=127.3.2.1")));
  const TargetLocation socket = Locate("host=/var/run/postgresql dbname=x");
  EXPECT_TRUE(socket.unix_socket);
  EXPECT_TRUE(socket.endpoints.empty());
  EXPECT_TRUE(IsLocal(socket));
  EXPECT_TRUE(IsLocal(Locate("dbname=x")));  // no host: libpq's default socket directory
}

TEST(ProcessLocationTest, RemoteAndNamedHostsAreNotLocalUntilResolved) {
  EXPECT_FALSE(IsLocal(Locate("host=10.0.0.7")));
  EXPECT_FALSE(IsLocal(Locate("host=127.0.0.1,10.0.0.7")));
  const TargetLocation named = Locate("host=db.internal port=6432");
  ASSERT_EQ(named.names.size(), 1u);
  EXPECT_EQ(named.names[0], (std::pair<std::string, uint16_t>{"db.internal", 6432}));
  EXPECT_FALSE(IsLocal(named));
  // hostaddr is what libpq connects to; host is then only a name for TLS and auth.
  const TargetLocation by_addr = Locate("host=db.internal hostaddr=10.1.2.3");
  EXPECT_EQ(by_addr.endpoints, std::vector<SocketEndpoint>{At("10.1.2.3", 5432)});
  EXPECT_TRUE(by_addr.names.empty());
}

TEST(ProcessLocationTest, PghostAndPgportFillWhatTheDsnLeavesOut) {
  const TargetLocation location = Locate("dbname=x", "127.0.0.1", "6000");
  EXPECT_EQ(location.endpoints, std::vector<SocketEndpoint>{At("127.0.0.1", 6000)});
  EXPECT_FALSE(location.unix_socket);
  EXPECT_FALSE(LocateTarget("t", {{"127.0.0.1", "", "http"}}));
  EXPECT_FALSE(LocateTarget("t", {{"", "not-an-ip", ""}}));
  EXPECT_EQ(LocalServerGroupName("main"), "postgres:main");
}

}  // namespace
}  // namespace pgconn
