#include "pgconn/pool_usage.h"

#include <gtest/gtest.h>

#include "pgconn/pool_match.h"
#include "pgconn/target_metrics.h"
#include "support/activity_builder.h"

namespace pgconn {
namespace {

ActivityGroup Group(std::string application, std::string state, int64_t others,
                    std::string client_addr = "", int64_t self = 0) {
  return testing::MakeGroup({kClientBackend, "appdb", "app", std::move(application),
                             std::move(state), std::move(client_addr)},
                            others, self);
}

PoolConfig Pool(std::string name, std::string glob, int64_t size, InstanceBy by,
                int64_t instances = 1) {
  PoolConfig pool;
  pool.name = std::move(name);
  pool.application_name = std::move(glob);
  pool.size = size;
  pool.instances = instances;
  pool.instance_by = by;
  return pool;
}

TEST(PoolSaturationTest, RatiosAgainstThePoolSize) {
  const InstanceUsage half = MeasureInstance("web-1", 9, 4, 5, 9);
  EXPECT_DOUBLE_EQ(half.open_ratio, 1.0);
  EXPECT_DOUBLE_EQ(half.busy_ratio, 4.0 / 9);
  EXPECT_FALSE(half.saturated);  // all open, but 5 idle: requests do not wait

  const InstanceUsage full = MeasureInstance("web-1", 9, 9, 0, 9);
  EXPECT_DOUBLE_EQ(full.busy_ratio, 1.0);
  EXPECT_TRUE(full.saturated);

  const InstanceUsage not_all_open = MeasureInstance("web-1", 5, 5, 0, 9);
  EXPECT_FALSE(not_all_open.saturated);  // the pool can still open 4 more

  // A size that is wrong is reported, not clamped.
  const InstanceUsage oversized = MeasureInstance("web-1", 30, 2, 28, 10);
  EXPECT_DOUBLE_EQ(oversized.open_ratio, 3.0);
  EXPECT_FALSE(oversized.saturated);

  const InstanceUsage no_size = MeasureInstance("x", 3, 3, 0, 0);
  EXPECT_EQ(no_size.open_ratio, 0);
  EXPECT_FALSE(no_size.saturated);
}

TEST(PoolSaturationTest, BusyStates) {
  for (const char* busy : {"active", "idle in transaction", "idle in transaction (aborted)",
                           "fastpath function call"}) {
    EXPECT_TRUE(IsBusyState(busy)) << busy;
  }
  for (const char* not_busy : {"idle", "disabled", "unknown", ""}) {
    EXPECT_FALSE(IsBusyState(not_busy)) << not_busy;
  }
}

TEST(PoolFoldingTest, KeepsTheBusiestAndFoldsTheRestIntoOther) {
  std::vector<InstanceUsage> instances = {
      MeasureInstance("a", 1, 0, 1, 4), MeasureInstance("b", 4, 4, 0, 4),
      MeasureInstance("c", 3, 1, 2, 4), MeasureInstance("d", 2, 2, 0, 4),
      MeasureInstance("e", 2, 1, 1, 4),
  };
  const auto folded = FoldInstances(instances, 2);
  ASSERT_EQ(folded.size(), 3u);
  EXPECT_EQ(folded[0].instance, "b");
  EXPECT_EQ(folded[1].instance, "c");
  const InstanceUsage& other = folded[2];
  EXPECT_EQ(other.instance, kOtherLabelValue);
  EXPECT_EQ(other.folded, 3);
  EXPECT_EQ(other.open, 5);  // a + d + e
  EXPECT_EQ(other.capacity, 12);
  EXPECT_DOUBLE_EQ(other.busy_ratio, 0.5);  // the worst of a, d, e (d: 2/4)
  EXPECT_DOUBLE_EQ(other.open_ratio, 0.5);
  EXPECT_FALSE(other.saturated);

  EXPECT_EQ(FoldInstances(instances, 5).size(), 5u);  // at the cap: nothing folds
  const auto all = FoldInstances(instances, 1);
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].instance, "b");
  EXPECT_EQ(all[1].folded, 4);
}

TEST(PoolFoldingTest, SaturationSurvivesFolding) {
  std::vector<InstanceUsage> instances = {MeasureInstance("a", 4, 0, 4, 4),
                                          MeasureInstance("b", 4, 1, 3, 4),
                                          MeasureInstance("c", 2, 2, 0, 2)};
  const auto folded = FoldInstances(instances, 2);
  ASSERT_EQ(folded.size(), 3u);
  EXPECT_EQ(folded[2].instance, kOtherLabelValue);
  EXPECT_TRUE(folded[2].saturated);
  EXPECT_DOUBLE_EQ(folded[2].busy_ratio, 1.0);
}

