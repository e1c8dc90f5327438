#include <gtest/gtest.h>

#include "pgconn/config.h"

namespace pgconn {
namespace {

constexpr const char* kTargets =
    "[[target]]\nname = \"main\"\ndsn = \"host=x\"\n"      // lines 1-3
    "[[target]]\nname = \"reports\"\ndsn = \"host=y\"\n";  // lines 4-6

Config Parse(const std::string& pools, const std::string& targets = kTargets) {
  return ParseConfig(targets + pools, "p.toml");
}

std::string Error(const std::string& pools, const std::string& targets = kTargets) {
  try {
    Parse(pools, targets);
  } catch (const ConfigError& error) {
    return error.what();
  }
  return "";
}

TEST(PoolConfigTest, ReadsPoolsAndAttachesThemToTheirTargets) {
  const Config config = Parse(
      "[[pool]]\nname = \"web\"\ntarget = \"main\"\napplication_name = \"web-*\"\nsize = 9\n"
      "instances = 5\ninstance_by = \"application_name\"\n"
      "[[pool]]\nname = \"etl\"\ntarget = \"reports\"\nuser = \"etl\"\ndatabase = \"dw\"\n"
      "client_addr = \"10.0.0.0/8\"\ncpus = 4\ninstance_by = \"client_addr\"\n"
      "max_instance_series = 7\n"
      "[[pool]]\nname = \"api\"\ntarget = \"main\"\n"
      "database_url = \"postgresql://api:s3cret@db:5432/app?connection_limit=12\"\n");
  ASSERT_EQ(config.targets[0].pools.size(), 2u);
  ASSERT_EQ(config.targets[1].pools.size(), 1u);
  const PoolConfig& web = config.targets[0].pools[0];
  EXPECT_EQ(web.name, "web");
  EXPECT_EQ(web.target, "main");
  EXPECT_EQ(web.application_name, "web-*");
  EXPECT_EQ(web.size, 9);
  EXPECT_EQ(web.size_source, "size");
  EXPECT_EQ(web.instances, 5);
  EXPECT_EQ(web.instance_by, InstanceBy::kApplicationName);
  EXPECT_EQ(web.max_instance_series, 50);
  const PoolConfig& etl = config.targets[1].pools[0];
  EXPECT_EQ(etl.user, "etl");
  EXPECT_EQ(etl.database, "dw");
  ASSERT_TRUE(etl.client_addr);
  EXPECT_EQ(etl.client_addr->prefix_length, 8);
  EXPECT_EQ(etl.size, 9);  // Prisma's default for 4 CPUs
  EXPECT_EQ(etl.size_source, "Prisma default, cpus 4 x 2 + 1");
  EXPECT_EQ(etl.instances, 1);
  EXPECT_EQ(etl.max_instance_series, 7);
  const PoolConfig& api = config.targets[0].pools[1];
  EXPECT_EQ(api.size, 12);
  EXPECT_EQ(api.size_source, "database_url connection_limit");
  EXPECT_EQ(api.instance_by, InstanceBy::kNone);
}

TEST(PoolConfigTest, DatabaseUrlWithoutLimitUsesCpus) {
  const Config config = Parse(
      "[[pool]]\nname = \"web\"\ntarget = \"main\"\n"
      "database_url = \"postgres://web@db/app\"\ncpus = 2\n");
  EXPECT_EQ(config.targets[0].pools[0].size, 5);
  EXPECT_EQ(config.targets[0].pools[0].size_source,
            "database_url without connection_limit: Prisma default, cpus 2 x 2 + 1");
}

TEST(PoolConfigTest, ReserveTakesCountsPercentagesAndBoth) {
  const auto reserve_of = [](const std::string& value) {
    return Parse("", "[[target]]\nname = \"main\"\ndsn = \"host=x\"\nreserve = " + value + "\n")
        .targets[0]
        .reserve;
  };
  EXPECT_EQ(reserve_of("10").connections, 10);
  EXPECT_EQ(reserve_of("\"20%\"").percent_hundredths, 2000);
  const ReserveConfig both = reserve_of("\"10 + 20%\"");
  EXPECT_EQ(both.connections, 10);
  EXPECT_EQ(both.percent_hundredths, 2000);
  EXPECT_FALSE(Parse("").targets[0].reserve.configured());
}

TEST(PoolConfigTest, ErrorsCarryFileLineColumn) {
  const std::string head = "[[pool]]\nname = \"web\"\n";  // lines 7-8
  EXPECT_EQ(Error(head + "target = \"nope\"\nsize = 9\n"),
            "p.toml:9:10: target: unknown target \"nope\" (defined targets: main, reports)");
  EXPECT_EQ(Error(head + "target = \"main\"\nsize = 9\ncpus = 4\n"),
            "p.toml:11:8: cpus: set only one of size, database_url and cpus (cpus may go with "
            "database_url)");
  EXPECT_EQ(Error(head + "target = \"main\"\ndatabase_url = \"postgresql://db/a\"\nsize = 9\n"),
            "p.toml:11:8: size: set only one of size, database_url and cpus (cpus may go with "
            "database_url)");
  EXPECT_EQ(Error(head + "target = \"main\"\n"),
            "p.toml:7:1: [[pool]] \"web\" needs a pool size: set size, database_url or cpus");
  EXPECT_EQ(Error(head + "target = \"main\"\ndatabase_url = \"mysql://db/a\"\n"),
            "p.toml:10:16: database_url: invalid URL: expected postgresql:// or postgres://");
  EXPECT_EQ(Error(head + "target = \"main\"\ndatabase_url = \"postgresql://db/a\"\n"),
            "p.toml:10:16: database_url: has no connection_limit: add it, or set cpus (Prisma "
            "then opens cpus x 2 + 1)");
  EXPECT_EQ(Error(head + "target = \"main\"\nsize = 0\n"),
            "p.toml:10:8: size: must be >= 1, got 0");
  EXPECT_EQ(Error(head + "target = \"main\"\nsize = 9\ninstance_by = \"pod\"\n"),
            "p.toml:11:15: instance_by: invalid value \"pod\" (expected one of: client_addr, "
            "application_name, none)");
  EXPECT_EQ(Error(head + "target = \"main\"\nsize = 9\nclient_addr = \"10.0.0.0/40\"\n"),
            "p.toml:11:15: client_addr: invalid address or CIDR \"10.0.0.0/40\" (e.g. 10.1.2.3, "
            "10.0.0.0/8, fd00::/8)");
  EXPECT_EQ(Error(head + "target = \"main\"\nsize = 9\napplication_name = \"\"\n"),
            "p.toml:11:20: application_name: must not be empty");
  EXPECT_EQ(Error(head + "target = \"main\"\nsise = 9\n"),
            "p.toml:10:1: unknown key 'sise' in [[pool]]");
  EXPECT_EQ(Error("[[pool]]\nname = \"web\"\nsize = 9\n"),
            "p.toml:7:1: missing required key 'target' in [[pool]]");
}

TEST(PoolConfigTest, NamesAreCheckedPerTarget) {
  const std::string web = "[[pool]]\nname = \"web\"\ntarget = \"main\"\nsize = 9\n";  // 7-10
  EXPECT_EQ(Error(web + web),
            "p.toml:12:8: name: duplicate pool name \"web\" for target \"main\" "
            "(first defined on line 8)");
  EXPECT_EQ(Error("[[pool]]\nname = \"web\"\ntarget = \"reports\"\nsize = 9\n" + web), "");
  EXPECT_EQ(Error("[[pool]]\nname = \"__unpooled__\"\ntarget = \"main\"\nsize = 9\n"),
            "p.toml:8:8: name: pool names starting with \"__\" are reserved (\"__unpooled__\" "
            "holds the sessions in no pool)");
  EXPECT_EQ(Error("[[pool]]\nname = \"a b\"\ntarget = \"main\"\nsize = 9\n"),
            "p.toml:8:8: name: invalid pool name \"a b\" (use letters, digits and _ . : - only)");
}

TEST(PoolConfigTest, ReserveErrors) {
  const std::string target = "[[target]]\nname = \"main\"\ndsn = \"host=x\"\nreserve = ";
  EXPECT_EQ(Error("", target + "\"lots\"\n"),
            "p.toml:4:11: reserve: invalid reserve \"lots\" (use a count such as 10, a percentage "
            "such as \"20%\", or both: \"10 + 20%\")");
  EXPECT_EQ(Error("", target + "-1\n"), "p.toml:4:11: reserve: must be >= 0, got -1");
  EXPECT_EQ(Error("", target + "0.2\n"),
            "p.toml:4:11: reserve: expected an integer or a string such as \"20%\", got float");
}

TEST(PoolConfigTest, TheUrlPasswordIsNeverKeptOrShown) {
  const std::string secret = "Sup3r-s3cret";
  const std::string head = "[[pool]]\nname = \"web\"\ntarget = \"main\"\n";
  for (const std::string& url :
       {"postgresql://web:" + secret + "@db:bad/app?connection_limit=3",
        "postgresql://web:" + secret + "@db/app?connection_limit=x",
        "postgresql://web:" + secret + "@db/app", "mysql://web:" + secret + "@db/app"}) {
    const std::string error = Error(head + "database_url = \"" + url + "\"\n");
    EXPECT_FALSE(error.empty()) << url;
    EXPECT_EQ(error.find(secret), std::string::npos) << error;
  }
  const Config config = Parse(head + "database_url = \"postgresql://web:" + secret +
                              "@db/app?connection_limit=3\"\n");
  const PoolConfig& pool = config.targets[0].pools[0];
  for (const std::string& field : {pool.name, pool.target, pool.size_source}) {
    EXPECT_EQ(field.find(secret), std::string::npos);
  }
}

}  // namespace
}  // namespace pgconn
