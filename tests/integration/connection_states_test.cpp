// Known numbers of client sessions in each state, from two roles, several applications and two
// databases: every count the exporter serves over HTTP must be exact.
#include <gtest/gtest.h>

#include "support/scenario.h"

namespace pgconn::testing {
namespace {

const ClientSpec kWeb1{kAppRoleA, kAppPassword, kAppDatabase, "web-1"};
const ClientSpec kWeb2{kAppRoleA, kAppPassword, kAppDatabase, "web-2"};
const ClientSpec kWorker1{kAppRoleB, kAppPassword, "postgres", "worker-1"};
const ClientSpec kWorker2{kAppRoleB, kAppPassword, kAppDatabase, "worker-2"};
const ClientSpec kLocker{kAppRoleA, kAppPassword, kAppDatabase, "locker"};
const ClientSpec kWaiter{kAppRoleB, kAppPassword, kAppDatabase, "waiter"};

// 3 idle + 2 active + 2 idle in transaction + 1 aborted + lock holder (idle in transaction)
// + lock waiter (active) = 10 sessions.
constexpr int kOpened = 10;

void OpenScenario(ClientPool& clients) {
  clients.OpenMany(kWeb1, SessionState::kIdle, 3);
  clients.OpenMany(kWeb2, SessionState::kActive, 2);
  clients.OpenMany(kWorker1, SessionState::kIdleInTransaction, 2);
  clients.Open(kWorker2, SessionState::kIdleInTransactionAborted);
  clients.OpenLockWait(kLocker, kWaiter);
}

Labels Group(const std::string& database, const std::string& user, const std::string& app,
             const std::string& state) {
  return Main({{"database", database}, {"user", user}, {"application", app}, {"state", state}});
}

Metrics StateSeries(double active, double idle, double iit, double aborted) {
  Metrics m;
  const std::string name = "pgconn_client_connections_by_state";
  m[SeriesKey(name, Main({{"state", "active"}}))] = active;
  m[SeriesKey(name, Main({{"state", "idle"}}))] = idle;
  m[SeriesKey(name, Main({{"state", "idle in transaction"}}))] = iit;
  m[SeriesKey(name, Main({{"state", "idle in transaction (aborted)"}}))] = aborted;
  m[SeriesKey(name, Main({{"state", "fastpath function call"}}))] = 0;
  m[SeriesKey(name, Main({{"state", "disabled"}}))] = 0;
  return m;
}

// The exporter's own session counts against capacity, in its database and for its role.
Metrics CapacityAndOwners(int opened, double appdb, double postgres_db, double app_a,
                          double app_b) {
  const double usable = 40 - 3;
  const double clients = opened + 1;
  Metrics m;
  m[SeriesKey("pgconn_up", Main())] = 1;
  m[SeriesKey("pgconn_max_connections", Main())] = 40;
  m[SeriesKey("pgconn_reserved_connections", Main({{"kind", "superuser"}}))] = 3;
  m[SeriesKey("pgconn_usable_connections", Main())] = usable;
  m[SeriesKey("pgconn_client_connections", Main())] = clients;
  m[SeriesKey("pgconn_available_connections", Main())] = usable - clients;
  m[SeriesKey("pgconn_utilization_ratio", Main())] = clients / usable;
  m[SeriesKey("pgconn_database_connections", Main({{"database", kAppDatabase}}))] = appdb;
  m[SeriesKey("pgconn_database_connections", Main({{"database", "postgres"}}))] = postgres_db;
  m[SeriesKey("pgconn_database_connections", Main({{"database", "template1"}}))] = 0;
  m[SeriesKey("pgconn_database_connection_limit", Main({{"database", kAppDatabase}}))] =
      kAppDatabaseConnectionLimit;
  m[SeriesKey("pgconn_role_connections", Main({{"role", kAppRoleA}}))] = app_a;
  m[SeriesKey("pgconn_role_connections", Main({{"role", kAppRoleB}}))] = app_b;
  m[SeriesKey("pgconn_role_connections", Main({{"role", kExporterRole}}))] = 1;
  m[SeriesKey("pgconn_role_connection_limit", Main({{"role", kExporterRole}}))] =
      kExporterRoleConnectionLimit;
  return m;
}

struct Check {
  Metrics expected;           // each key must have exactly this value
  Metrics exact_connections;  // the whole pgconn_connections family for target main
  bool ages_positive = false;
  double lock_waiting = 0;

