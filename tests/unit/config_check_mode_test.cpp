// --check-config: a missing secret is a located warning there, and still an error at start.
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include "pgconn/config.h"
#include "pgconn/config_overrides.h"

namespace pgconn {
namespace {

const char* kToml =
    "[[target]]\n"
    "name = \"main\"\n"
    "dsn = \"host=127.0.0.1 user=x\"\n"
    "password_env = \"PGCONN_CHECK_MODE_UNSET\"\n"
    "\n"
    "[[target]]\n"
    "name = \"other\"\n"
    "dsn = \"host=127.0.0.1 user=x\"\n"
    "password_file = \"/nonexistent/pgconn-check-mode.pw\"\n";

TEST(ConfigCheckModeTest, MissingPasswordSourcesAreWarningsOnlyWhenAsked) {
  unsetenv("PGCONN_CHECK_MODE_UNSET");
  try {
    ParseConfig(kToml, "c.toml");
    FAIL() << "expected a ConfigError at start";
  } catch (const ConfigError& error) {
    EXPECT_EQ(std::string(error.what()).rfind("c.toml:4:16: password_env: ", 0), 0u)
        << error.what();
  }
  LoadOptions check;
  check.secrets_optional = true;
  const Config config = ParseConfig(kToml, "c.toml", check);
  ASSERT_EQ(config.targets.size(), 2u);
  ASSERT_EQ(config.warnings.size(), 2u);
  EXPECT_EQ(config.warnings[0].rfind("c.toml:4:16: password_env: environment variable "
                                     "PGCONN_CHECK_MODE_UNSET is not set",
                                     0),
            0u)
      << config.warnings[0];
  EXPECT_NE(config.warnings[1].find("c.toml:9:"), std::string::npos) << config.warnings[1];
  EXPECT_NE(config.warnings[1].find("/nonexistent/pgconn-check-mode.pw"), std::string::npos);
}

TEST(ConfigCheckModeTest, CheckModeStillRejectsOtherErrors) {
  LoadOptions check;
  check.secrets_optional = true;
  EXPECT_THROW(ParseConfig(std::string(kToml) + "bogus = 1\n", "c.toml", check), ConfigError);
}

TEST(ConfigOverridesTest, FlagsReplaceTheFileAndAreValidated) {
  Config config;
  ConfigOverrides overrides;
  overrides.listen_address = ":9999";
  overrides.telemetry_path = "/m";
  overrides.log_level = ParseLogLevel("debug");
  overrides.log_format = ParseLogFormat("logfmt");
  ApplyOverrides(overrides, config);
  EXPECT_EQ(config.exporter.listen_address, "0.0.0.0:9999");
  EXPECT_EQ(config.exporter.telemetry_path, "/m");
  EXPECT_EQ(config.exporter.log_level, LogLevel::kDebug);
  EXPECT_EQ(config.exporter.log_format, LogFormat::kText);
  EXPECT_EQ(ParseLogFormat("json"), LogFormat::kJson);
  EXPECT_FALSE(ParseLogLevel("verbose").has_value());

  for (const char* path : {"metrics", "/", "/healthz", "/-/reload", "/a b"}) {
    ConfigOverrides bad;
    bad.telemetry_path = path;
    EXPECT_THROW(ApplyOverrides(bad, config), ConfigError) << path;
  }
  ConfigOverrides bad_address;
  bad_address.listen_address = "nope";
  try {
    ApplyOverrides(bad_address, config);
    FAIL();
  } catch (const ConfigError& error) {
    EXPECT_EQ(std::string(error.what()).rfind("--web.listen-address: ", 0), 0u) << error.what();
  }
}

}  // namespace
}  // namespace pgconn
