#include <gtest/gtest.h>

#include <map>

#include "pgconn/capacity_plan.h"
#include "pgconn/pool_match.h"
#include "pgconn/render.h"
#include "pgconn/target_metrics.h"
#include "support/activity_builder.h"

namespace pgconn {
namespace {

ActivityGroup Client(std::string application, std::string state, int64_t others,
                     std::string client_addr = "127.0.0.1", int64_t self = 0) {
  return testing::MakeGroup({kClientBackend, "appdb", "app", std::move(application),
                             std::move(state), std::move(client_addr)},
                            others, self);
}

TargetStatus Up(std::vector<ActivityGroup> activity) {
  TargetSample sample;
  ServerSettings settings;
  settings.max_connections = 100;
  settings.superuser_reserved_connections = 3;
  sample.settings = settings;
  sample.activity = std::move(activity);
  TargetStatus status;
  status.up = status.polled = true;
  status.sample = std::move(sample);
  return status;
}

PoolConfig Pool(std::string name, std::string glob, int64_t size, int64_t instances,
                InstanceBy by) {
  PoolConfig pool;
  pool.name = std::move(name);
  pool.application_name = std::move(glob);
  pool.size = size;
  pool.instances = instances;
  pool.instance_by = by;
  return pool;
}

TargetConfig Target() {
  TargetConfig target;
  target.name = "main";
  target.dsn = "host=db";
  target.reserve = *ParseReserve("10");
  target.pools = {Pool("web", "web-*", 4, 5, InstanceBy::kApplicationName),
                  Pool("worker", "worker*", 10, 2, InstanceBy::kNone)};
  return target;
}

// "name{k=v,...}" -> value, pool and capacity-plan families only.
std::map<std::string, double> PoolSeries(const Families& families) {
  std::map<std::string, double> out;
  for (const auto& family : families) {
    if (family.name.rfind("pgconn_pool_", 0) != 0 &&
        family.name.rfind("pgconn_capacity_", 0) != 0) {
      continue;
    }
    for (const auto& metric : family.metric) {
      std::string key = family.name + "{";
      for (const auto& label : metric.label) key += label.name + "=" + label.value + ",";
      out[key + "}"] = metric.gauge.value;
    }
  }
  return out;
}

TEST(PoolMetricsTest, EveryPoolFamily) {
  const auto series = PoolSeries(MapTarget(
      Target(), Up({Client("web-1", "active", 3), Client("web-1", "idle in transaction", 1),
                    Client("web-2", "idle", 2), Client("worker-a", "active", 5),
                    Client("psql", "idle", 1), Client("pgconn_exporter", "active", 0, "", 1)})));
  const std::string web = "target=main,pool=web,";
  const std::string worker = "target=main,pool=worker,";
  const std::string unpooled = "target=main,pool=__unpooled__,";
  const std::map<std::string, double> expected = {
      {"pgconn_pool_size{" + web + "}", 4},
      {"pgconn_pool_size{" + worker + "}", 10},
      {"pgconn_pool_instances_expected{" + web + "}", 5},
      {"pgconn_pool_instances_expected{" + worker + "}", 2},
      {"pgconn_pool_instances{" + web + "}", 2},
      {"pgconn_pool_connections{" + web + "state=active,}", 3},
      {"pgconn_pool_connections{" + web + "state=idle,}", 2},
      {"pgconn_pool_connections{" + web + "state=idle in transaction,}", 1},
      {"pgconn_pool_connections{" + web + "state=idle in transaction (aborted),}", 0},
      {"pgconn_pool_connections{" + web + "state=fastpath function call,}", 0},
      {"pgconn_pool_connections{" + web + "state=disabled,}", 0},
      {"pgconn_pool_connections{" + worker + "state=active,}", 5},
      {"pgconn_pool_connections{" + worker + "state=idle,}", 0},
      {"pgconn_pool_connections{" + worker + "state=idle in transaction,}", 0},
      {"pgconn_pool_connections{" + worker + "state=idle in transaction (aborted),}", 0},
      {"pgconn_pool_connections{" + worker + "state=fastpath function call,}", 0},
      {"pgconn_pool_connections{" + worker + "state=disabled,}", 0},
      {"pgconn_pool_connections{" + unpooled + "state=active,}", 0},  // the exporter: left out
      {"pgconn_pool_connections{" + unpooled + "state=idle,}", 1},
      {"pgconn_pool_connections{" + unpooled + "state=idle in transaction,}", 0},
      {"pgconn_pool_connections{" + unpooled + "state=idle in transaction (aborted),}", 0},
      {"pgconn_pool_connections{" + unpooled + "state=fastpath function call,}", 0},
      {"pgconn_pool_connections{" + unpooled + "state=disabled,}", 0},
      {"pgconn_pool_busy_ratio{" + web + "app_instance=web-1,}", 1},
      {"pgconn_pool_busy_ratio{" + web + "app_instance=web-2,}", 0},
      {"pgconn_pool_busy_ratio{" + worker + "}", 0.25},  // 5 of 10 x 2
      {"pgconn_pool_open_ratio{" + web + "app_instance=web-1,}", 1},
      {"pgconn_pool_open_ratio{" + web + "app_instance=web-2,}", 0.5},
      {"pgconn_pool_open_ratio{" + worker + "}", 0.25},
      {"pgconn_pool_saturated{" + web + "app_instance=web-1,}", 1},
      {"pgconn_pool_saturated{" + web + "app_instance=web-2,}", 0},
      {"pgconn_pool_saturated{" + worker + "}", 0},
      // 97 usable - 13 clients = 84 available; the 2 unpooled use 2 of the reserve of 10.
      {"pgconn_pool_instances_fit{" + web + "}", 19},             // (84 - 8) / 4
      {"pgconn_pool_instances_fit{" + worker + "}", 7},           // 76 / 10
      {"pgconn_capacity_planned_connections{target=main,}", 50},  // 20 + 20 + 10
      {"pgconn_capacity_planned_headroom_connections{target=main,}", 47},
  };
  EXPECT_EQ(series, expected);
}

TEST(PoolMetricsTest, NothingWithoutPoolsOrReserve) {
  TargetConfig target = Target();
  target.pools.clear();
  target.reserve = ReserveConfig{};
  EXPECT_TRUE(PoolSeries(MapTarget(target, Up({Client("web-1", "idle", 1)}))).empty());
  // A reserve alone still gives the plan for the target.
  target.reserve = *ParseReserve("10");
  const auto series = PoolSeries(MapTarget(target, Up({Client("web-1", "idle", 1)})));
  EXPECT_EQ(series.size(), 2u);
  EXPECT_EQ(series.at("pgconn_capacity_planned_connections{target=main,}"), 10);
}

TEST(PoolMetricsTest, NothingWhileTheTargetIsDown) {
  TargetStatus down;
  down.polled = true;
  EXPECT_TRUE(PoolSeries(MapTarget(Target(), down)).empty());
}

TEST(PoolMetricsTest, HeadroomGoesNegativeAndTheExpositionStaysValid) {
  TargetConfig target = Target();
  target.pools[0].instances = 30;  // 120 + 20 + 10 = 150 planned of 97
  const Families families = MapTarget(target, Up({Client("web-1", "idle", 1)}));
  const auto series = PoolSeries(families);
  EXPECT_EQ(series.at("pgconn_capacity_planned_headroom_connections{target=main,}"), -53);
  // Families with and without the instance label render side by side.
  const std::string text = RenderText(families);
  EXPECT_NE(text.find("pgconn_pool_busy_ratio{target=\"main\",pool=\"worker\"} 0"),
            std::string::npos);
  EXPECT_NE(
      text.find("pgconn_pool_busy_ratio{target=\"main\",pool=\"web\",app_instance=\"web-1\"} 0"),
      std::string::npos);
}

}  // namespace
}  // namespace pgconn
