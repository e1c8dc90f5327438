// Issue 14's [[target]] keys: server_log and by_client_addr.
#include <gtest/gtest.h>

#include <string>

#include "pgconn/config.h"

namespace pgconn {
namespace {

const std::string kTarget =
    "[[target]]\nname = \"main\"\ndsn = \"host=127.0.0.1 dbname=postgres user=mon\"\n";

std::string ErrorOf(const std::string& toml) {
  try {
    ParseConfig(toml, "/etc/pgconn/exporter.toml");
  } catch (const ConfigError& error) {
    return error.what();
  }
  return "";
}

TEST(ChurnConfigTest, DefaultsAreOff) {
  const Config config = ParseConfig(kTarget, "/etc/pgconn/exporter.toml");
  EXPECT_EQ(config.targets[0].server_log, "");
  EXPECT_FALSE(config.targets[0].by_client_addr);
}

TEST(ChurnConfigTest, ServerLogIsResolvedAgainstTheConfigDirectory) {
  const Config config =
      ParseConfig(kTarget + "server_log = \"log/postgresql.log\"\nby_client_addr = true\n",
                  "/etc/pgconn/exporter.toml");
  EXPECT_EQ(config.targets[0].server_log, "/etc/pgconn/log/postgresql.log");
  EXPECT_TRUE(config.targets[0].by_client_addr);
  EXPECT_EQ(
      ParseConfig(kTarget + "server_log = \"/var/log/pg.csv\"\n", "x.toml").targets[0].server_log,
      "/var/log/pg.csv");
}

TEST(ChurnConfigTest, BadValuesAreClearErrors) {
  EXPECT_NE(ErrorOf(kTarget + "server_log = \"\"\n").find("server_log"), std::string::npos);
  EXPECT_NE(ErrorOf(kTarget + "server_log = 3\n").find("server_log"), std::string::npos);
  EXPECT_NE(ErrorOf(kTarget + "by_client_addr = \"yes\"\n").find("by_client_addr"),
            std::string::npos);
}

}  // namespace
}  // namespace pgconn
