#include "pgconn/config.h"

#include <gtest/gtest.h>

#include <cstdlib>  // setenv, unsetenv, mkdtemp
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "../../src/config/toml_reader.h"

namespace pgconn {
namespace {

using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;

const std::string kFixtures = std::string(PGCONN_FIXTURES_DIR) + "/config/";

// The message of the ConfigError thrown by `load`, or "" when nothing was thrown.
template <typename F>
std::string ErrorOf(F&& load) {
  try {
    load();
  } catch (const ConfigError& error) {
    return error.what();
  }
  return "";
}

std::string LoadError(const std::string& fixture) {
  return ErrorOf([&] { LoadConfigFile(kFixtures + fixture); });
}

// Sets an environment variable for the lifetime of the object.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) { setenv(name, value, 1); }
  ~ScopedEnv() { unsetenv(name_.c_str()); }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  std::string name_;
};

class TempDir {
 public:
  TempDir() {
    std::string pattern = std::filesystem::temp_directory_path() / "pgconn_config_XXXXXX";
    path_ = mkdtemp(pattern.data());
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  std::string Write(const std::string& name, const std::string& content) const {
    const std::string file = path_ + "/" + name;
    std::ofstream(file) << content;
    return file;
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// --- ParseDuration / FormatDuration ---------------------------------------------------------

TEST(DurationTest, ParsesGoStyleDurations) {
  EXPECT_EQ(ParseDuration("500ms"), Millis(500));
  EXPECT_EQ(ParseDuration("15s"), seconds(15));
  EXPECT_EQ(ParseDuration("1m"), minutes(1));
  EXPECT_EQ(ParseDuration("2h"), hours(2));
  EXPECT_EQ(ParseDuration("1m30s"), seconds(90));
  EXPECT_EQ(ParseDuration("1h2m3s4ms"), Millis(3'723'004));
  EXPECT_EQ(ParseDuration("1.5s"), Millis(1500));
  EXPECT_EQ(ParseDuration(".5s"), Millis(500));
  EXPECT_EQ(ParseDuration("0.25m"), seconds(15));
  EXPECT_EQ(ParseDuration("0s"), Millis(0));
  EXPECT_EQ(ParseDuration("1.5ms"), Millis(1));  // millisecond resolution, truncated
}

TEST(DurationTest, RejectsEverythingElse) {
  for (const char* text : {"", "15", "0", "-1s", "+1s", "15x", "1ns", "1us", "s", ".s", "1 s",
                           " 1s", "1s ", "1.2.3s", "1d", "1sm", "1S", "9999999999999999999h"}) {
    EXPECT_EQ(ParseDuration(text), std::nullopt) << '"' << text << '"';
  }
}

TEST(DurationTest, FormatsCompactlyAndRoundTrips) {
  EXPECT_EQ(FormatDuration(Millis(0)), "0s");
  EXPECT_EQ(FormatDuration(Millis(500)), "500ms");
  EXPECT_EQ(FormatDuration(Millis(1500)), "1.5s");
  EXPECT_EQ(FormatDuration(seconds(90)), "1m30s");
  EXPECT_EQ(FormatDuration(hours(2)), "2h");
  EXPECT_EQ(FormatDuration(Millis(3'600'050)), "1h0.05s");
  for (long ms : {1L, 999L, 1000L, 1001L, 60'000L, 61'001L, 3'600'050L, 86'400'000L}) {
    EXPECT_EQ(ParseDuration(FormatDuration(Millis(ms))), Millis(ms)) << ms;
  }
}

// --- NormalizeListenAddress -----------------------------------------------------------------

TEST(ListenAddressTest, Normalizes) {
  EXPECT_EQ(NormalizeListenAddress(":10432"), "0.0.0.0:10432");
  EXPECT_EQ(NormalizeListenAddress("127.0.0.1:9999"), "127.0.0.1:9999");
  EXPECT_EQ(NormalizeListenAddress("localhost:10432"), "127.0.0.1:10432");
  EXPECT_EQ(NormalizeListenAddress("0.0.0.0:0"), "0.0.0.0:0");
  EXPECT_EQ(NormalizeListenAddress("10.1.2.3:65535"), "10.1.2.3:65535");
}

TEST(ListenAddressTest, RejectsWhatCivetwebCannotBind) {
  for (const char* text : {"",
                           ":",
                           "10432",
                           "0.0.0.0",
                           "0.0.0.0:",
                           "0.0.0.0:65536",
                           ":-1",
                           ":port",
                           "[::]:10432",
                           "[::1]:10432",
                           "::1:10432",
                           "example.com:10432",
                           "256.0.0.1:1",
                           "1.2.3:1",
                           "1.2.3.4.5:1",
                           "01.2.3.4:1",
                           " :10432",
                           "0.0.0.0:10432 ",
                           ":010432",
                           ":08080"}) {
    EXPECT_EQ(NormalizeListenAddress(text), std::nullopt) << '"' << text << '"';
  }
}

// --- Good files -----------------------------------------------------------------------------

TEST(ConfigTest, MinimalFileUsesDefaults) {
  const Config config = LoadConfigFile(kFixtures + "minimal.toml");
  EXPECT_EQ(config.source_path, kFixtures + "minimal.toml");
  EXPECT_EQ(config.exporter.listen_address, "0.0.0.0:10432");
  EXPECT_EQ(config.exporter.telemetry_path, "/metrics");
  EXPECT_EQ(config.exporter.poll_interval, seconds(15));
  EXPECT_EQ(config.exporter.log_level, LogLevel::kInfo);
  EXPECT_EQ(config.exporter.log_format, LogFormat::kText);
  ASSERT_EQ(config.targets.size(), 1u);
  const TargetConfig& target = config.targets[0];
  EXPECT_EQ(target.name, "main");
  EXPECT_EQ(target.dsn, "host=127.0.0.1 port=5432 dbname=postgres user=pgconn_exporter");
  EXPECT_EQ(target.password, "");
  EXPECT_EQ(target.password_source, "");
  EXPECT_EQ(target.connect_timeout, seconds(3));
  EXPECT_EQ(target.query_timeout, seconds(2));
  EXPECT_EQ(target.connection_labels, AllConnectionLabels());
  EXPECT_EQ(target.max_connection_series, 100);
}

TEST(ConfigTest, FullFileReadsEveryKey) {
  const ScopedEnv env("PGCONN_TEST_FULL_PASSWORD", "s3cret");
  const Config config = LoadConfigFile(kFixtures + "full.toml");
  EXPECT_EQ(config.exporter.listen_address, "0.0.0.0:9187");
  EXPECT_EQ(config.exporter.telemetry_path, "/prom");
  EXPECT_EQ(config.exporter.poll_interval, seconds(90));
  EXPECT_EQ(config.exporter.log_level, LogLevel::kDebug);
  EXPECT_EQ(config.exporter.log_format, LogFormat::kJson);
  ASSERT_EQ(config.targets.size(), 1u);
  const TargetConfig& target = config.targets[0];
  EXPECT_EQ(target.name, "main-db:5432");
  EXPECT_EQ(target.password, "s3cret");
  EXPECT_EQ(target.password_source, "password_env PGCONN_TEST_FULL_PASSWORD");
  EXPECT_EQ(target.connect_timeout, seconds(5));
  EXPECT_EQ(target.query_timeout, Millis(1500));
  EXPECT_EQ(target.connection_labels, (std::vector<std::string>{"state", "database"}));
  EXPECT_EQ(target.max_connection_series, 25);
}

TEST(ConfigTest, MultipleTargetsKeepFileOrderAndAcceptUrls) {
  const Config config = LoadConfigFile(kFixtures + "multiple_targets.toml");
  EXPECT_EQ(config.exporter.listen_address, "127.0.0.1:10432");
  ASSERT_EQ(config.targets.size(), 3u);
  EXPECT_EQ(config.targets[0].name, "primary");
  EXPECT_EQ(config.targets[1].name, "replica");
  EXPECT_EQ(config.targets[1].dsn,
            "postgresql://pgconn_exporter@10.0.0.2:5432/postgres?sslmode=require");
  EXPECT_TRUE(config.targets[1].connection_labels.empty());
  EXPECT_EQ(config.targets[2].dsn, "postgres://pgconn_exporter@10.0.0.3/reports");
  EXPECT_EQ(config.targets[2].max_connection_series, 1);
}

TEST(ConfigTest, InlineTablesAreTheSameAsHeaders) {
  const Config config = ParseConfig(
      "exporter = { poll_interval = \"1s\" }\n"
      "target = [{ name = \"a\", dsn = \"host=x\" }, { name = \"b\", dsn = \"host=y\" }]\n",
      "inline.toml");
  EXPECT_EQ(config.exporter.poll_interval, seconds(1));
  ASSERT_EQ(config.targets.size(), 2u);
  EXPECT_EQ(config.targets[1].name, "b");
}

TEST(ConfigTest, ReservedSettingsAreReadAndBadNamesPointAtTheElement) {
  const Config config = ParseConfig(
      "[[target]]\nname = \"a\"\ndsn = \"host=x\"\nreserved_settings = [\"acme.reserved\"]\n",
      "t.toml");
  EXPECT_EQ(config.targets[0].reserved_settings, std::vector<std::string>{"acme.reserved"});
  const std::string error = ErrorOf([] {
    ParseConfig(
        "[[target]]\nname = \"a\"\ndsn = \"host=x\"\nreserved_settings = [\"ok\", \"x'y\"]\n",
        "t.toml");
  });
  EXPECT_NE(error.find("t.toml:4:"), std::string::npos) << error;
  EXPECT_NE(error.find("invalid setting name \"x'y\""), std::string::npos) << error;
}

TEST(ConfigTest, PasswordFileIsReadAndTrailingNewlinesStripped) {
  const TempDir dir;
  const std::string secret = dir.Write("main.password", "pa ss\nword\r\n\n");
  const Config config = ParseConfig(
      "[[target]]\nname = \"main\"\ndsn = \"host=x\"\npassword_file = \"" + secret + "\"\n",
      "test.toml");
  EXPECT_EQ(config.targets[0].password, "pa ss\nword");
  EXPECT_EQ(config.targets[0].password_source, "password_file " + secret);
}

TEST(ConfigTest, RelativePasswordFileIsRelativeToTheConfigFile) {
  const TempDir dir;
  dir.Write("main.password", "s3cret\n");
  const std::string path = dir.Write(
      "c.toml",
      "[[target]]\nname = \"main\"\ndsn = \"host=x\"\npassword_file = \"main.password\"\n");
  const Config config = LoadConfigFile(path);
  EXPECT_EQ(config.targets[0].password, "s3cret");
  EXPECT_EQ(config.targets[0].password_source, "password_file " + dir.path() + "/main.password");
}

TEST(ConfigTest, ExampleConfigIsValid) {
  const ScopedEnv env("PGCONN_MAIN_PASSWORD", "example");
  const Config config = LoadConfigFile(std::string(PGCONN_SOURCE_DIR) + "/config/example.toml");
  ASSERT_EQ(config.targets.size(), 1u);
  EXPECT_EQ(config.targets[0].password, "example");
  EXPECT_EQ(config.exporter.listen_address, "0.0.0.0:10432");
}

TEST(ConfigTest, DemoConfigIsValid) {
  const ScopedEnv env("PGCONN_DEMO_PASSWORD", "demo");
  const Config config = LoadConfigFile(std::string(PGCONN_SOURCE_DIR) + "/config/demo.toml");
  EXPECT_EQ(config.exporter.listen_address, "0.0.0.0:10432");
  EXPECT_EQ(config.exporter.poll_interval, seconds(2));
  ASSERT_EQ(config.targets.size(), 1u);
  EXPECT_EQ(config.targets[0].name, "demo");
  EXPECT_EQ(config.targets[0].dsn,
            "host=127.0.0.1 port=54329 dbname=postgres user=pgconn_exporter");
  EXPECT_EQ(config.targets[0].password_source, "password_env PGCONN_DEMO_PASSWORD");
}

// --- Bad files: exact "path:line:column: message" -------------------------------------------

struct BadFile {
  const char* file;
  const char* error;  // everything after "path:"
};

class ConfigBadFileTest : public testing::TestWithParam<BadFile> {};

TEST_P(ConfigBadFileTest, ReportsPositionAndMessage) {
  EXPECT_EQ(LoadError(GetParam().file), kFixtures + GetParam().file + ":" + GetParam().error);
}

INSTANTIATE_TEST_SUITE_P(
    ConfigFixtures, ConfigBadFileTest,
    testing::Values(
        BadFile{"bad_unknown_key_exporter.toml", "3:3: unknown key 'pol_interval' in [exporter]"},
        // The first unknown key in file order, not in alphabetical order.
        BadFile{"bad_unknown_key_target.toml", "8:1: unknown key 'zeta' in [[target]]"},
        BadFile{"bad_unknown_table.toml", "8:1: unknown table [targets]"},
        BadFile{"bad_unknown_top_level_key.toml",
                "1:1: unknown top-level key 'poll_interval' (settings belong under a table such "
                "as [exporter])"},
        BadFile{"bad_wrong_type.toml", "2:18: listen_address: expected a string, got integer"},
        BadFile{"bad_duplicate_target.toml",
                "10:9: name: duplicate target name \"main\" (first defined on line 2)"},
        BadFile{"bad_duration.toml",
                "2:17: poll_interval: invalid duration \"15x\" (use e.g. 500ms, 15s, 1m)"},
        BadFile{"bad_poll_interval_too_small.toml",
                "2:17: poll_interval: must be at least 100ms, got \"50ms\""},
        BadFile{"bad_connect_timeout.toml",
                "4:19: connect_timeout: must be at least 1s, got \"500ms\""},
        BadFile{"bad_both_passwords.toml",
                "5:16: password_env: set only one of password_file and password_env"},
        BadFile{"bad_missing_dsn.toml", "4:3: missing required key 'dsn' in [[target]]"},
        BadFile{"bad_inline_password.toml",
                "4:1: unknown key 'password' in [[target]] (inline passwords are not accepted; "
                "put the password in a file (password_file) or an environment variable "
                "(password_env))"},
        BadFile{"bad_password_in_dsn.toml",
                "3:7: dsn: contains a password; put the password in a file (password_file) or an "
                "environment variable (password_env)"},
        BadFile{"bad_password_in_url.toml",
                "3:7: dsn: contains a password; put the password in a file (password_file) or an "
                "environment variable (password_env)"},
        BadFile{"bad_invalid_dsn.toml",
                "3:7: dsn: invalid connection string: invalid connection option \"<redacted>\""},
        BadFile{"bad_listen_ipv6.toml",
                "2:18: listen_address: IPv6 address \"[::]:10432\" is not supported (this "
                "civetweb build has no IPv6); use an IPv4 address, e.g. 0.0.0.0:10432"},
        BadFile{"bad_listen_port.toml",
                "2:18: listen_address: invalid port in \"0.0.0.0:70000\": must be a number from 0 "
                "to 65535 (0 = any free port)"},
        BadFile{"bad_listen_no_port.toml",
                "2:18: listen_address: missing port in \"0.0.0.0\" (use e.g. 0.0.0.0:10432, "
                "127.0.0.1:10432 or :10432)"},
        BadFile{"bad_labels_unknown.toml",
                "4:34: connection_labels[1]: unknown label \"usename\" (allowed: database, user, "
                "application, state)"},
        BadFile{"bad_labels_duplicate.toml",
                "7:3: connection_labels[2]: duplicate label \"state\""},
        BadFile{"bad_labels_type.toml",
                "4:21: connection_labels: expected an array of strings, got string"},
        BadFile{"bad_no_target.toml",
                "1:1: no [[target]] defined: at least one target is required"},
        BadFile{"bad_target_not_array.toml",
                "1:1: target: expected [[target]] (an array of tables), got table"},
        BadFile{"bad_telemetry_path.toml",
                "2:18: telemetry_path: \"/healthz\" is reserved (landing page / health check / "
                "probe); use e.g. /metrics"},
        BadFile{"bad_log_level.toml",
                "2:13: log_level: invalid value \"verbose\" (expected one of: debug, info, warn, "
                "error)"},
        BadFile{"bad_max_series.toml", "4:25: max_connection_series: must be >= 1, got 0"},
        BadFile{"bad_target_name.toml",
                "2:8: name: invalid target name \"main db\" (use letters, digits and _ . : - "
                "only)"}),
    [](const testing::TestParamInfo<BadFile>& param_info) {
      std::string name = std::filesystem::path(param_info.param.file).stem();
      return name;
    });

TEST(ConfigTest, SyntaxErrorUsesTomlPosition) {
  const std::string error = LoadError("bad_syntax.toml");
  // toml++ sees the line end inside the unterminated string.
  EXPECT_EQ(error.rfind(kFixtures + "bad_syntax.toml:2:32: Error while parsing string", 0), 0u)
      << error;
}

TEST(ConfigTest, PasswordsNeverAppearInErrors) {
  for (const char* file : {"bad_password_in_dsn.toml", "bad_password_in_url.toml"}) {
    EXPECT_EQ(LoadError(file).find("hunter2"), std::string::npos) << file;
  }
  // A malformed URL: libpq would quote the whole URL in its parse error.
  const std::string error = ErrorOf([] {
    ParseConfig("[[target]]\nname = \"a\"\ndsn = \"postgresql://u:hunter2@[::1/db\"\n", "t.toml");
  });
  EXPECT_EQ(error.find("hunter2"), std::string::npos) << error;
  EXPECT_NE(error.find("t.toml:3:7: dsn: contains a password"), std::string::npos) << error;
  // password= as a URL parameter, percent-encoded.
  EXPECT_NE(ErrorOf([] {
              ParseConfig("[[target]]\nname = \"a\"\ndsn = \"postgres://h/db?pass%77ord=x\"\n",
                          "t");
            }).find("dsn: contains a password"),
            std::string::npos);
}

TEST(ConfigTest, UnsetPasswordEnvPointsAtTheKey) {
  unsetenv("PGCONN_TEST_UNSET_PASSWORD");
  const std::string error = ErrorOf([] {
    ParseConfig(
        "[[target]]\nname = \"a\"\ndsn = \"host=x\"\npassword_env = "
        "\"PGCONN_TEST_UNSET_PASSWORD\"\n",
        "t.toml");
  });
  EXPECT_EQ(error,
            "t.toml:4:16: password_env: environment variable PGCONN_TEST_UNSET_PASSWORD "
            "is not set");
}

TEST(ConfigTest, UnreadablePasswordFileNamesThePathOnly) {
  const TempDir dir;
  const std::string missing = dir.path() + "/missing.password";
  const std::string error = ErrorOf([&] {
    ParseConfig("[[target]]\nname = \"a\"\ndsn = \"host=x\"\npassword_file = \"" + missing + "\"\n",
                "t.toml");
  });
  EXPECT_EQ(error,
            "t.toml:4:17: password_file: cannot read " + missing + ": No such file or directory");
  const std::string empty = dir.Write("empty.password", "\n");
  EXPECT_EQ(ErrorOf([&] {
              ParseConfig(
                  "[[target]]\nname = \"a\"\ndsn = \"host=x\"\npassword_file = \"" + empty + "\"\n",
                  "t.toml");
            }),
            "t.toml:4:17: password_file: " + empty + " is empty");
}

TEST(ConfigTest, TypoIsReportedBeforePasswordResolution) {
  unsetenv("PGCONN_TEST_UNSET_PASSWORD");
  EXPECT_EQ(ErrorOf([] {
              ParseConfig(
                  "[[target]]\nname = \"a\"\ndsn = \"host=x\"\n"
                  "password_env = \"PGCONN_TEST_UNSET_PASSWORD\"\nquery_timout = \"1s\"\n",
                  "t.toml");
            }),
            "t.toml:5:1: unknown key 'query_timout' in [[target]]");
}

TEST(ConfigTest, OddShapesOfSections) {
  EXPECT_EQ(ErrorOf([] { ParseConfig("target = []\n", "t.toml"); }),
            "t.toml:1:10: no [[target]] defined: at least one target is required");
  EXPECT_EQ(ErrorOf([] { ParseConfig("[[exporter]]\n[[target]]\nname = \"a\"\n", "t.toml"); }),
            "t.toml:1:1: exporter: expected a [exporter] table, got array");
  EXPECT_EQ(ErrorOf([] {
              ParseConfig("[[target]]\nname = \"a\"\ndsn = \"host=x\"\n[exporter.tls]\n", "t.toml");
            }),
            "t.toml:4:11: unknown key 'tls' in [exporter]");
  EXPECT_EQ(ErrorOf([] { ParseConfig("", "t.toml"); }),
            "t.toml:1:1: no [[target]] defined: at least one target is required");
}

TEST(ConfigTest, MissingFileSaysWhy) {
  EXPECT_EQ(LoadError("does_not_exist.toml"),
            kFixtures + "does_not_exist.toml: cannot read: No such file or directory");
  EXPECT_EQ(ErrorOf([] { LoadConfigFile(kFixtures); }),
            kFixtures + ": cannot read: Is a directory");
}

// --- TableReader as other sections use it ---------------------------------------------------

TEST(ConfigTableReaderTest, ServesCustomSections) {
  const toml::table root = toml::parse(std::string_view(
      "[[pool]]\nname = \"web\"\nsize = 20\nenabled = true\nextra = { a = 1 }\nsizee = 3\n"));
  const config::ConfigSource source("pools.toml");
  std::vector<std::int64_t> sizes;
  const std::string error = ErrorOf([&] {
    config::ReadTableArray(*root.get("pool"), "pool", source, [&](config::TableReader& pool) {
      EXPECT_EQ(pool.RequireString("name"), "web");
      sizes.push_back(*pool.OptionalInteger("size", 1, 100));
      EXPECT_EQ(pool.OptionalBool("enabled"), true);
      EXPECT_EQ(pool.OptionalDuration("interval", Millis(1)), std::nullopt);
      EXPECT_TRUE(pool.Take("extra")->is_table());
      pool.HintIfUnknown("sizee", "did you mean 'size'?");
    });
  });
  EXPECT_EQ(sizes, std::vector<std::int64_t>{20});
  EXPECT_EQ(error, "pools.toml:6:1: unknown key 'sizee' in [[pool]] (did you mean 'size'?)");
}

}  // namespace
}  // namespace pgconn
