#include "pgconn/pool_match.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>

#include "pgconn/target_metrics.h"

namespace pgconn {
namespace {

ActivityGroup Session(std::string application, std::string user = "app",
                      std::string database = "appdb", std::string client_addr = "10.0.0.5") {
  ActivityGroup group;
  group.backend_type = kClientBackend;
  group.application = std::move(application);
  group.user = std::move(user);
  group.database = std::move(database);
  group.client_addr = std::move(client_addr);
  group.state = "idle";
  group.sessions = group.others = 1;
  return group;
}

PoolConfig Pool(std::string name) {
  PoolConfig pool;
  pool.name = std::move(name);
  pool.size = 9;
  return pool;
}

TEST(PoolMatchTest, GlobsAndExactNames) {
  EXPECT_TRUE(GlobMatch("web-*", "web-1"));
  EXPECT_TRUE(GlobMatch("web-*", "web-"));
  EXPECT_FALSE(GlobMatch("web-*", "web"));
  EXPECT_FALSE(GlobMatch("web-*", "api-web-1"));
  EXPECT_TRUE(GlobMatch("web-?", "web-7"));
  EXPECT_FALSE(GlobMatch("web-?", "web-17"));
  EXPECT_TRUE(GlobMatch("web-[0-9]*", "web-42"));
  EXPECT_FALSE(GlobMatch("web-[0-9]*", "web-x"));
  EXPECT_TRUE(GlobMatch("web", "web"));
  EXPECT_FALSE(GlobMatch("web", "Web"));
  EXPECT_TRUE(GlobMatch("*", ""));
}

TEST(PoolMatchTest, ParsesAddressesAndCidrs) {
  const auto single = ParseAddressRange("10.1.2.3");
  ASSERT_TRUE(single);
  EXPECT_EQ(single->family, AF_INET);
  EXPECT_EQ(single->prefix_length, 32);
  const auto block = ParseAddressRange("10.0.0.0/8");
  ASSERT_TRUE(block);
  EXPECT_EQ(block->prefix_length, 8);
  EXPECT_EQ(block->text, "10.0.0.0/8");
  const auto v6 = ParseAddressRange("fd00::/8");
  ASSERT_TRUE(v6);
  EXPECT_EQ(v6->family, AF_INET6);
  for (const char* bad : {"", "10.0.0", "10.0.0.0/33", "10.0.0.0/", "10.0.0.0/08", "host",
                          "10.0.0.0/8/8", "::1/129", "10.0.0.0/-1"}) {
    EXPECT_FALSE(ParseAddressRange(bad)) << bad;
  }
}

TEST(PoolMatchTest, CidrMembershipV4) {
  const AddressRange block = *ParseAddressRange("127.0.0.0/30");
  EXPECT_TRUE(AddressInRange("127.0.0.0", block));
  EXPECT_TRUE(AddressInRange("127.0.0.3", block));
  EXPECT_FALSE(AddressInRange("127.0.0.4", block));
  EXPECT_FALSE(AddressInRange("", block));  // Unix socket sessions have no address
  EXPECT_FALSE(AddressInRange("::1", block));
  const AddressRange odd = *ParseAddressRange("192.168.1.0/23");  // host bits ignored
  EXPECT_TRUE(AddressInRange("192.168.0.200", odd));
  EXPECT_FALSE(AddressInRange("192.168.2.1", odd));
  const AddressRange all = *ParseAddressRange("0.0.0.0/0");
  EXPECT_TRUE(AddressInRange("203.0.113.9", all));
  const AddressRange one = *ParseAddressRange("10.0.0.5");
  EXPECT_TRUE(AddressInRange("10.0.0.5", one));
  EXPECT_FALSE(AddressInRange("10.0.0.6", one));
  EXPECT_TRUE(AddressInRange("fd00::1", *ParseAddressRange("fd00::/8")));
}

TEST(PoolMatchTest, EveryConfiguredKeyMustHold) {
  PoolConfig pool = Pool("web");
  pool.application_name = "web-*";
  pool.user = "app";
  pool.client_addr = ParseAddressRange("10.0.0.0/24");
  EXPECT_TRUE(PoolMatches(pool, Session("web-1")));
  EXPECT_FALSE(PoolMatches(pool, Session("web-1", "other")));
  EXPECT_FALSE(PoolMatches(pool, Session("web-1", "app", "appdb", "10.0.1.5")));
  EXPECT_FALSE(PoolMatches(pool, Session("worker-1")));
  pool.database = "otherdb";
  EXPECT_FALSE(PoolMatches(pool, Session("web-1")));
  EXPECT_TRUE(PoolMatches(Pool("catch-all"), Session("anything")));
}

TEST(PoolMatchTest, FirstPoolInFileOrderWins) {
  PoolConfig web = Pool("web");
  web.application_name = "web-*";
  PoolConfig by_user = Pool("app-user");
  by_user.user = "app";
  const std::vector<PoolConfig> pools = {web, by_user};
  EXPECT_EQ(FindPool(pools, Session("web-1")), 0u);  // matches both: the first wins
  EXPECT_EQ(FindPool(pools, Session("cron")), 1u);
  EXPECT_EQ(FindPool(pools, Session("cron", "admin")), std::nullopt);
  const std::vector<PoolConfig> reversed = {by_user, web};
  EXPECT_EQ(FindPool(reversed, Session("web-1")), 0u);
}

TEST(PoolMatchTest, InstanceLabels) {
  PoolConfig pool = Pool("web");
  EXPECT_EQ(InstanceOf(pool, Session("web-1")), "");
  pool.instance_by = InstanceBy::kApplicationName;
  EXPECT_EQ(InstanceOf(pool, Session("web-1")), "web-1");
  EXPECT_EQ(InstanceOf(pool, Session("")), kUnnamedInstance);
  pool.instance_by = InstanceBy::kClientAddr;
  EXPECT_EQ(InstanceOf(pool, Session("web-1")), "10.0.0.5");
  EXPECT_EQ(InstanceOf(pool, Session("web-1", "app", "appdb", "")), kLocalInstance);
}

}  // namespace
}  // namespace pgconn
