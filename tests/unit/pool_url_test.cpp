#include <gtest/gtest.h>

#include "pgconn/database_url.h"

namespace pgconn {
namespace {

std::optional<std::int64_t> Limit(const std::string& url) {
  std::string error;
  const auto info = ParseDatabaseUrl(url, &error);
  EXPECT_TRUE(info) << url << ": " << error;
  return info ? info->connection_limit : std::nullopt;
}

std::string Error(const std::string& url) {
  std::string error;
  EXPECT_FALSE(ParseDatabaseUrl(url, &error)) << url;
  return error;
}

TEST(PoolUrlTest, ReadsConnectionLimitFromBothSchemes) {
  EXPECT_EQ(Limit("postgresql://app:pw@db:5432/app?connection_limit=10"), 10);
  EXPECT_EQ(Limit("postgres://app:pw@db/app?schema=public&connection_limit=7&pool_timeout=5"), 7);
  EXPECT_EQ(Limit("POSTGRESQL://db/app?connection_limit=3"), 3);
}

TEST(PoolUrlTest, AbsentParameterMeansPrismaDefault) {
  EXPECT_EQ(Limit("postgresql://app:pw@db:5432/app"), std::nullopt);
  EXPECT_EQ(Limit("postgresql://app:pw@db:5432/app?schema=public"), std::nullopt);
  EXPECT_EQ(Limit("postgresql:///app?host=/var/run/postgresql"), std::nullopt);
  EXPECT_EQ(PrismaDefaultPoolSize(4), 9);
  EXPECT_EQ(PrismaDefaultPoolSize(1), 3);
}

TEST(PoolUrlTest, PercentEncodingLikePrisma) {
  // Encoded '@', '/', ':' and '?' in the password must not confuse the authority.
  EXPECT_EQ(Limit("postgresql://app:p%40ss%2Fw%3Ard%3F@db:5432/app?connection_limit=4"), 4);
  // An unencoded '@' in the password: the user info ends at the last '@'.
  EXPECT_EQ(Limit("postgresql://app:p@ss@db/app?connection_limit=5"), 5);
  // Keys and values are form-decoded; the last occurrence wins.
  EXPECT_EQ(Limit("postgresql://db/app?connection%5Flimit=1%32"), 12);
  EXPECT_EQ(Limit("postgresql://db/app?connection_limit=2&connection_limit=6"), 6);
  EXPECT_EQ(Limit("postgresql://[::1]:5432/app?connection_limit=8#frag"), 8);
}

TEST(PoolUrlTest, RejectsGarbageWithoutQuotingTheUrl) {
  const std::string secret = "hunter2-secret";
  const std::vector<std::string> bad = {
      "",
      "not a url",
      "mysql://app:" + secret + "@db/app",
      "prisma://accelerate.prisma-data.net/?api_key=" + secret,
      "postgresql://app:" + secret + "@db:port/app",
      "postgresql://app:" + secret + "@db:99999/app",
      "postgresql://app:" + secret + "@[::1/app",
      "postgresql://app:" + secret + "@db/app?connection_limit=abc",
      "postgresql://app:" + secret + "@db/app?connection_limit=0",
      "postgresql://app:" + secret + "@db/app?connection_limit=-3",
      "postgresql://app:" + secret + "@db/app?connection_limit=",
      "postgresql://app:" + secret + "@db/app?connection_limit",
      "postgresql://app:" + secret + "@db/app?connection_limit=99999999",
      "postgresql://app:" + secret + "\n@db/app",
      // An unencoded '/' in the password splits the authority: the port is then garbage.
      "postgresql://app:" + secret + "/x@db/app",
  };
  for (const auto& url : bad) {
    const std::string error = Error(url);
    EXPECT_FALSE(error.empty()) << url;
    EXPECT_EQ(error.find(secret), std::string::npos) << error;
    EXPECT_EQ(error.find("app:"), std::string::npos) << error;
  }
  EXPECT_EQ(Error("mysql://db/app"), "invalid URL: expected postgresql:// or postgres://");
  EXPECT_EQ(Error("postgresql://db:port/app"), "invalid URL: invalid port");
  EXPECT_EQ(Error("postgresql://db/app?connection_limit=x"),
            "connection_limit must be a positive integer");
  EXPECT_EQ(Error("postgresql://db/app?connection_limit=0"),
            "connection_limit must be between 1 and 1000000");
}

}  // namespace
}  // namespace pgconn
