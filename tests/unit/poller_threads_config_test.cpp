// [exporter] poller_threads: the cap of the shared poll pool (issue 15).
#include <gtest/gtest.h>

#include <string>

#include "pgconn/config.h"
#include "pgconn/config_diff.h"
#include "support/config_errors.h"

namespace pgconn {
namespace {

TEST(PollerThreadsConfigTest, DefaultsTo100AndReadsTheKey) {
  EXPECT_EQ(ParseConfig(testing::kOneTarget, "x.toml").exporter.poller_threads, 100);
  EXPECT_EQ(ParseConfig("[exporter]\npoller_threads = 4\n" + testing::kOneTarget, "x.toml")
                .exporter.poller_threads,
            4);
}

TEST(PollerThreadsConfigTest, OutOfRangeOrWrongTypeIsALocatedError) {
  for (const std::string value : {"0", "-1", "1025", "\"8\"", "2.5"}) {
    const std::string error = testing::ConfigErrorOf("[exporter]\npoller_threads = " + value +
                                                     "\n" + testing::kOneTarget);
    EXPECT_NE(error.find("poller_threads"), std::string::npos) << value << ": " << error;
    EXPECT_NE(error.find("exporter.toml:2:"), std::string::npos) << value << ": " << error;
  }
}

TEST(PollerThreadsConfigTest, AChangeTakesEffectOnRestart) {
  const Config before = ParseConfig(testing::kOneTarget, "x.toml");
  const Config after =
      ParseConfig("[exporter]\npoller_threads = 8\n" + testing::kOneTarget, "x.toml");
  EXPECT_EQ(DiffConfigs(before, after).need_restart, std::vector<std::string>{"poller_threads"});
  EXPECT_TRUE(DiffConfigs(before, before).need_restart.empty());
}

}  // namespace
}  // namespace pgconn