  std::string Diff(const Metrics& m) const {
    std::string diff = DiffMetrics(expected, m, false);
    diff += DiffMetrics(exact_connections, SelectMap(m, "pgconn_connections", Main()), true);
    diff += DiffMetrics({{SeriesKey("pgconn_lock_waiting_connections", Main()), lock_waiting}}, m,
                        false);
    if (ages_positive) {
      for (const char* age :
           {"pgconn_oldest_transaction_seconds", "pgconn_oldest_idle_in_transaction_seconds",
            "pgconn_longest_query_seconds"}) {
        if (!(Value(m, age, Main()).value_or(0) > 0)) diff += std::string("  ") + age + " <= 0\n";
      }
    }
    return diff;
  }
};

TEST(ConnectionStatesTest, ExactCountsByStateGroupDatabaseAndRole) {
  TestPostgres pg;
  ExporterProcess exporter(MainConfig(pg));
  Metrics m;

  Check idle_check;
  idle_check.expected = CapacityAndOwners(0, 0, 1, 0, 0);
  for (const auto& [k, v] : StateSeries(0, 0, 0, 0)) idle_check.expected[k] = v;
  ASSERT_TRUE(
      exporter.ScrapeUntil([&](const Metrics& s) { return idle_check.Diff(s).empty(); }, 10s, &m))
      << "before opening sessions:\n"
      << idle_check.Diff(m) << Dump(m);

  ClientPool clients(pg.port());
  OpenScenario(clients);
  ASSERT_EQ(clients.size(), static_cast<std::size_t>(kOpened));

  Check busy;
  busy.expected = CapacityAndOwners(kOpened, /*appdb=*/8, /*postgres=*/2 + 1, /*app_a=*/6,
                                    /*app_b=*/4);
  for (const auto& [k, v] : StateSeries(/*active=*/3, /*idle=*/3, /*iit=*/3, /*aborted=*/1)) {
    busy.expected[k] = v;
  }
  busy.exact_connections = {
      {SeriesKey("pgconn_connections", Group(kAppDatabase, kAppRoleA, "web-1", "idle")), 3},
      {SeriesKey("pgconn_connections", Group(kAppDatabase, kAppRoleA, "web-2", "active")), 2},
      {SeriesKey("pgconn_connections",
                 Group("postgres", kAppRoleB, "worker-1", "idle in transaction")),
       2},
      {SeriesKey("pgconn_connections",
                 Group(kAppDatabase, kAppRoleB, "worker-2", "idle in transaction (aborted)")),
       1},
      {SeriesKey("pgconn_connections",
                 Group(kAppDatabase, kAppRoleA, "locker", "idle in transaction")),
       1},
      {SeriesKey("pgconn_connections", Group(kAppDatabase, kAppRoleB, "waiter", "active")), 1},
  };
  busy.lock_waiting = 1;
  busy.ages_positive = true;
  ASSERT_TRUE(exporter.ScrapeUntil([&](const Metrics& s) { return busy.Diff(s).empty(); }, 10s, &m))
      << "with " << kOpened << " sessions open:\n"
      << busy.Diff(m) << Dump(m);

  // No state outside the known ones (the test sessions never have a NULL state).
  EXPECT_EQ(SelectMap(m, "pgconn_client_connections_by_state", Main()).size(), 6u) << Dump(m);
  // Non-client backends are reported apart.
  EXPECT_EQ(Value(m, "pgconn_backends", Main({{"backend_type", "checkpointer"}})), 1.0);
  EXPECT_EQ(Value(m, "pgconn_backends", Main({{"backend_type", "autovacuum launcher"}})), 1.0);
  EXPECT_FALSE(Value(m, "pgconn_backends", Main({{"backend_type", "client backend"}})));
  // reserved_connections exists from PostgreSQL 16 (default 0); limits only where one is set.
  if (TestPostgres::ServerMajor() >= 16) {
    EXPECT_EQ(Value(m, "pgconn_reserved_connections", Main({{"kind", "reserved"}})), 0.0);
  } else {
    EXPECT_FALSE(Value(m, "pgconn_reserved_connections", Main({{"kind", "reserved"}})));
  }
  EXPECT_FALSE(Value(m, "pgconn_database_connection_limit", Main({{"database", "postgres"}})));
  EXPECT_FALSE(Value(m, "pgconn_role_connection_limit", Main({{"role", kAppRoleA}})));
  // Ages are plausible: the sessions are seconds old, not hours.
  EXPECT_LT(Value(m, "pgconn_oldest_transaction_seconds", Main()).value_or(1e9), 120);
  EXPECT_LT(Value(m, "pgconn_longest_query_seconds", Main()).value_or(1e9), 120);

  clients.CloseAll();
  ASSERT_TRUE(
      exporter.ScrapeUntil([&](const Metrics& s) { return idle_check.Diff(s).empty(); }, 10s, &m))
      << "after closing every session:\n"
      << idle_check.Diff(m) << Dump(m);
  EXPECT_EQ(Value(m, "pgconn_longest_query_seconds", Main()), 0.0);
  EXPECT_EQ(Value(m, "pgconn_oldest_idle_in_transaction_seconds", Main()), 0.0);
}

TEST(ConnectionStatesTest, ConfiguredLabelsAndSeriesCapFoldRareGroups) {
  TestPostgres pg;
  ExporterProcess exporter(
      MainConfig(pg, "500ms", "connection_labels = [\"application\", \"state\"]\n") +
      TargetToml("capped", pg.Dsn(), "max_connection_series = 1\n"));
  ClientPool clients(pg.port());
  OpenScenario(clients);

  const Metrics two_labels = {
      {SeriesKey("pgconn_connections", Main({{"application", "web-1"}, {"state", "idle"}})), 3},
      {SeriesKey("pgconn_connections", Main({{"application", "web-2"}, {"state", "active"}})), 2},
      {SeriesKey("pgconn_connections",
                 Main({{"application", "worker-1"}, {"state", "idle in transaction"}})),
       2},
      {SeriesKey("pgconn_connections",
                 Main({{"application", "worker-2"}, {"state", "idle in transaction (aborted)"}})),
       1},
      {SeriesKey("pgconn_connections",
                 Main({{"application", "locker"}, {"state", "idle in transaction"}})),
       1},
      {SeriesKey("pgconn_connections", Main({{"application", "waiter"}, {"state", "active"}})), 1},
  };
  // The second target ("capped") is another exporter session (application pgconn_exporter,
  // idle or active while it polls) that main sees like any client: leave it out of main's
  // comparison.
  auto diff = [&](const Metrics& s) {
    Metrics main_series;
    for (const auto& sample : Select(s, "pgconn_connections", Main())) {
      if (sample.labels.at("application") == "pgconn_exporter") continue;
      main_series[SeriesKey(sample.name, sample.labels)] = sample.value;
    }
    return DiffMetrics(two_labels, main_series, true);
  };
  // With a cap of 1 series, only the largest group (web-1 idle, 3) keeps its labels; the
  // other 7 sessions (and main's exporter session) fold into application="__other__".
  auto capped_ok = [&](const Metrics& s) {
    const Labels web1 = TargetLabels("capped", {{"database", kAppDatabase},
                                                {"user", kAppRoleA},
                                                {"application", "web-1"},
                                                {"state", "idle"}});
    if (Value(s, "pgconn_connections", web1) != 3.0) return false;
    double other = 0;
    for (const auto& sample : Select(s, "pgconn_connections", TargetLabels("capped"))) {
      if (sample.labels == web1) continue;
      if (sample.labels.at("application") != "__other__") return false;
      other += sample.value;
    }
    return other == kOpened - 3 + 1;
  };
  Metrics m;
  ASSERT_TRUE(exporter.ScrapeUntil(
      [&](const Metrics& s) { return diff(s).empty() && capped_ok(s); }, 10s, &m))
      << diff(m) << Dump(m);
  for (const auto& sample : Select(m, "pgconn_connections", Main())) {
    EXPECT_EQ(sample.labels.size(), 3u) << "only target, application, state expected";
  }
}

TEST(ConnectionStatesTest, WithoutPgMonitorOtherRolesSessionsCountAsUnknownState) {
  TestPostgres pg;
  // Monitor as app_a, which is not a member of pg_monitor: PostgreSQL hides the state of
  // other roles' sessions (NULL), and the exporter must say so instead of miscounting.
  ExporterProcess exporter(
      ExporterToml("500ms") + TargetToml("main", pg.Dsn(kAppRoleA)),
      ExporterOptions{{{kPasswordEnv, kAppPassword}}, {}, std::chrono::milliseconds(10000)});
  ClientPool clients(pg.port());
  clients.OpenMany({kAppRoleB, kAppPassword, "postgres", "other-role"}, SessionState::kIdle, 2);
  clients.Open({kAppRoleA, kAppPassword, "postgres", "own-role"}, SessionState::kIdle);

  Metrics expected = StateSeries(0, /*idle=*/1, 0, 0);
  expected[SeriesKey("pgconn_client_connections_by_state", Main({{"state", "unknown"}}))] = 2;
  expected[SeriesKey("pgconn_client_connections", Main())] = 4;
  Metrics m;
  ASSERT_TRUE(exporter.ScrapeUntil(
      [&](const Metrics& s) { return IsUp(s) && DiffMetrics(expected, s, false).empty(); }, 10s,
      &m))
      << DiffMetrics(expected, m, false) << Dump(m);
}

}  // namespace
}  // namespace pgconn::testing
