// [[pool]] against a real PostgreSQL 15: two apps with several instances each (told apart by
// application_name and by client address), some sessions busy, and the `plan` command.
#include <gtest/gtest.h>

#include <algorithm>
#include <iostream>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "support/loopback_relay.h"
#include "support/scenario.h"

namespace pgconn::testing {
namespace {

// 40 - 3 superuser-reserved = 37 usable.
constexpr int kUsable = 37;

ClientSpec App(const std::string& user, const std::string& application_name) {
  return ClientSpec{user, kAppPassword, kAppDatabase, application_name};
}

// web: 3 instances by application_name, size 4; worker: user app_b, 2 instances by client
// address, size 4; reserve 5 + 20%. Planned: (12 + 8 + 5) * 1.2 = 30.
std::string PoolsToml(int web_instances = 3, const std::string& web_extra = "") {
  return "reserve = \"5 + 20%\"\n"
         "\n[[pool]]\nname = \"web\"\ntarget = \"main\"\napplication_name = \"web-*\"\n"
         "size = 4\ninstances = " +
         std::to_string(web_instances) + "\ninstance_by = \"application_name\"\n" + web_extra +
         "\n[[pool]]\nname = \"worker\"\ntarget = \"main\"\nuser = \"app_b\"\n"
         "client_addr = \"127.0.0.0/8\"\n"
         "database_url = \"postgresql://app_b:not-a-real-pw@db:5432/appdb?connection_limit=4\"\n"
         "instances = 2\ninstance_by = \"client_addr\"\n";
}

// The sessions of the scenario, kept open for the lifetime of the object.
class TwoApps {
 public:
  explicit TwoApps(const TestPostgres& pg)
      : web_(pg.port()),
        relay2_(pg.port(), "127.0.0.2"),
        relay3_(pg.port(), "127.0.0.3"),
        worker2_(relay2_.port()),
        worker3_(relay3_.port()) {
    // web-1 is saturated (4 of 4 busy), web-2 half idle, web-3 idle.
    web_.OpenMany(App(kAppRoleA, "web-1"), SessionState::kActive, 2);
    web_.OpenMany(App(kAppRoleA, "web-1"), SessionState::kIdleInTransaction, 2);
    web_.Open(App(kAppRoleA, "web-2"), SessionState::kActive);
    web_.OpenMany(App(kAppRoleA, "web-2"), SessionState::kIdle, 2);
    web_.OpenMany(App(kAppRoleA, "web-3"), SessionState::kIdle, 2);
    // Matches web (application_name) and worker (user): the first pool in the file wins.
    web_.Open(App(kAppRoleB, "web-9"), SessionState::kIdle);
    web_.Open(App(kAppRoleA, "psql"), SessionState::kIdle);  // in no pool
    // Worker at 127.0.0.2: all open, two idle. At 127.0.0.3: all busy.
    worker2_.Open(App(kAppRoleB, "worker"), SessionState::kActive);
    worker2_.Open(App(kAppRoleB, "worker"), SessionState::kIdleInTransactionAborted);
    worker2_.OpenMany(App(kAppRoleB, "worker"), SessionState::kIdle, 2);
    worker3_.OpenMany(App(kAppRoleB, "worker"), SessionState::kActive, 3);
    worker3_.Open(App(kAppRoleB, "worker"), SessionState::kIdleInTransaction);
    // Backends of an earlier test may still be exiting: wait for exactly ours.
    const std::string count =
        "SELECT count(*) FROM pg_stat_activity WHERE usename IN ('app_a', 'app_b')";
    if (!WaitFor([&] { return pg.SuperuserScalar(count) == "19"; }, 10s)) {
      throw std::runtime_error("sessions did not settle: " + pg.SuperuserScalar(count));
    }
  }

 private:
  ClientPool web_;
  LoopbackRelay relay2_;
  LoopbackRelay relay3_;
  ClientPool worker2_;
  ClientPool worker3_;
};

// One server for the suite (started on first use), which accepts relayed 127.0.0.x clients.
class PoolsTest : public ::testing::Test {
 protected:
  static TestPostgres& Server() {
    if (!server_) {
      server_ = std::make_unique<TestPostgres>(PostgresOptions{40, 3, {}});
      AllowLoopbackClients(server_->DataDir());
      server_->SuperuserSql("SELECT pg_reload_conf()");
    }
    return *server_;
  }
  static void TearDownTestSuite() { server_.reset(); }

