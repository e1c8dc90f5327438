// Hostile config input (issue 13): each crash, hang or UBSan input found by the mutation
// campaign, now a clear error; conninfo quoting round-trips every password byte.
#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>

#include "pgconn/clock_math.h"
#include "pgconn/config.h"
#include "pgconn/conninfo.h"
#include "support/config_errors.h"

namespace pgconn {
namespace {

std::string LoadError(const std::string& path) {
  try {
    LoadConfigFile(path);
  } catch (const ConfigError& error) {
    return error.what();
  }
  return "";
}

const std::string kTarget = "[[target]]\nname = \"main\"\ndsn = \"host=db user=mon\"\n";

std::string Repeat(const std::string& part, size_t count) {
  std::string out;
  for (size_t i = 0; i < count; ++i) out += part;
  return out;
}

class Dir {
 public:
  Dir() {
    char name[] = "/tmp/pgconn-hostile-XXXXXX";
    path_ = mkdtemp(name);
  }
  ~Dir() { std::filesystem::remove_all(path_); }
  Dir(const Dir&) = delete;
  Dir& operator=(const Dir&) = delete;
  std::string Write(const std::string& name, const std::string& content, mode_t mode = 0600) {
    const std::string path = path_ + "/" + name;
    std::ofstream(path, std::ios::binary) << content;
    chmod(path.c_str(), mode);
    return path;
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

TEST(HostileConfigTest, HeaderWith50000PartsIsAnErrorNotACrash) {
  const std::string header = "[" + Repeat("a.", 49999) + "a]\n";
  EXPECT_NE(testing::ConfigErrorOf(header + kTarget).find("dotted key too long"),
            std::string::npos);
}

TEST(HostileConfigTest, DottedKeyWith50000PartsIsAnErrorNotACrash) {
  const std::string key = Repeat("a.", 49999) + "a = 1\n";
  EXPECT_NE(testing::ConfigErrorOf(kTarget + key).find("dotted key too long"), std::string::npos);
}

TEST(HostileConfigTest, DeepNestingIsAnError) {
  EXPECT_NE(testing::ConfigErrorOf("x = " + Repeat("[", 50000) + "\n").find("nesting too deep"),
            std::string::npos);
  EXPECT_NE(testing::ConfigErrorOf("x = " + Repeat("{a=", 50000) + "\n").find("nesting too deep"),
            std::string::npos);
}

TEST(HostileConfigTest, ReasonableDottedKeysAndFloatArraysStillParse) {
  EXPECT_EQ(testing::ConfigErrorOf(kTarget + "reserve.a.b = 1\n").find("too long"),
            std::string::npos);
  EXPECT_EQ(testing::ConfigErrorOf("[exporter]\npoll_interval = \"1.5s\"\n" + kTarget), "");
}

TEST(HostileConfigTest, FifoAsConfigOrPasswordFileIsRefusedWithoutHanging) {
  Dir dir;
  const std::string fifo = dir.path() + "/fifo";
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  EXPECT_NE(LoadError(fifo).find("not a regular file"), std::string::npos);
  const std::string config = dir.Write(
      "c.toml", "[[target]]\nname = \"m\"\ndsn = \"host=db\"\npassword_file = \"fifo\"\n");
  EXPECT_NE(LoadError(config).find("not a regular file"), std::string::npos);
  EXPECT_NE(LoadError(dir.path()).find("directory"), std::string::npos);
  EXPECT_NE(LoadError("/dev/zero").find("not a regular file"), std::string::npos);
}

TEST(HostileConfigTest, HugeDurationsAreTooLargeNotUndefined) {
  for (const char* value : {"9223372036.9s", "2562047h", "2562048h", "25h"}) {
    const std::string error = testing::ConfigErrorOf(std::string("[exporter]\npoll_interval = \"") +
                                                     value + "\"\n" + kTarget);
    EXPECT_NE(error.find("too large"), std::string::npos) << value << ": " << error;
  }
  const std::string query = testing::ConfigErrorOf(
      "[[target]]\nname = \"m\"\ndsn = \"host=db\"\nquery_timeout = \"1000h\"\n");
  EXPECT_NE(query.find("query_timeout: duration too large"), std::string::npos) << query;
  EXPECT_EQ(testing::ConfigErrorOf("[exporter]\npoll_interval = \"24h\"\n" + kTarget), "");
}

TEST(HostileConfigTest, ClockAdditionSaturates) {
  using Clock = std::chrono::steady_clock;
  const auto now = Clock::now();
  // Past the clock's end however long the machine has been up (a fixed 2,562,047 h only was
  // once the steady clock passed ~47 minutes of uptime: the test failed on a fresh VM).
  const auto beyond =
      std::chrono::duration_cast<std::chrono::hours>(Clock::time_point::max() - now) +
      std::chrono::hours(1);
  EXPECT_EQ(SaturatingAdd<Clock>(now, beyond), Clock::time_point::max());
  EXPECT_EQ(SaturatingAdd<Clock>(now, std::chrono::hours::max()), Clock::time_point::max());
  EXPECT_EQ(SaturatingAdd<Clock>(now, std::chrono::milliseconds(5)),
            now + std::chrono::milliseconds(5));
}

TEST(HostileConfigTest, TelemetryPathCannotShadowRoutesOrHoldControlCharacters) {
  for (const char* path : {"/probe", "/healthz", "/-/reload", "/"}) {
    EXPECT_NE(testing::ConfigErrorOf(std::string("[exporter]\ntelemetry_path = \"") + path +
                                     "\"\n" + kTarget)
                  .find("reserved"),
              std::string::npos)
        << path;
  }
  EXPECT_NE(testing::ConfigErrorOf("[exporter]\ntelemetry_path = \"/me\\ntrics\"\n" + kTarget)
                .find("control character"),
            std::string::npos);
}

TEST(HostileConfigTest, NulAnywhereIsAnError) {
  EXPECT_NE(testing::ConfigErrorOf(kTarget + std::string("# a\0b\n", 6)).find("NUL"),
            std::string::npos);
  EXPECT_NE(testing::ConfigErrorOf("[[target]]\nname = \"m\"\ndsn = \"host=db\\u0000 user=x\"\n")
                .find("control character"),
            std::string::npos);
  Dir dir;
  dir.Write("pw", std::string("abc\0def", 7));
  const std::string config =
      dir.Write("c.toml", "[[target]]\nname = \"m\"\ndsn = \"host=db\"\npassword_file = \"pw\"\n");
  EXPECT_NE(LoadError(config).find("NUL"), std::string::npos);
}

TEST(HostileConfigTest, LibpqValuesAreCheckedAtCheckTime) {
  const auto dsn_error = [](const std::string& dsn) {
    return testing::ConfigErrorOf("[[target]]\nname = \"m\"\ndsn = \"" + dsn + "\"\n");
  };
  EXPECT_NE(dsn_error("host=db sslmode=bogus").find("invalid sslmode"), std::string::npos);
  EXPECT_NE(dsn_error("host=a,b port=1,2,3").find("different lengths"), std::string::npos);
  EXPECT_NE(dsn_error("host=db port=99999").find("invalid port"), std::string::npos);
  EXPECT_EQ(dsn_error("host=a,b port=5432 sslmode=verify-full"), "");
}

TEST(HostileConfigTest, UnquotedPasswordFragmentIsNotEchoed) {
  const std::string error = testing::ConfigErrorOf(
      "[[target]]\nname = \"m\"\ndsn = \"host=db password=a Secret-Part2\"\n");
  EXPECT_NE(error.find("dsn"), std::string::npos);
  EXPECT_EQ(error.find("Secret-Part2"), std::string::npos) << error;
}

TEST(HostileConfigTest, WorldReadablePasswordFileIsAWarning) {
  Dir dir;
  dir.Write("pw", "secret\n", 0644);
  const std::string config =
      dir.Write("c.toml", "[[target]]\nname = \"m\"\ndsn = \"host=db\"\npassword_file = \"pw\"\n");
  const Config loaded = LoadConfigFile(config);
  ASSERT_EQ(loaded.warnings.size(), 1u);
  EXPECT_NE(loaded.warnings[0].find("readable by group or others"), std::string::npos);
  EXPECT_EQ(loaded.warnings[0].find("secret"), std::string::npos);
}

TEST(HostileConfigTest, MessagesAreShortEscapedAndNameTheEncoding) {
  const std::string long_name(100000, 'x');
  const std::string error =
      testing::ConfigErrorOf("[[target]]\nname = \"" + long_name + "!\"\ndsn = \"host=db\"\n");
  EXPECT_LT(error.size(), 400u) << error.size();
  EXPECT_NE(error.find("100001 bytes"), std::string::npos);
  EXPECT_NE(testing::ConfigErrorOf(std::string("\xFF\xFE[\0e\0", 6)).find("UTF-16"),
            std::string::npos);
  EXPECT_NE(testing::ConfigErrorOf("# caf\xE9\n" + kTarget).find("not UTF-8"), std::string::npos);
  const std::string unknown = testing::ConfigErrorOf(kTarget + "\"k\\u0007ey\" = 1\n");
  EXPECT_NE(unknown.find("\\x07"), std::string::npos) << unknown;
}

// Random passwords (every byte but NUL) through our quoting and back through libpq's parser.
TEST(ConninfoQuotingFuzzTest, RandomPasswordsRoundTripThroughPQconninfoParse) {
  std::mt19937 random(13);
  std::uniform_int_distribution<int> byte(1, 255);
  std::uniform_int_distribution<int> length(1, 40);
  for (int round = 0; round < 5000; ++round) {
    TargetConfig target;
    target.dsn = "host=db user=mon";
    const int size = length(random);
    for (int i = 0; i < size; ++i) target.password += static_cast<char>(byte(random));
    if (round < 6) target.password = std::string("a") + "\r\f\v\t\n "[round] + "Part2";
    const std::string conninfo = BuildConninfo(target);
    char* error = nullptr;
    PQconninfoOption* options = PQconninfoParse(conninfo.c_str(), &error);
    ASSERT_NE(options, nullptr) << "round " << round << ": " << (error ? error : "");
    std::string parsed;
    for (PQconninfoOption* o = options; o->keyword != nullptr; ++o) {
      if (std::string(o->keyword) == "password" && o->val != nullptr) parsed = o->val;
    }
    PQconninfoFree(options);
    ASSERT_EQ(parsed, target.password) << "round " << round;
  }
}

TEST(ConninfoRedactionTest, ParserMessagesKeepKeywordsAndHideFragments) {
  EXPECT_EQ(
      RedactConninfoMessage("missing \"=\" after \"CrPart2-Secret\" in connection info string"),
      "missing \"=\" after \"<redacted>\" in connection info string");
  EXPECT_EQ(RedactConninfoMessage("invalid connection option \"sslmode\""),
            "invalid connection option \"sslmode\"");
}

}  // namespace
}  // namespace pgconn
