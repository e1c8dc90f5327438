#include "pgconn/shard.h"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "pgconn/config.h"

namespace pgconn {
namespace {

std::vector<TargetConfig> Targets(const std::vector<std::string>& names) {
  std::vector<TargetConfig> targets;
  for (const auto& name : names) {
    TargetConfig target;
    target.name = name;
    targets.push_back(target);
  }
  return targets;
}

std::vector<std::string> Names(const std::vector<TargetConfig>& targets) {
  std::vector<std::string> names;
  for (const auto& target : targets) names.push_back(target.name);
  return names;
}

TEST(ShardTest, Fnv1a64MatchesTheReferenceVectors) {
  EXPECT_EQ(Fnv1a64(""), 0xcbf29ce484222325ULL);
  EXPECT_EQ(Fnv1a64("a"), 0xaf63dc4c8601ec8cULL);
  EXPECT_EQ(Fnv1a64("foobar"), 0x85944171f73967e8ULL);
}

// Pinned: a change here would silently move targets between running replicas.
TEST(ShardTest, ShardOfIsStableForKnownNames) {
  EXPECT_EQ(ShardOf("main", 2), 0u);
  EXPECT_EQ(ShardOf("main", 3), 2u);
  EXPECT_EQ(ShardOf("db-1", 2), 1u);
  EXPECT_EQ(ShardOf("db-3", 3), 1u);
  EXPECT_EQ(ShardOf("anything", 1), 0u);
}

TEST(ShardTest, ParseShardAcceptsIndexBelowCount) {
  const auto shard = ParseShard("2/3");
  ASSERT_TRUE(shard.has_value());
  EXPECT_EQ(shard->index, 2u);
  EXPECT_EQ(shard->count, 3u);
  EXPECT_EQ(FormatShard(*shard), "2/3");
  EXPECT_TRUE(ParseShard("0/1").has_value());
}

TEST(ShardTest, ParseShardRejectsMalformedText) {
  for (const char* text : {"", "1", "3/3", "4/3", "0/0", "-1/2", "1/-2", " 0/2", "0/2 ", "a/2",
                           "0/2/3", "0x1/2", "1/99999999"}) {
    EXPECT_FALSE(ParseShard(text).has_value()) << text;
  }
}

TEST(ShardTest, ShardsAreDisjointAndCoverEveryTarget) {
  std::vector<std::string> names;
  for (int i = 0; i < 50; ++i) names.push_back("server-" + std::to_string(i));
  const auto targets = Targets(names);
  for (std::uint32_t count = 1; count <= 5; ++count) {
    std::multiset<std::string> seen;
    for (std::uint32_t index = 0; index < count; ++index) {
      for (const auto& name : Names(TargetsInShard(targets, {index, count}))) seen.insert(name);
    }
    EXPECT_EQ(seen, std::multiset<std::string>(names.begin(), names.end())) << count;
  }
}

TEST(ShardTest, TargetsInShardKeepsConfigOrder) {
  const auto targets = Targets({"db-0", "db-1", "db-2", "db-3", "db-4"});
  EXPECT_EQ(Names(TargetsInShard(targets, {0, 2})),
            (std::vector<std::string>{"db-0", "db-2", "db-4"}));
  EXPECT_EQ(Names(TargetsInShard(targets, {1, 2})), (std::vector<std::string>{"db-1", "db-3"}));
}

const char* const kTarget = "[[target]]\nname = \"a\"\ndsn = \"host=x\"\n";

TEST(ShardTest, ConfigReadsTheShardKey) {
  const Config config = ParseConfig(std::string("[exporter]\nshard = \"1/4\"\n") + kTarget, "t");
  ASSERT_TRUE(config.exporter.shard.has_value());
  EXPECT_EQ(config.exporter.shard->index, 1u);
  EXPECT_EQ(config.exporter.shard->count, 4u);
  EXPECT_FALSE(ParseConfig(kTarget, "t").exporter.shard.has_value());
}

TEST(ShardTest, ConfigRejectsABadShardAtItsPosition) {
  try {
    ParseConfig(std::string("[exporter]\nshard = \"2/2\"\n") + kTarget, "f.toml");
    FAIL() << "no error";
  } catch (const ConfigError& error) {
    EXPECT_NE(std::string(error.what()).find("f.toml:2:9: shard: invalid value \"2/2\""),
              std::string::npos)
        << error.what();
  }
  EXPECT_THROW(ParseConfig(std::string("[exporter]\nshard = 1\n") + kTarget, "f"), ConfigError);
}

}  // namespace
}  // namespace pgconn