 private:
  static inline std::unique_ptr<TestPostgres> server_;
};

Labels Pool(const std::string& pool, Labels extra = {}) {
  extra["pool"] = pool;
  return Main(std::move(extra));
}

Labels Instance(const std::string& pool, const std::string& instance) {
  return Pool(pool, {{"app_instance", instance}});
}

Metrics ExpectedPoolMetrics() {
  Metrics m = {
      {SeriesKey("pgconn_pool_size", Pool("web")), 4},
      {SeriesKey("pgconn_pool_size", Pool("worker")), 4},
      {SeriesKey("pgconn_pool_instances_expected", Pool("web")), 3},
      {SeriesKey("pgconn_pool_instances_expected", Pool("worker")), 2},
      {SeriesKey("pgconn_pool_instances", Pool("web")), 4},  // web-9 included
      {SeriesKey("pgconn_pool_instances", Pool("worker")), 2},
      {SeriesKey("pgconn_pool_busy_ratio", Instance("web", "web-1")), 1},
      {SeriesKey("pgconn_pool_busy_ratio", Instance("web", "web-2")), 0.25},
      {SeriesKey("pgconn_pool_busy_ratio", Instance("web", "web-3")), 0},
      {SeriesKey("pgconn_pool_busy_ratio", Instance("web", "web-9")), 0},
      {SeriesKey("pgconn_pool_busy_ratio", Instance("worker", "127.0.0.2")), 0.5},
      {SeriesKey("pgconn_pool_busy_ratio", Instance("worker", "127.0.0.3")), 1},
      {SeriesKey("pgconn_pool_open_ratio", Instance("web", "web-1")), 1},
      {SeriesKey("pgconn_pool_open_ratio", Instance("web", "web-2")), 0.75},
      {SeriesKey("pgconn_pool_open_ratio", Instance("web", "web-3")), 0.5},
      {SeriesKey("pgconn_pool_open_ratio", Instance("web", "web-9")), 0.25},
      {SeriesKey("pgconn_pool_open_ratio", Instance("worker", "127.0.0.2")), 1},
      {SeriesKey("pgconn_pool_open_ratio", Instance("worker", "127.0.0.3")), 1},
      {SeriesKey("pgconn_pool_saturated", Instance("web", "web-1")), 1},
      {SeriesKey("pgconn_pool_saturated", Instance("web", "web-2")), 0},
      {SeriesKey("pgconn_pool_saturated", Instance("web", "web-3")), 0},
      {SeriesKey("pgconn_pool_saturated", Instance("web", "web-9")), 0},
      {SeriesKey("pgconn_pool_saturated", Instance("worker", "127.0.0.2")), 0},
      {SeriesKey("pgconn_pool_saturated", Instance("worker", "127.0.0.3")), 1},
      // 20 client backends (18 app + psql + exporter): 17 available; the 2 unpooled use 2
      // of the reserve of 10, so 8 stay free: 9 left, 2 more instances of 4 fit.
      {SeriesKey("pgconn_pool_instances_fit", Pool("web")), 2},
      {SeriesKey("pgconn_pool_instances_fit", Pool("worker")), 2},
      {SeriesKey("pgconn_capacity_planned_connections", Main()), 30},
      {SeriesKey("pgconn_capacity_planned_headroom_connections", Main()), kUsable - 30},
  };
  const std::map<std::string, std::map<std::string, double>> states = {
      {"web", {{"active", 3}, {"idle", 5}, {"idle in transaction", 2}}},
      {"worker",
       {{"active", 4},
        {"idle", 2},
        {"idle in transaction", 1},
        {"idle in transaction (aborted)", 1}}},
      {"__unpooled__", {{"idle", 1}}},  // psql; the exporter's own session is left out
  };
  for (const auto& [pool, by_state] : states) {
    for (const char* state :
         {"active", "idle", "idle in transaction", "idle in transaction (aborted)",
          "fastpath function call", "disabled"}) {
      const auto it = by_state.find(state);
      m[SeriesKey("pgconn_pool_connections", Pool(pool, {{"state", state}}))] =
          it == by_state.end() ? 0 : it->second;
    }
  }
  return m;
}

TEST_F(PoolsTest, EveryPoolMetricFromRealSessions) {
  TestPostgres& pg = Server();
  TwoApps apps(pg);
  ExporterProcess exporter(MainConfig(pg, "300ms", PoolsToml()));
  const Metrics expected = ExpectedPoolMetrics();
  Metrics m;
  ASSERT_TRUE(exporter.ScrapeUntil(
      [&](const Metrics& s) { return DiffMetrics(expected, s, false).empty(); }, 15s, &m))
      << DiffMetrics(expected, m, false) << Dump(m);
  // Exactly these pool series: no stray instance, state or pool.
  for (const char* family : {"pgconn_pool_busy_ratio", "pgconn_pool_saturated",
                             "pgconn_pool_connections", "pgconn_pool_size"}) {
    const Metrics actual = SelectMap(m, family);
    EXPECT_EQ(DiffMetrics(actual, expected, false), "") << family;
  }
  EXPECT_EQ(Value(m, "pgconn_client_connections", Main()), 20.0);
  // promtool on the pool and plan families (other families are other tests' business).
  std::istringstream lines(exporter.ScrapeText());
  std::string ours;
  for (std::string line; std::getline(lines, line);) {
    if (line.find("pgconn_pool_") != std::string::npos ||
        line.find("pgconn_capacity_") != std::string::npos) {
      ours += line + "\n";
    }
  }
  const PromtoolResult lint = PromtoolCheckMetrics(ours);
  EXPECT_TRUE(lint.ok) << lint.output;
}

TEST_F(PoolsTest, InstanceSeriesAreCappedIntoOther) {
  TestPostgres& pg = Server();
  TwoApps apps(pg);
  ExporterProcess exporter(MainConfig(pg, "300ms", PoolsToml(3, "max_instance_series = 2\n")));
  const Metrics expected = {
      // web-1 (4 open) and web-2 (3) keep their series; web-3 and web-9 fold.
      {SeriesKey("pgconn_pool_open_ratio", Instance("web", "web-1")), 1},
      {SeriesKey("pgconn_pool_open_ratio", Instance("web", "web-2")), 0.75},
      {SeriesKey("pgconn_pool_open_ratio", Instance("web", "__other__")), 0.5},
      {SeriesKey("pgconn_pool_saturated", Instance("web", "__other__")), 0},
      {SeriesKey("pgconn_pool_instances", Pool("web")), 4},
  };
  Metrics m;
  ASSERT_TRUE(exporter.ScrapeUntil(
      [&](const Metrics& s) { return DiffMetrics(expected, s, false).empty(); }, 15s, &m))
      << DiffMetrics(expected, m, false) << Dump(m);
  EXPECT_EQ(Select(m, "pgconn_pool_open_ratio", Pool("web")).size(), 3u) << Dump(m);
}

std::string WriteConfig(const TempDir& dir, const std::string& toml) {
  const std::string path = dir.File("plan.toml");
  WriteFile(path, toml);
  return path;
}

TEST_F(PoolsTest, PlanThatFitsPrintsTheArithmeticAndExitsZero) {
  TestPostgres& pg = Server();
  TwoApps apps(pg);
  TempDir dir("pgconn-plan-");
  const std::string path = WriteConfig(dir, MainConfig(pg, "1s", PoolsToml()));
  const ProcessResult text = RunExporter({"plan", "--config.file", path});
  EXPECT_EQ(text.exit_code, 0) << text.out << text.err;
  for (const char* line : {
           "target main: FITS (headroom 7)",
           "  max_connections                         40",
           "  = usable by ordinary roles              37",
           "  web              4 x         3 =     12 |       10     5              4",
           "  worker           4 x         2 =      8 |        8     6              2",
           "  + reserve 5 + 20% (5 + 20% of 25)       10",
           "  = needed                                30",
           "the plan fits; the smallest max_connections for it is 33",
           "web: 4 instances seen, 3 planned",
       }) {
    EXPECT_NE(text.out.find(line), std::string::npos) << "missing: " << line << "\n" << text.out;
  }
  EXPECT_EQ(text.out.find("not-a-real-pw"), std::string::npos);
  EXPECT_EQ(text.err.find("not-a-real-pw"), std::string::npos);

  const ProcessResult json = RunExporter({"plan", "--config.file=" + path, "--format=json"});
  EXPECT_EQ(json.exit_code, 0) << json.err;
  for (const char* field :
       {"{\"fits\":true,\"targets\":[{\"target\":\"main\",\"fits\":true,\"error\":null,",
        "\"max_connections\":40,", "\"usable_connections\":37,", "\"planned_connections\":30,",
        "\"headroom_connections\":7,", "\"recommended_max_connections\":33,",
        "{\"pool\":\"worker\",\"size\":4,\"size_source\":\"database_url connection_limit\","
        "\"instances\":2,\"total\":8,\"open_now\":8,\"busy_now\":6,\"instances_now\":2,"}) {
    EXPECT_NE(json.out.find(field), std::string::npos) << field << "\n" << json.out;
  }
}

TEST_F(PoolsTest, PlanThatDoesNotFitExitsOneWithARecommendation) {
  TestPostgres& pg = Server();
  TwoApps apps(pg);
  TempDir dir("pgconn-plan-");
  // 10 web instances: (40 + 8 + 5) * 1.2 = 64 needed of 37.
  const std::string path = WriteConfig(dir, MainConfig(pg, "1s", PoolsToml(10)));
  const ProcessResult text = RunExporter({"plan", "--config.file", path});
  EXPECT_EQ(text.exit_code, 1) << text.out << text.err;
  for (const char* line : {
           "target main: DOES NOT FIT (short by 27)",
           "  = needed                                64",
           "  headroom (usable - needed)             -27",
           "raise max_connections to at least 67 (64 needed + 3 reserved slots",
           "    web: at most 1 per instance x 10, or at most 4 instances of 4",
       }) {
    EXPECT_NE(text.out.find(line), std::string::npos) << "missing: " << line << "\n" << text.out;
  }
  const ProcessResult json = RunExporter({"plan", "--config.file", path, "--format", "json"});
  EXPECT_EQ(json.exit_code, 1);
  EXPECT_NE(json.out.find("\"headroom_connections\":-27,"), std::string::npos) << json.out;
  // The same plan, live: the metric says so too.
  ExporterProcess exporter(MainConfig(pg, "300ms", PoolsToml(10)));
  Metrics m;
  EXPECT_TRUE(exporter.ScrapeUntil(
      [](const Metrics& s) {
        return Value(s, "pgconn_capacity_planned_headroom_connections", Main()) == -27.0;
      },
      10s, &m))
      << Dump(m);
}

TEST_F(PoolsTest, PlanForATargetThatIsDownExitsThree) {
  TempDir dir("pgconn-plan-");
  const std::string path =
      WriteConfig(dir, ExporterToml("1s") + TargetToml("main", DeadDsn()) + PoolsToml());
  const ProcessResult result = RunExporter({"plan", "--config.file", path});
  EXPECT_EQ(result.exit_code, 3) << result.out << result.err;
  EXPECT_NE(result.out.find("target main: UNKNOWN (could not poll:"), std::string::npos)
      << result.out;
  EXPECT_NE(result.out.find("  = needed                                30"), std::string::npos)
      << result.out;
  const ProcessResult bad = RunExporter({"plan", "--config.file", path, "--format", "yaml"});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("--format: yaml not in {text,json}"), std::string::npos) << bad.err;
}

// Scale: 20 pools x 20 instances with a real session each (400 client backends), a quarter
// of them busy. Every instance must be seen, and the poll must stay fast.
constexpr int kScalePools = 20;
constexpr int kScaleInstances = 20;

std::string ScalePoolName(int pool) { return "app" + std::to_string(100 + pool).substr(1); }

std::string ScalePoolsToml() {
  std::string toml;
  for (int p = 0; p < kScalePools; ++p) {
    toml += "\n[[pool]]\nname = \"" + ScalePoolName(p) + "\"\ntarget = \"main\"\n" +
            "application_name = \"" + ScalePoolName(p) +
            "-*\"\nsize = 2\ninstances = " + std::to_string(kScaleInstances) +
            "\ninstance_by = \"application_name\"\n";
  }
  return toml;
}

TEST(PoolsScaleTest, TwentyPoolsOfTwentyInstances) {
  TestPostgres pg(PostgresOptions{kScalePools * kScaleInstances + 50, 3, {}});
  ClientPool clients(pg.port());
  for (int p = 0; p < kScalePools; ++p) {
    for (int i = 0; i < kScaleInstances; ++i) {
      const ClientSpec spec{kAppRoleA, kAppPassword, "postgres",
                            ScalePoolName(p) + "-" + std::to_string(i)};
      clients.Open(spec, i % 4 == 0 ? SessionState::kActive : SessionState::kIdle);
    }
  }
  ExporterProcess exporter(MainConfig(pg, "500ms", ScalePoolsToml()));
  Metrics m;
  ASSERT_TRUE(exporter.ScrapeUntil(
      [](const Metrics& s) {
        return Sum(s, "pgconn_pool_instances") == kScalePools * kScaleInstances &&
               Sum(s, "pgconn_pool_connections", {{"state", "active"}}) == 100;
      },
      30s, &m))
      << Dump(m);
  EXPECT_EQ(Select(m, "pgconn_pool_open_ratio").size(), 400u);
  EXPECT_EQ(Sum(m, "pgconn_pool_open_ratio"), 200.0);  // every instance at 1 of 2
  // The poll duration over several polls at this size, reported for the record.
  double worst_poll = 0, worst_activity = 0;
  for (int i = 0; i < 10; ++i) {
    std::this_thread::sleep_for(500ms);
    const Metrics s = exporter.Scrape();
    worst_poll = std::max(worst_poll, Value(s, "pgconn_poll_duration_seconds", Main()).value_or(0));
    worst_activity = std::max(worst_activity, Value(s, "pgconn_collector_duration_seconds",
                                                    Main({{"collector", "activity"}}))
                                                  .value_or(0));
  }
  RecordProperty("worst_poll_ms", static_cast<int>(worst_poll * 1000));
  std::cout << "[ scale    ] " << kScalePools << " pools x " << kScaleInstances
            << " instances: worst poll " << worst_poll * 1000 << " ms, activity query "
            << worst_activity * 1000 << " ms\n";
  EXPECT_GT(worst_poll, 0.0);
  EXPECT_LT(worst_poll, 1.0);
}

}  // namespace
}  // namespace pgconn::testing
