#include "pgconn/conninfo.h"

#include <gtest/gtest.h>

namespace pgconn {
namespace {

TargetConfig Target(std::string dsn, std::string password = "") {
  TargetConfig target;
  target.name = "main";
  target.dsn = std::move(dsn);
  target.password = std::move(password);
  return target;
}

TEST(RedactDsnTest, HidesKeyValuePassword) {
  const std::string redacted = RedactDsn("host=db user=mon password='s3cr et' dbname=postgres");
  EXPECT_EQ(redacted.find("s3cr"), std::string::npos);
  EXPECT_NE(redacted.find("password=******"), std::string::npos);
  EXPECT_NE(redacted.find("host=db"), std::string::npos);
}

TEST(RedactDsnTest, HidesUrlPasswordAndPercentEncodedOnes) {
  EXPECT_EQ(RedactDsn("postgresql://mon:hunter2@db:5432/postgres").find("hunter2"),
            std::string::npos);
  EXPECT_EQ(RedactDsn("postgres://mon:p%40ss@db/postgres").find("p@ss"), std::string::npos);
  EXPECT_EQ(RedactDsn("postgres://mon:p%40ss@db/postgres").find("p%40ss"), std::string::npos);
  EXPECT_EQ(RedactDsn("postgresql://db/postgres?password=hunter2").find("hunter2"),
            std::string::npos);
}

TEST(RedactDsnTest, UnparseableDsnIsNotEchoed) {
  EXPECT_EQ(RedactDsn("host='unterminated password=hunter2"), "<unparseable dsn>");
}

TEST(BuildConninfoTest, AddsPasswordTimeoutsAndReadOnlySession) {
  TargetConfig target = Target("postgresql://mon@db:5433/postgres", "pw");
  target.connect_timeout = Millis(3000);
  target.query_timeout = Millis(2000);
  const std::string conninfo = BuildConninfo(target);
  EXPECT_NE(conninfo.find("password=pw"), std::string::npos);
  EXPECT_NE(conninfo.find("host=db"), std::string::npos);
  EXPECT_NE(conninfo.find("port=5433"), std::string::npos);
  EXPECT_NE(conninfo.find("connect_timeout=3"), std::string::npos);
  EXPECT_NE(conninfo.find("application_name=pgconn_exporter"), std::string::npos);
  EXPECT_NE(conninfo.find("statement_timeout=2000"), std::string::npos);
  EXPECT_NE(conninfo.find("lock_timeout=1000"), std::string::npos);
  EXPECT_NE(conninfo.find("default_transaction_read_only=on"), std::string::npos);
}

TEST(BuildConninfoTest, KeepsUserApplicationNameAndOptions) {
  const std::string conninfo =
      BuildConninfo(Target("host=db application_name=mon-eu options='-c work_mem=1MB'"));
  EXPECT_NE(conninfo.find("application_name=mon-eu"), std::string::npos);
  EXPECT_NE(conninfo.find("-c work_mem=1MB"), std::string::npos);
  EXPECT_NE(conninfo.find("statement_timeout"), std::string::npos);
}

TEST(BuildConninfoTest, RoundsConnectTimeoutUpToWholeSeconds) {
  TargetConfig target = Target("host=db");
  target.connect_timeout = Millis(1500);
  EXPECT_NE(BuildConninfo(target).find("connect_timeout=2"), std::string::npos);
}

TEST(BuildConninfoTest, QuotesValuesWithSpaces) {
  const std::string conninfo = BuildConninfo(Target("host=db", "it's a pw"));
  EXPECT_NE(conninfo.find("password='it\\'s a pw'"), std::string::npos);
}

TEST(BuildConninfoTest, RejectsGarbageWithoutEchoingIt) {
  try {
    BuildConninfo(Target("host='open", "hunter2"));
    FAIL() << "expected invalid_argument";
  } catch (const std::invalid_argument& error) {
    EXPECT_EQ(std::string(error.what()).find("hunter2"), std::string::npos);
  }
}

TEST(DsnTest, DetectsPasswordsAndParseErrors) {
  EXPECT_TRUE(DsnHasPassword("host=db password=x"));
  EXPECT_TRUE(DsnHasPassword("postgresql://u:x@db/postgres"));
  EXPECT_FALSE(DsnHasPassword("postgresql://u@db/postgres"));
  EXPECT_FALSE(DsnParseError("host=db"));
  EXPECT_TRUE(DsnParseError("host='db"));
  EXPECT_TRUE(DsnParseError("nonsense"));
}

}  // namespace
}  // namespace pgconn