TEST(PoolUsageTest, CountsPerPoolPerInstanceAndUnpooled) {
  const std::vector<PoolConfig> pools = {
      Pool("web", "web-*", 4, InstanceBy::kApplicationName, 3),
      Pool("worker", "worker", 5, InstanceBy::kClientAddr, 2),
  };
  const std::vector<ActivityGroup> activity = {
      Group("web-1", "active", 3),
      Group("web-1", "idle in transaction", 1),
      Group("web-2", "idle", 2),
      Group("worker", "active", 1, "10.0.0.1"),
      Group("worker", "idle", 1),
      Group("psql", "idle", 2),
      Group("pgconn_exporter", "active", 0, "", 1),  // the exporter itself: left out
  };
  const auto usage = ComputePoolUsage(pools, activity);
  ASSERT_EQ(usage.size(), 3u);

  EXPECT_EQ(usage[0].name, "web");
  EXPECT_EQ(usage[0].open, 6);
  EXPECT_EQ(usage[0].busy, 4);
  EXPECT_EQ(usage[0].observed_instances, 2);
  EXPECT_EQ(usage[0].by_state.at("active"), 3);
  EXPECT_EQ(usage[0].by_state.at("idle in transaction"), 1);
  EXPECT_EQ(usage[0].by_state.at("idle"), 2);
  EXPECT_EQ(usage[0].by_state.at("disabled"), 0);  // zero-filled
  ASSERT_EQ(usage[0].instances.size(), 2u);
  EXPECT_EQ(usage[0].instances[0].instance, "web-1");
  EXPECT_TRUE(usage[0].instances[0].saturated);  // 4 of 4 open, none idle
  EXPECT_DOUBLE_EQ(usage[0].instances[1].open_ratio, 0.5);

  EXPECT_EQ(usage[1].observed_instances, 2);
  EXPECT_EQ(usage[1].instances[0].instance, "10.0.0.1");
  EXPECT_EQ(usage[1].instances[1].instance, kLocalInstance);

  EXPECT_EQ(usage[2].name, kUnpooledPool);
  EXPECT_EQ(usage[2].open, 2);
  EXPECT_EQ(usage[2].by_state.at("idle"), 2);
  EXPECT_TRUE(usage[2].instances.empty());
}

TEST(PoolUsageTest, UnsplitPoolIsOneUnitOfSizeTimesInstances) {
  const std::vector<PoolConfig> pools = {Pool("web", "web-*", 4, InstanceBy::kNone, 3)};
  const auto usage =
      ComputePoolUsage(pools, {Group("web-1", "active", 6), Group("web-2", "active", 6)});
  EXPECT_FALSE(usage[0].observed_instances);
  ASSERT_EQ(usage[0].instances.size(), 1u);
  EXPECT_EQ(usage[0].instances[0].instance, "");
  EXPECT_EQ(usage[0].instances[0].capacity, 12);
  EXPECT_DOUBLE_EQ(usage[0].instances[0].busy_ratio, 1.0);
  EXPECT_TRUE(usage[0].instances[0].saturated);

  const auto idle = ComputePoolUsage(pools, {});
  ASSERT_EQ(idle[0].instances.size(), 1u);  // present at 0 even with no session
  EXPECT_EQ(idle[0].instances[0].open_ratio, 0);
}

TEST(PoolUsageTest, InstanceSeriesAreCapped) {
  PoolConfig pool = Pool("web", "web-*", 2, InstanceBy::kApplicationName, 100);
  pool.max_instance_series = 3;
  std::vector<ActivityGroup> activity;
  for (int i = 0; i < 10; ++i) activity.push_back(Group("web-" + std::to_string(i), "idle", 1));
  const auto usage = ComputePoolUsage({pool}, activity);
  EXPECT_EQ(usage[0].observed_instances, 10);  // counted before folding
  ASSERT_EQ(usage[0].instances.size(), 4u);
  EXPECT_EQ(usage[0].instances[3].instance, kOtherLabelValue);
  EXPECT_EQ(usage[0].instances[3].folded, 7);
}

}  // namespace
}  // namespace pgconn
