// Issue 14's [[target]] keys: server_log and by_client_addr.
#include <gtest/gtest.h>

#include <string>

#include "pgconn/config.h"
#include "support/config_errors.h"

namespace pgconn {
namespace {

TEST(ChurnConfigTest, DefaultsAreOff) {
  const Config config = ParseConfig(testing::kOneTarget, "/etc/pgconn/exporter.toml");
  EXPECT_EQ(config.targets[0].server_log, "");
  EXPECT_FALSE(config.targets[0].by_client_addr);
}

TEST(ChurnConfigTest, ServerLogIsResolvedAgainstTheConfigDirectory) {
  const Config config = ParseConfig(
      testing::kOneTarget + "server_log = \"log/postgresql.log\"\nby_client_addr = true\n",
      "/etc/pgconn/exporter.toml");
  EXPECT_EQ(config.targets[0].server_log, "/etc/pgconn/log/postgresql.log");
  EXPECT_TRUE(config.targets[0].by_client_addr);
  EXPECT_EQ(ParseConfig(testing::kOneTarget + "server_log = \"/var/log/pg.csv\"\n", "x.toml")
                .targets[0]
                .server_log,
            "/var/log/pg.csv");
}

TEST(ChurnConfigTest, BadValuesAreClearErrors) {
  EXPECT_NE(testing::ConfigErrorOf(testing::kOneTarget + "server_log = \"\"\n").find("server_log"),
            std::string::npos);
  EXPECT_NE(testing::ConfigErrorOf(testing::kOneTarget + "server_log = 3\n").find("server_log"),
            std::string::npos);
  EXPECT_NE(testing::ConfigErrorOf(testing::kOneTarget + "by_client_addr = \"yes\"\n")
                .find("by_client_addr"),
            std::string::npos);
}

}  // namespace
}  // namespace pgconn
