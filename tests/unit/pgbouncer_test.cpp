// [[pgbouncer]] config, the pure PgBouncer mapping, the budget and its plan lines.
#include <gtest/gtest.h>

#include <cstdlib>
#include <map>
#include <nlohmann/json.hpp>

#include "pgconn/config.h"
#include "pgconn/conninfo.h"
#include "pgconn/database_url.h"
#include "pgconn/pgbouncer_metrics.h"
#include "pgconn/pgbouncer_plan.h"
#include "pgconn/plan_render.h"
#include "pgconn/render.h"
#include "support/config_errors.h"

namespace pgconn {
namespace {

constexpr const char* kTarget = "[[target]]\nname = \"main\"\ndsn = \"host=db dbname=postgres\"\n";

TEST(PgbouncerConfigTest, ReadsEveryKeyAndNeverSendsOptions) {
  setenv("PGCONN_UNIT_PGB_PW", "s3cret", 1);
  const Config config = ParseConfig(
      std::string(kTarget) +
          "[[pgbouncer]]\nname = \"edge\"\ndsn = \"host=pgb port=6432 dbname=pgbouncer "
          "user=stats\"\npassword_env = \"PGCONN_UNIT_PGB_PW\"\nconnect_timeout = \"4s\"\n"
          "query_timeout = \"1s\"\ntarget = \"main\"\n",
      "t.toml");
  ASSERT_EQ(config.pgbouncers.size(), 1u);
  const PgbouncerConfig& pgb = config.pgbouncers[0];
  EXPECT_EQ(pgb.name(), "edge");
  EXPECT_EQ(pgb.target, "main");
  EXPECT_EQ(pgb.console.password, "s3cret");
  EXPECT_EQ(pgb.console.connect_timeout, Millis(4000));
  EXPECT_EQ(pgb.console.query_timeout, Millis(1000));
  const std::string conninfo = BuildConninfo(pgb.console);
  EXPECT_EQ(conninfo.find("options"), std::string::npos) << conninfo;
  EXPECT_NE(conninfo.find("connect_timeout=4"), std::string::npos) << conninfo;
}

TEST(PgbouncerConfigTest, LogIsResolvedLikeServerLogAndMustNotBeEmpty) {
  const std::string pgb = "[[pgbouncer]]\nname = \"edge\"\ndsn = \"host=pgb dbname=pgbouncer\"\n";
  EXPECT_EQ(ParseConfig(std::string(kTarget) + pgb, "/etc/pgconn/x.toml").pgbouncers[0].log, "");
  EXPECT_EQ(ParseConfig(std::string(kTarget) + pgb + "log = \"log/pgbouncer.log\"\n",
                        "/etc/pgconn/x.toml")
                .pgbouncers[0]
                .log,
            "/etc/pgconn/log/pgbouncer.log");
  EXPECT_NE(testing::ConfigErrorOf(std::string(kTarget) + pgb + "log = \"\"\n").find("log"),
            std::string::npos);
}

TEST(PgbouncerConfigTest, ViaPgbouncerTargetsSendNoOptions) {
  const Config config = ParseConfig(
      "[[target]]\nname = \"pooled\"\ndsn = \"host=pgb dbname=app\"\nvia_pgbouncer = true\n",
      "t.toml");
  ASSERT_TRUE(config.targets[0].via_pgbouncer);
  EXPECT_EQ(BuildConninfo(config.targets[0]).find("options"), std::string::npos);
  TargetConfig direct = config.targets[0];
  direct.via_pgbouncer = false;
  EXPECT_NE(BuildConninfo(direct).find("statement_timeout"), std::string::npos);
}

TEST(PgbouncerConfigTest, RejectsUnknownTargetsKeysAndInlinePasswords) {
  EXPECT_NE(testing::ConfigErrorOf(std::string(kTarget) +
                                   "[[pgbouncer]]\nname = \"a\"\ndsn = \"dbname=pgbouncer\"\n"
                                   "target = \"nope\"\n")
                .find("no [[target]] named \"nope\""),
            std::string::npos);
  EXPECT_NE(
      testing::ConfigErrorOf(std::string(kTarget) +
                             "[[pgbouncer]]\nname = \"a\"\ndsn = \"dbname=pgbouncer\"\npool = 1\n")
          .find("unknown key 'pool'"),
      std::string::npos);
  EXPECT_NE(
      testing::ConfigErrorOf(std::string(kTarget) +
                             "[[pgbouncer]]\nname = \"a\"\ndsn = \"dbname=pgbouncer password=x\"\n")
          .find("contains a password"),
      std::string::npos);
  EXPECT_NE(testing::ConfigErrorOf(std::string(kTarget) +
                                   "[[pgbouncer]]\nname = \"a\"\ndsn = \"dbname=pgbouncer\"\n"
                                   "[[pgbouncer]]\nname = \"a\"\ndsn = \"dbname=pgbouncer\"\n")
                .find("duplicate"),
            std::string::npos);
}

TEST(PgbouncerConfigTest, PrismaPgbouncerTrueIsUnderstood) {
  std::string error;
  const auto url =
      ParseDatabaseUrl("postgresql://u:p@pgb:6432/app?pgbouncer=true&connection_limit=7", &error);
  ASSERT_TRUE(url) << error;
  EXPECT_TRUE(url->pgbouncer);
  EXPECT_EQ(url->connection_limit, 7);
  EXPECT_FALSE(ParseDatabaseUrl("postgresql://pgb/app?pgbouncer=false", &error)->pgbouncer);
  const Config config = ParseConfig(
      std::string(kTarget) +
          "[[pool]]\nname = \"web\"\ntarget = \"main\"\n"
          "database_url = \"postgresql://u:p@pgb:6432/app?pgbouncer=true&connection_limit=7\"\n",
      "t.toml");
  const PoolConfig& pool = config.targets[0].pools.at(0);
  EXPECT_EQ(pool.size, 7);
  EXPECT_NE(pool.size_source.find("pgbouncer=true: a pool of PgBouncer clients"), std::string::npos)
      << pool.size_source;
}

PgbouncerPool Pool(std::string database, std::string user, int64_t active, int64_t waiting,
                   int64_t sv_active, int64_t sv_idle, double max_wait) {
  PgbouncerPool pool;
  pool.database = std::move(database);
  pool.user = std::move(user);
  pool.cl_active = active;
  pool.cl_waiting = waiting;
  pool.sv_active = sv_active;
  pool.sv_idle = sv_idle;
  pool.max_wait_seconds = max_wait;
  pool.pool_mode = "transaction";
  return pool;
}

PgbouncerDatabase Database(std::string name, int64_t pool_size, int64_t reserve,
                           int64_t max_connections = 0) {
  PgbouncerDatabase d;
  d.name = std::move(name);
  d.pool_size = pool_size;
  d.reserve_pool = reserve;
  d.max_connections = max_connections;
  return d;
}

PgbouncerSample Sample() {
  PgbouncerSample s;
  s.pools = {Pool("app", "web", 5, 30, 5, 0, 0.004), Pool("app", "batch", 1, 0, 1, 2, 0),
             Pool("pgbouncer", "pgbouncer", 1, 0, 0, 0, 0)};
  s.databases = {Database("pgbouncer", 2, 0), Database("app", 5, 2), Database("reports", 10, 0)};
  s.config = {{"max_client_conn", "100"},
              {"default_pool_size", "20"},
              {"reserve_pool_size", "0"},
              {"max_db_connections", "0"},
              {"max_user_connections", "0"}};
  s.lists = {{"used_clients", 37}};
  s.stats = {PgbouncerStats{"app", 10, 20, 300, 400, 1.5, 1.0, 2.5}};
  return s;
}

PgbouncerStatus Up(PgbouncerSample sample) {
  PgbouncerStatus status;
  status.health.up = true;
  status.health.polled = true;
  status.sample = std::move(sample);
  return status;
}

PgbouncerConfig Edge(std::string target = "") {
  PgbouncerConfig config;
  config.console.name = "edge";
  config.target = std::move(target);
  return config;
}

std::map<std::string, double> Flat(const Families& families) {
  std::map<std::string, double> out;
  for (const auto& family : families) {
    for (const auto& metric : family.metric) {
      std::string key = family.name + "{";
      for (const auto& label : metric.label) key += label.name + "=" + label.value + ",";
      key += "}";
      out[key] = family.type == prometheus::MetricType::Counter ? metric.counter.value
                                                                : metric.gauge.value;
    }
  }
  return out;
}

TEST(PgbouncerMappingTest, SaturationNeedsWaitingClientsAndAFullPool) {
  EXPECT_TRUE(PoolSaturated(Pool("a", "u", 5, 1, 5, 0, 0), 5));
  EXPECT_FALSE(PoolSaturated(Pool("a", "u", 5, 0, 5, 0, 0), 5));  // nobody waits
  EXPECT_FALSE(PoolSaturated(Pool("a", "u", 3, 1, 3, 0, 0), 5));  // a server is still free
  EXPECT_FALSE(PoolSaturated(Pool("a", "u", 4, 1, 4, 1, 0), 5));  // idle is not in use
}

TEST(PgbouncerMappingTest, PoolFamiliesAreLabelledAndZeroFilled) {
  const auto m = Flat(MapPgbouncer(Edge(), Up(Sample())));
  EXPECT_EQ(m.at("pgconn_pgbouncer_up{pgbouncer=edge,}"), 1);
  EXPECT_EQ(m.at("pgconn_pgbouncer_clients{pgbouncer=edge,database=app,user=web,state=waiting,}"),
            30);
  EXPECT_EQ(m.at("pgconn_pgbouncer_clients{pgbouncer=edge,database=app,user=batch,state="
                 "waiting_cancel_req,}"),
            0);
  EXPECT_EQ(m.at("pgconn_pgbouncer_servers{pgbouncer=edge,database=app,user=batch,state=idle,}"),
            2);
  EXPECT_DOUBLE_EQ(m.at("pgconn_pgbouncer_max_wait_seconds{pgbouncer=edge,database=app,user=web,}"),
                   0.004);
  EXPECT_EQ(m.at("pgconn_pgbouncer_pool_saturated{pgbouncer=edge,database=app,user=web,}"), 1);
  EXPECT_EQ(m.at("pgconn_pgbouncer_pool_saturated{pgbouncer=edge,database=app,user=batch,}"), 0);
  EXPECT_EQ(m.at("pgconn_pgbouncer_pool_info{pgbouncer=edge,database=app,user=web,pool_mode="
                 "transaction,}"),
            1);
  EXPECT_EQ(m.at("pgconn_pgbouncer_pool_size{pgbouncer=edge,database=reports,}"), 10);
  EXPECT_EQ(m.at("pgconn_pgbouncer_reserve_pool_size{pgbouncer=edge,database=app,}"), 2);
  EXPECT_EQ(m.at("pgconn_pgbouncer_client_connections{pgbouncer=edge,}"), 37);
  EXPECT_EQ(m.at("pgconn_pgbouncer_max_client_connections{pgbouncer=edge,}"), 100);
  EXPECT_DOUBLE_EQ(m.at("pgconn_pgbouncer_client_connections_ratio{pgbouncer=edge,}"), 0.37);
  EXPECT_DOUBLE_EQ(m.at("pgconn_pgbouncer_wait_seconds_total{pgbouncer=edge,database=app,}"), 2.5);
  EXPECT_EQ(m.at("pgconn_pgbouncer_transactions_total{pgbouncer=edge,database=app,}"), 10);
  EXPECT_EQ(m.count("pgconn_pgbouncer_server_connection_budget{pgbouncer=edge,target=main,}"), 0u)
      << "no budget without `target`";
}

TEST(PgbouncerMappingTest, PoolSizeFallsBackToTheGlobalDefault) {
  PgbouncerSample s = Sample();
  s.pools->push_back(Pool("wild", "u", 1, 0, 1, 0, 0));  // auto-created, not in SHOW DATABASES
  EXPECT_EQ(PoolLimitsFor(s, "wild").pool_size, 20);
  EXPECT_EQ(PoolLimitsFor(s, "app").pool_size, 5);
}

TEST(PgbouncerMappingTest, BudgetCountsEveryUserPoolAndItsCaps) {
  PgbouncerSample s = Sample();
  // app: 2 user pools x (5 + 2) = 14; reports: no pool yet, counts one: 10; admin db: none.
  EXPECT_EQ(ServerConnectionBudget(s), 24);
  (*s.databases)[1].max_connections = 9;  // max_db_connections on app
  EXPECT_EQ(ServerConnectionBudget(s), 19);
  (*s.config)["max_user_connections"] = "3";  // web 3, batch 3, reports' pool 3
  EXPECT_EQ(ServerConnectionBudget(s), 9);
  s.databases.reset();
  EXPECT_EQ(ServerConnectionBudget(s), std::nullopt);
}

TEST(PgbouncerMappingTest, DownExportsHealthOnlyAndPassesPromtoolShape) {
  PgbouncerStatus down;
  down.health.polled = true;
  down.health.RecordFailure(FailureReason::kAuth, "FATAL:  not allowed");
  const auto families = MapPgbouncer(Edge("main"), down);
  const auto m = Flat(families);
  EXPECT_EQ(m.at("pgconn_pgbouncer_up{pgbouncer=edge,}"), 0);
  EXPECT_EQ(m.at("pgconn_pgbouncer_poll_errors_total{pgbouncer=edge,reason=auth,}"), 1);
  EXPECT_EQ(m.at("pgconn_pgbouncer_poll_errors_total{pgbouncer=edge,reason=timeout,}"), 0);
  EXPECT_EQ(m.count("pgconn_pgbouncer_clients"), 0u);
  const std::string text = RenderText(MapPgbouncer(Edge("main"), Up(Sample())));
  EXPECT_NE(text.find("# TYPE pgconn_pgbouncer_wait_seconds_total counter"), std::string::npos);
  EXPECT_NE(
      text.find("pgconn_pgbouncer_server_connection_budget{pgbouncer=\"edge\",target=\"main\"} 24"),
      std::string::npos)
      << text;
}

TEST(PgbouncerMappingTest, SummaryHasEachPoolsQueueServersAndClientLimit) {
  const PgbouncerSummary summary = SummarizePgbouncer(Edge(), Up(Sample()));
  EXPECT_TRUE(summary.up);
  EXPECT_EQ(summary.client_connections, 37);
  EXPECT_EQ(summary.max_client_connections, 100);
  ASSERT_EQ(summary.pools.size(), 2u) << "the admin database is no pool";
  const PgbouncerPoolSummary& web = summary.pools[0];
  EXPECT_EQ(web.user, "web");
  EXPECT_EQ(web.clients_waiting, 30);
  EXPECT_DOUBLE_EQ(web.max_wait_seconds, 0.004);
  EXPECT_EQ(web.servers_in_use, 5);
  EXPECT_EQ(web.pool_size, 5);
  EXPECT_TRUE(web.saturated);
  EXPECT_EQ(summary.pools[1].servers_idle, 2);
  EXPECT_FALSE(summary.pools[1].saturated);
}

TEST(PgbouncerMappingTest, SummaryOfADownPgbouncerHasItsReasonAndNoFigures) {
  PgbouncerStatus down;
  down.health.polled = true;
  down.health.RecordFailure(FailureReason::kAuth, "FATAL:  not allowed");
  const PgbouncerSummary summary = SummarizePgbouncer(Edge(), down);
  EXPECT_FALSE(summary.up);
  EXPECT_EQ(summary.failure_reason, "auth");
  EXPECT_EQ(summary.last_error, "FATAL:  not allowed");
  EXPECT_TRUE(summary.pools.empty());
  EXPECT_EQ(summary.client_connections, std::nullopt);
}

TEST(PgbouncerPlanTest, BudgetPlusPlanAboveUsableExceeds) {
  CapacityPlan plan;
  plan.target = "main";
  plan.arithmetic.planned = 10;
  plan.server = ServerNow{};
  plan.server->usable = 30;
  const auto budget = PlanPgbouncerBudget(Edge("main"), Up(Sample()), {plan});
  ASSERT_TRUE(budget);
  EXPECT_EQ(budget->needed(), 34);
  EXPECT_TRUE(budget->exceeds());
  EXPECT_EQ(PgbouncerBudgetExitCode({*budget}), 1);
  EXPECT_NE(RenderPgbouncerBudgetsText({*budget}).find("EXCEEDS THE SERVER (short by 4)"),
            std::string::npos);
  plan.server->usable = 40;
  const auto fits = PlanPgbouncerBudget(Edge("main"), Up(Sample()), {plan});
  EXPECT_FALSE(fits->exceeds());
  EXPECT_EQ(PgbouncerBudgetExitCode({*fits}), 0);
  EXPECT_FALSE(PlanPgbouncerBudget(Edge(), Up(Sample()), {plan}));
}

TEST(PgbouncerPlanTest, JsonPlanCarriesBudgetsAndCountsThemInFits) {
  CapacityPlan plan;
  plan.target = "main";
  plan.arithmetic.planned = 10;
  plan.server = ServerNow{};
  plan.server->usable = 30;
  const auto budget = PlanPgbouncerBudget(Edge("main"), Up(Sample()), {plan});
  ASSERT_TRUE(budget);
  const auto json = nlohmann::json::parse(RenderPlanJson({plan}, {*budget}));
  ASSERT_EQ(json["pgbouncers"].size(), 1u);
  EXPECT_EQ(json["pgbouncers"][0]["target"], "main");
  EXPECT_EQ(json["pgbouncers"][0]["needed"], 34);
  EXPECT_EQ(json["pgbouncers"][0]["exceeds"], true);
  EXPECT_EQ(json["fits"], false);
  EXPECT_EQ(CombinedPlanExitCode({plan}, {*budget}), 1);
  EXPECT_FALSE(nlohmann::json::parse(RenderPlanJson({plan}, {})).contains("pgbouncers"));
}

}  // namespace
}  // namespace pgconn
