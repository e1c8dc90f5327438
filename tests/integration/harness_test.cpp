// Checks the test harness itself against PostgreSQL's own view, so an exporter test failure
// can be trusted to be the exporter's.
#include <gtest/gtest.h>

#include <string>

#include "support/client_pool.h"
#include "support/http_client.h"
#include "support/test_postgres.h"

namespace pgconn::testing {
namespace {

int CountSessions(const TestPostgres& pg, const std::string& application,
                  const std::string& state) {
  return std::stoi(pg.SuperuserScalar(
      "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend' AND "
      "application_name = '" +
      application + "' AND state = '" + state + "'"));
}

TEST(HarnessTest, ClientStatesAreWhatPostgresReports) {
  TestPostgres pg;
  ClientPool clients(pg.port());
  clients.OpenMany({kAppRoleA, kAppPassword, "postgres", "h-idle"}, SessionState::kIdle, 2);
  clients.Open({kAppRoleA, kAppPassword, kAppDatabase, "h-active"}, SessionState::kActive);
  clients.Open({kAppRoleB, kAppPassword, "postgres", "h-iit"}, SessionState::kIdleInTransaction);
  clients.Open({kAppRoleB, kAppPassword, "postgres", "h-aborted"},
               SessionState::kIdleInTransactionAborted);
  clients.OpenLockWait({kAppRoleA, kAppPassword, kAppDatabase, "h-holder"},
                       {kAppRoleB, kAppPassword, kAppDatabase, "h-waiter"});

  EXPECT_EQ(CountSessions(pg, "h-idle", "idle"), 2);
  EXPECT_EQ(CountSessions(pg, "h-iit", "idle in transaction"), 1);
  EXPECT_EQ(CountSessions(pg, "h-aborted", "idle in transaction (aborted)"), 1);
  EXPECT_EQ(CountSessions(pg, "h-holder", "idle in transaction"), 1);
  // Sent queries reach the backend asynchronously.
  EXPECT_TRUE(WaitFor([&] { return CountSessions(pg, "h-active", "active") == 1; },
                      std::chrono::milliseconds(5000)));
  EXPECT_TRUE(WaitFor(
      [&] {
        return pg.SuperuserScalar(
                   "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'h-waiter' "
                   "AND state = 'active' AND wait_event_type = 'Lock'") == "1";
      },
      std::chrono::milliseconds(5000)));
  ASSERT_TRUE(pg.BackendPidOf("h-active").has_value());
  EXPECT_GT(*pg.BackendPidOf("h-active"), 0);
  EXPECT_FALSE(pg.BackendPidOf("no-such-application").has_value());

  clients.CloseAll();
  EXPECT_TRUE(WaitFor(
      [&] {
        return pg.SuperuserScalar(
                   "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend' "
                   "AND application_name LIKE 'h-%'") == "0";
      },
      std::chrono::milliseconds(5000)));
}

TEST(HarnessTest, TemplateHasRolesDatabaseAndLimits) {
  TestPostgres pg;
  EXPECT_EQ(pg.SuperuserScalar("SHOW max_connections"), "40");
  EXPECT_EQ(pg.SuperuserScalar("SHOW superuser_reserved_connections"), "3");
  EXPECT_EQ(pg.SuperuserScalar("SELECT rolconnlimit FROM pg_roles WHERE rolname = "
                               "'pgconn_exporter'"),
            "5");
  EXPECT_EQ(pg.SuperuserScalar("SELECT pg_has_role('pgconn_exporter', 'pg_monitor', 'MEMBER')"),
            "t");
  EXPECT_EQ(pg.SuperuserScalar("SELECT datconnlimit FROM pg_database WHERE datname = 'appdb'"),
            "50");
  EXPECT_EQ(pg.SuperuserScalar("SELECT count(*) FROM pg_roles WHERE rolcanlogin"), "4");
  // Password authentication over TCP works for the exporter role and fails with a wrong one.
  ClientPool clients(pg.port());
  EXPECT_EQ(clients.TryOpen({kExporterRole, kExporterPassword, "postgres", "h"}), "");
  EXPECT_NE(clients.TryOpen({kExporterRole, "wrong", "postgres", "h"}).find("password"),
            std::string::npos);
}

TEST(HarnessTest, FillToLimitStopsAtTheOrdinaryRoleLimit) {
  TestPostgres pg({12, 3, {}});
  ClientPool clients(pg.port());
  EXPECT_EQ(clients.FillToLimit({kAppRoleA, kAppPassword, "postgres", "filler"}), 9);
  // The superuser still gets one of the reserved slots.
  EXPECT_EQ(pg.SuperuserScalar("SELECT 1"), "1");
  const std::string refused = clients.TryOpen({kAppRoleB, kAppPassword, "postgres", "late"});
  EXPECT_TRUE(ClientPool::IsOutOfSlots(refused)) << refused;
}

TEST(HarnessTest, RestartKeepsPortAndStopsCleanly) {
  TestPostgres pg;
  const int port = pg.port();
  const pid_t first = pg.PostmasterPid();
  EXPECT_GT(first, 0);
  pg.Restart();
  EXPECT_EQ(pg.port(), port);
  EXPECT_GT(pg.PostmasterPid(), 0);
  EXPECT_NE(pg.PostmasterPid(), first);
  EXPECT_EQ(pg.SuperuserScalar("SELECT 1"), "1");
  pg.Stop();
  EXPECT_EQ(pg.PostmasterPid(), -1);
}

TEST(HarnessTest, ExpositionParser) {
  const std::string text =
      "# HELP a_total A counter.\n# TYPE a_total counter\n"
      "a_total{z=\"1\",b=\"x \\\"q\\\" \\\\ \\n\"} 3\n"
      "b 1.5e+00\nc{l=\"v\"} NaN\nd +Inf\n";
  Metrics m = ParseMetrics(text);
  EXPECT_EQ(Value(m, "a_total", {{"b", "x \"q\" \\ \n"}, {"z", "1"}}), 3.0);
  EXPECT_EQ(Value(m, "b"), 1.5);
  EXPECT_FALSE(Value(m, "c").has_value());
  EXPECT_EQ(Select(m, "a_total", {{"z", "1"}}).size(), 1u);
  EXPECT_TRUE(Select(m, "a", {}).empty());
  EXPECT_EQ(MetricTypes(text).at("a_total"), "counter");
  EXPECT_THROW(ParseMetrics("x{a=\"1\" 2\n"), std::runtime_error);
  EXPECT_THROW(ParseMetrics("x 1\nx 2\n"), std::runtime_error);
}

TEST(HarnessTest, PromtoolRejectsBrokenExposition) {
  EXPECT_TRUE(PromtoolCheckMetrics("# HELP x_total X.\n# TYPE x_total counter\nx_total 1\n").ok);
  PromtoolResult bad = PromtoolCheckMetrics("# TYPE x counter\nx{ 1\n");
  EXPECT_FALSE(bad.ok) << bad.output;
}

}  // namespace
}  // namespace pgconn::testing
