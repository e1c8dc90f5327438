#include <gtest/gtest.h>

#include "pgconn/capacity_plan.h"
#include "pgconn/plan_render.h"

namespace pgconn {
namespace {

PoolConfig Pool(std::string name, int64_t size, int64_t instances) {
  PoolConfig pool;
  pool.name = std::move(name);
  pool.size = size;
  pool.instances = instances;
  pool.size_source = "size";
  return pool;
}

ReserveConfig Reserve(const std::string& text) {
  const auto reserve = ParseReserve(text);
  EXPECT_TRUE(reserve) << text;
  return reserve.value_or(ReserveConfig{});
}

Capacity Server(int64_t max, int64_t superuser_reserved, int64_t clients) {
  Capacity capacity;
  capacity.max_connections = max;
  capacity.superuser_reserved = superuser_reserved;
  capacity.usable = max - superuser_reserved;
  capacity.client_connections = clients;
  capacity.available = std::max<int64_t>(0, capacity.usable - clients);
  return capacity;
}

// Usage aligned with `pools` plus __unpooled__, with `open` sessions per pool.
std::vector<PoolUsage> Usage(const std::vector<PoolConfig>& pools,
                             const std::vector<int64_t>& open) {
  std::vector<PoolUsage> usage(pools.size() + 1);
  for (size_t i = 0; i < pools.size(); ++i) {
    usage[i].name = pools[i].name;
    usage[i].open = open[i];
  }
  usage.back().name = "__unpooled__";
  return usage;
}

TEST(PoolReserveTest, ParsesAbsolutePercentAndBoth) {
  EXPECT_EQ(Reserve("10").connections, 10);
  EXPECT_EQ(Reserve("20%").percent_hundredths, 2000);
  EXPECT_EQ(Reserve("12.5%").percent_hundredths, 1250);
  EXPECT_EQ(Reserve("0.25%").percent_hundredths, 25);
  const ReserveConfig both = Reserve(" 10 + 20% ");
  EXPECT_EQ(both.connections, 10);
  EXPECT_EQ(both.percent_hundredths, 2000);
  const ReserveConfig reversed = Reserve("20%+10");
  EXPECT_EQ(reversed.connections, 10);
  EXPECT_EQ(reversed.percent_hundredths, 2000);
  for (const char* bad : {"", "%", "ten", "-5", "10 +", "+ 10", "10 + 5", "20% + 5%", "12.345%",
                          "1.%", "20 %%", "10;20%", "2000%", "10000000"}) {
    EXPECT_FALSE(ParseReserve(bad)) << bad;
  }
}

TEST(PoolReserveTest, FormatsForPeople) {
  EXPECT_EQ(FormatReserve(ReserveConfig{}), "0");
  EXPECT_EQ(FormatReserve(Reserve("10")), "10");
  EXPECT_EQ(FormatReserve(Reserve("20%")), "20%");
  EXPECT_EQ(FormatReserve(Reserve("12.5%")), "12.5%");
  EXPECT_EQ(FormatReserve(Reserve("0.05%")), "0.05%");
  EXPECT_EQ(FormatReserve(Reserve("20% + 10")), "10 + 20%");
}

// The arithmetic operators do by hand: 3 apps x 10 + 5 monitoring + 5 backups = 40,
// plus a 20% buffer = 48 needed.
TEST(PoolPlanTest, WorkedExampleWithReserveForMonitoringAndBackups) {
  const std::vector<PoolConfig> apps = {Pool("app1", 10, 1), Pool("app2", 10, 1),
                                        Pool("app3", 10, 1)};
  const PlanArithmetic plan = PlanConnections(apps, Reserve("10 + 20%"));
  EXPECT_EQ(plan.pools, 30);
  EXPECT_EQ(plan.reserve_fixed, 10);
  EXPECT_EQ(plan.buffer, 8);
  EXPECT_EQ(plan.reserve, 18);
  EXPECT_EQ(plan.planned, 48);
}

TEST(PoolPlanTest, WorkedExampleWithMonitoringAndBackupsAsPools) {
  const std::vector<PoolConfig> pools = {Pool("apps", 10, 3), Pool("monitoring", 5, 1),
                                         Pool("backups", 5, 1)};
  const PlanArithmetic plan = PlanConnections(pools, Reserve("20%"));
  EXPECT_EQ(plan.pools, 40);
  EXPECT_EQ(plan.buffer, 8);
  EXPECT_EQ(plan.planned, 48);
}

TEST(PoolPlanTest, BufferRoundsUpAndIsExact) {
  EXPECT_EQ(PlanConnections(41, Reserve("20%")).planned, 41 + 9);  // 8.2 -> 9
  EXPECT_EQ(PlanConnections(45, Reserve("20%")).planned, 54);      // 9.0 stays 9
  EXPECT_EQ(PlanConnections(45, Reserve("0%")).planned, 45);
  EXPECT_EQ(PlanConnections(0, Reserve("10")).planned, 10);
  EXPECT_EQ(PlanConnections(100, Reserve("12.5%")).buffer, 13);  // 12.5 -> 13
}

TEST(PoolPlanTest, InstancesThatFitNowKeepTheUnusedReserveFree) {
  EXPECT_EQ(InstancesFitNow(9, 55, 0, 0), 6);    // 55 / 9
  EXPECT_EQ(InstancesFitNow(9, 55, 10, 0), 5);   // 45 / 9
  EXPECT_EQ(InstancesFitNow(9, 55, 10, 4), 5);   // 6 of the reserve still to keep: 49 / 9
  EXPECT_EQ(InstancesFitNow(9, 55, 10, 12), 6);  // unpooled sessions use all of it already
  EXPECT_EQ(InstancesFitNow(9, 5, 10, 0), 0);
  EXPECT_EQ(InstancesFitNow(9, 0, 0, 0), 0);
}

TEST(PoolPlanTest, LargestSizeAndInstancesThatFit) {
  const std::vector<PoolConfig> pools = {Pool("web", 9, 5), Pool("worker", 10, 2)};
  const ReserveConfig reserve = Reserve("10");
  // usable 97: worker 20 + reserve 10 leave 67 for web = 5 x 13 (65).
  EXPECT_EQ(MaxSizeThatFits(pools, 0, reserve, 97), 13);
  EXPECT_EQ(MaxInstancesThatFit(pools, 0, reserve, 97), 7);  // 7 x 9 = 63
  // usable 40: 30 for worker + web; web alone cannot fit at all beside worker.
  EXPECT_EQ(MaxSizeThatFits(pools, 0, reserve, 30), 0);
  EXPECT_EQ(MaxSizeThatFits(pools, 0, reserve, 29), 0);
  // With a buffer the search uses the same arithmetic as the plan.
  const ReserveConfig buffered = Reserve("10 + 20%");
  const auto size = MaxSizeThatFits(pools, 0, buffered, 97);
  ASSERT_TRUE(size);
  std::vector<PoolConfig> resized = pools;
  resized[0].size = *size;
  EXPECT_LE(PlanConnections(resized, buffered).planned, 97);
  resized[0].size = *size + 1;
  EXPECT_GT(PlanConnections(resized, buffered).planned, 97);
  // Zero planned instances: any size fits.
  EXPECT_EQ(MaxSizeThatFits({Pool("idle", 9, 0)}, 0, reserve, 97), std::nullopt);
}

TEST(PoolPlanTest, PlanAgainstALiveServer) {
  TargetConfig target;
  target.name = "main";
  target.reserve = Reserve("10 + 20%");
  target.pools = {Pool("web", 9, 5), Pool("worker", 10, 2)};
  // 100 - 3 = 97 usable; 12 + 4 pooled sessions, 3 unpooled (the exporter among them).
  const CapacityPlan plan = PlanCapacity(target, Server(100, 3, 19), Usage(target.pools, {12, 4}));
  EXPECT_EQ(plan.arithmetic.pools, 65);
  EXPECT_EQ(plan.arithmetic.buffer, 15);  // 20% of 75
  EXPECT_EQ(plan.arithmetic.planned, 90);
  EXPECT_EQ(plan.headroom, 7);
  EXPECT_TRUE(plan.fits());
  EXPECT_EQ(plan.recommended_max_connections, 93);
  ASSERT_TRUE(plan.server);
  EXPECT_EQ(plan.server->unpooled_now, 3);
  ASSERT_EQ(plan.pools.size(), 2u);
  EXPECT_EQ(plan.pools[0].total, 45);
  EXPECT_EQ(plan.pools[0].open_now, 12);
  // available 78; 3 unpooled sessions use 3 of the reserve of 25, 22 stay free -> 56 left.
  EXPECT_EQ(plan.pools[0].instances_fit_now, 6);
  EXPECT_EQ(plan.pools[1].instances_fit_now, 5);
  EXPECT_EQ(PlanExitCode({plan}), 0);
}

TEST(PoolPlanTest, PlanThatDoesNotFit) {
  TargetConfig target;
  target.name = "main";
  target.reserve = Reserve("5");
  target.pools = {Pool("web", 9, 8)};
  const CapacityPlan plan = PlanCapacity(target, Server(40, 3, 10), Usage(target.pools, {9}));
  EXPECT_EQ(plan.arithmetic.planned, 77);
  EXPECT_EQ(plan.headroom, 37 - 77);
  EXPECT_FALSE(plan.fits());
  EXPECT_EQ(plan.recommended_max_connections, 80);
  EXPECT_EQ(plan.pools[0].max_size, 4);       // 8 x 4 + 5 = 37
  EXPECT_EQ(plan.pools[0].max_instances, 3);  // 3 x 9 + 5 = 32
  EXPECT_EQ(PlanExitCode({plan}), 1);
}

TEST(PoolPlanTest, UnknownWhenTheTargetWasNotPolled) {
  TargetConfig target;
  target.name = "main";
  target.pools = {Pool("web", 9, 2)};
  TargetStatus down;
  down.polled = true;
  down.last_error = "connection refused";
  const CapacityPlan plan = ComputeCapacityPlan(target, down);
  EXPECT_EQ(plan.arithmetic.planned, 18);
  EXPECT_FALSE(plan.server);
  EXPECT_FALSE(plan.headroom);
  EXPECT_EQ(plan.error, "connection refused");
  EXPECT_EQ(PlanExitCode({plan}), 3);
  // A plan that does not fit decides the exit status over an unknown one.
  const CapacityPlan short_plan = PlanCapacity(target, Server(12, 3, 1), Usage(target.pools, {0}));
  EXPECT_EQ(PlanExitCode({plan, short_plan}), 1);
  EXPECT_NE(RenderPlanText({plan}).find("UNKNOWN (could not poll: connection refused)"),
            std::string::npos);
}

TEST(PoolPlanTest, NotesWhatLooksWrong) {
  TargetConfig target;
  target.name = "main";
  target.reserve = Reserve("2");
  target.pools = {Pool("web", 4, 2)};
  std::vector<PoolUsage> usage = Usage(target.pools, {12});
  usage[0].observed_instances = 3;
  usage[0].instances = {MeasureInstance("web-1", 6, 0, 6, 4)};
  const CapacityPlan plan = PlanCapacity(target, Server(100, 3, 20), usage);
  ASSERT_EQ(plan.notes.size(), 3u);
  EXPECT_EQ(plan.notes[0], "web: 3 instances seen, 2 planned");
  EXPECT_EQ(plan.notes[1],
            "web: more sessions open than the pool size 4 allows (open ratio up to 1.50): is the "
            "size right?");
  EXPECT_EQ(plan.notes[2],
            "8 sessions match no pool (the exporter's own included): more than the reserve of 2");
}

TEST(PoolPlanRenderTest, TextShowsTheArithmetic) {
  TargetConfig target;
  target.name = "main";
  target.reserve = Reserve("10 + 20%");
  target.pools = {Pool("web", 9, 5), Pool("worker", 10, 2)};
  const std::string text =
      RenderPlanText({PlanCapacity(target, Server(100, 3, 19), Usage(target.pools, {12, 4}))});
  const std::string expected =
      "target main: FITS (headroom 7)\n"
      "  max_connections                        100\n"
      "  - superuser_reserved_connections         3\n"
      "  = usable by ordinary roles              97\n"
      "  in use now (client backends)            19\n"
      "  available now                           78\n"
      "\n"
      "  pool          size x instances =  total | open now  busy  instances now  fit now\n"
      "  web              9 x         5 =     45 |       12     0              -        6\n"
      "  worker          10 x         2 =     20 |        4     0              -        5\n"
      "  (unpooled, incl. the exporter)                   3\n"
      "\n"
      "  pools (size x instances)                65\n"
      "  + reserve 10 + 20% (10 + 20% of 75)     25\n"
      "  = needed                                90\n"
      "  usable                                  97\n"
      "  headroom (usable - needed)               7\n"
      "  recommendation:\n"
      "    the plan fits; the smallest max_connections for it is 93 (90 needed + 3 reserved "
      "slots; changing it needs a restart)\n"
      "    web: at most 10 per instance x 5, or at most 5 instances of 9 (other pools "
      "unchanged)\n"
      "    worker: at most 12 per instance x 2, or at most 2 instances of 10 (other pools "
      "unchanged)\n";
  EXPECT_EQ(text, expected);
}

// The README's example: web (Prisma default on 4 cores: 9) scaled from 5 to 8 instances.
TEST(PoolPlanRenderTest, ReadmeExampleScalingWebToEight) {
  TargetConfig target;
  target.name = "main";
  target.reserve = Reserve("10 + 20%");
  target.pools = {Pool("web", 9, 8), Pool("worker", 10, 2)};
  const CapacityPlan plan = PlanCapacity(target, Server(100, 3, 19), Usage(target.pools, {12, 4}));
  EXPECT_EQ(plan.arithmetic.planned, 123);  // (72 + 20 + 10) * 1.2 = 122.4 -> 123
  const std::string text = RenderPlanText({plan});
  for (const char* line : {
           "target main: DOES NOT FIT (short by 26)\n",
           "  + reserve 10 + 20% (10 + 20% of 102)    31\n",
           "    raise max_connections to at least 126 (123 needed + 3 reserved slots; changing it "
           "needs a restart), or shrink a pool:\n",
           "    web: at most 6 per instance x 8, or at most 5 instances of 9 (other pools "
           "unchanged)\n",
           "    worker: no instance fits beside the others\n",
       }) {
    EXPECT_NE(text.find(line), std::string::npos) << line << "\n" << text;
  }
}

TEST(PoolPlanRenderTest, JsonForMachines) {
  TargetConfig target;
  target.name = "main";
  target.reserve = Reserve("5");
  target.pools = {Pool("web", 9, 8)};
  const std::string json =
      RenderPlanJson({PlanCapacity(target, Server(40, 3, 10), Usage(target.pools, {9}))});
  EXPECT_EQ(json,
            "{\"fits\":false,\"targets\":[{\"target\":\"main\",\"fits\":false,\"error\":null,"
            "\"server\":{\"max_connections\":40,\"superuser_reserved_connections\":3,"
            "\"reserved_connections\":null,\"provider_reserved_connections\":{},"
            "\"usable_connections\":37,\"client_connections\":10,"
            "\"available_connections\":27,\"unpooled_connections\":1},"
            "\"pools\":[{\"pool\":\"web\",\"size\":9,\"size_source\":\"size\",\"instances\":8,"
            "\"total\":72,\"open_now\":9,\"busy_now\":0,\"instances_now\":null,"
            "\"instances_fit_now\":2,\"max_size\":4,\"max_instances\":3}],"
            "\"pools_total\":72,\"reserve\":\"5\",\"reserve_fixed\":5,\"reserve_buffer\":0,"
            "\"reserve_total\":5,\"planned_connections\":77,\"headroom_connections\":-40,"
            "\"recommended_max_connections\":80,\"notes\":[]}]}\n");
}

}  // namespace
}  // namespace pgconn
