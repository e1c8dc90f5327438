// Issue 15: a poll reads settings only when pg_conf_load_time() or pg_postmaster_start_time()
// changed, in one round trip with every other collector. These tests show the caching is
// invisible (each change shows up in the first poll that starts after it) and that it is not
// a no-op (pg_stat_statements sees the settings statement return no rows while unchanged).
// Runs against whichever server binaries the harness uses (PGCONN_PG_BINDIR, 12 to 18).
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>

#include "support/scenario.h"

namespace pgconn::testing {
namespace {

constexpr const char* kRds = "rds.rds_superuser_reserved_connections";
constexpr const char* kPollInterval = "300ms";
constexpr const char* kLastSuccess = "pgconn_last_poll_success_timestamp_seconds";

double UnixNow() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// Waits until two polls have ended after `changed` (the one running then, and one that started
// after it) and returns the metrics of that scrape. A poll's success time is its end.
Metrics AfterNextPoll(const ExporterProcess& exporter, double changed) {
  int seen = 0;
  double last = 0;
  Metrics m;
  const bool ok = exporter.ScrapeUntil(
      [&](const Metrics& s) {
        const double at = Value(s, kLastSuccess, Main()).value_or(0);
        if (at > changed && at != last) ++seen;
        last = at;
        return seen >= 2;
      },
      20s, &m, 20ms);
  EXPECT_TRUE(ok) << "fewer than two successful polls after the change\n"
                  << Dump(m) << Tail(exporter.Log());
  return m;
}

// The server applies the change (reload signal, commit) before this returns.
double ChangedAt() { return UnixNow(); }

Metrics StartedExporter(const ExporterProcess& exporter) {
  Metrics m;
  EXPECT_TRUE(exporter.ScrapeUntil([](const Metrics& s) { return IsUp(s); }, 15s, &m))
      << Dump(m) << Tail(exporter.Log());
  return m;
}

Labels Provider(const std::string& setting) {
  return Main({{"kind", "provider"}, {"setting", setting}});
}

TEST(CachingTest, ReloadedReserveSettingShowsUpWithinOnePoll) {
  TestPostgres pg(PostgresOptions{20, 3, {std::string(kRds) + " = 2"}});
  ExporterProcess exporter(MainConfig(pg, kPollInterval));
  Metrics m = StartedExporter(exporter);
  ASSERT_EQ(Value(m, "pgconn_reserved_connections", Provider(kRds)), 2.0) << Dump(m);
  ASSERT_EQ(Value(m, "pgconn_usable_connections", Main()), 15.0) << Dump(m);

  pg.SuperuserSql(std::string("ALTER SYSTEM SET ") + kRds + " = 5");
  pg.SuperuserSql("SELECT pg_reload_conf()");
  // pg_reload_conf() only signals the postmaster, which then signals every backend.
  std::this_thread::sleep_for(200ms);
  m = AfterNextPoll(exporter, ChangedAt());
  EXPECT_EQ(Value(m, "pgconn_reserved_connections", Provider(kRds)), 5.0) << Dump(m);
  EXPECT_EQ(Value(m, "pgconn_usable_connections", Main()), 12.0) << Dump(m);
}

TEST(CachingTest, DatabaseAndRoleChangesShowUpWithinOnePoll) {
  TestPostgres pg;
  ExporterProcess exporter(MainConfig(pg, kPollInterval));
  StartedExporter(exporter);
  const Labels fresh = Main({{"database", "fresh"}});

  pg.SuperuserSql("CREATE DATABASE fresh CONNECTION LIMIT 7");
  Metrics m = AfterNextPoll(exporter, ChangedAt());
  EXPECT_EQ(Value(m, "pgconn_database_connection_limit", fresh), 7.0) << Dump(m);

  pg.SuperuserSql("ALTER DATABASE fresh CONNECTION LIMIT 9");
  m = AfterNextPoll(exporter, ChangedAt());
  EXPECT_EQ(Value(m, "pgconn_database_connection_limit", fresh), 9.0) << Dump(m);

  pg.SuperuserSql(std::string("ALTER ROLE ") + kAppRoleA + " CONNECTION LIMIT 4");
  m = AfterNextPoll(exporter, ChangedAt());
  EXPECT_EQ(Value(m, "pgconn_role_connection_limit", Main({{"role", kAppRoleA}})), 4.0) << Dump(m);

  pg.SuperuserSql("DROP DATABASE fresh");
  m = AfterNextPoll(exporter, ChangedAt());
  EXPECT_FALSE(Value(m, "pgconn_database_connection_limit", fresh)) << Dump(m);
  EXPECT_EQ(Value(m, "pgconn_database_connection_limit", Main({{"database", kAppDatabase}})),
            static_cast<double>(kAppDatabaseConnectionLimit));
}

TEST(CachingTest, RestartWithNewMaxConnectionsShowsUpWithinOnePoll) {
  TestPostgres pg;
  ExporterProcess exporter(MainConfig(pg, kPollInterval));
  Metrics m = StartedExporter(exporter);
  ASSERT_EQ(Value(m, "pgconn_max_connections", Main()), 40.0) << Dump(m);

  pg.SuperuserSql("ALTER SYSTEM SET max_connections = 47");
  pg.Restart();
  m = AfterNextPoll(exporter, ChangedAt());
  EXPECT_EQ(Value(m, "pgconn_max_connections", Main()), 47.0) << Dump(m);
  EXPECT_EQ(Value(m, "pgconn_usable_connections", Main()), 44.0) << Dump(m);
}

// rows and calls of the exporter's statements that read `relation`, from pg_stat_statements.
struct Reads {
  double calls = 0;
  double rows = 0;
};
Reads ReadsOf(const TestPostgres& pg, const std::string& relation) {
  const Rows rows = pg.SuperuserSql(
      "SELECT coalesce(sum(s.calls), 0), coalesce(sum(s.rows), 0) FROM pg_stat_statements s "
      "JOIN pg_roles r ON r.oid = s.userid WHERE r.rolname = '" +
      std::string(kExporterRole) + "' AND s.query LIKE '%FROM " + relation + "%'");
  return Reads{std::stod(rows.at(0).at(0).value_or("0")),
               std::stod(rows.at(0).at(1).value_or("0"))};
}

TEST(CachingTest, UnchangedSettingsAreNotReadAgain) {
  TestPostgres pg(PostgresOptions{
      40,
      3,
      {"shared_preload_libraries = 'pg_stat_statements'", "pg_stat_statements.track = 'all'"}});
  pg.SuperuserSql("CREATE EXTENSION pg_stat_statements");
  ExporterProcess exporter(MainConfig(pg, kPollInterval));
  Metrics m = StartedExporter(exporter);
  m = AfterNextPoll(exporter, UnixNow());
  const Reads first = ReadsOf(pg, "pg_settings");
  ASSERT_GT(first.rows, 0) << "the first poll of a session reads the settings";

  for (int i = 0; i < 3; ++i) m = AfterNextPoll(exporter, UnixNow());
  const Reads unchanged = ReadsOf(pg, "pg_settings");
  EXPECT_GE(unchanged.calls, first.calls + 5) << "the settings statement is sent every poll";
  EXPECT_EQ(unchanged.rows, first.rows) << "unchanged settings were read again";
  EXPECT_EQ(Value(m, "pgconn_collector_success", Main({{"collector", "settings"}})), 1.0);
  EXPECT_EQ(Value(m, "pgconn_max_connections", Main()), 40.0) << Dump(m);
  // pg_stat_activity is read by one statement per poll (activity and churn together).
  const Reads activity = ReadsOf(pg, "pg_stat_activity");
  EXPECT_NEAR(activity.calls, unchanged.calls, 1) << "one pg_stat_activity read per poll";

  pg.SuperuserSql("SELECT pg_reload_conf()");
  std::this_thread::sleep_for(200ms);
  AfterNextPoll(exporter, ChangedAt());
  const Reads reloaded = ReadsOf(pg, "pg_settings");
  EXPECT_GT(reloaded.rows, unchanged.rows) << "a reload makes the next poll read the settings";
  EXPECT_LE(reloaded.rows, unchanged.rows + first.rows) << "read once per reload, not per poll";
}

// A statement that fails inside the batch ends the server's run of it; the collectors after it
// then run one by one, so only the failing collector reports a failure.
TEST(CachingTest, ACollectorFailingInsideTheBatchFailsAlone) {
  TestPostgres pg;
  ExporterProcess exporter(MainConfig(pg, kPollInterval));
  StartedExporter(exporter);
  pg.SuperuserSql("REVOKE SELECT ON pg_database FROM PUBLIC");
  Metrics m = AfterNextPoll(exporter, ChangedAt());
  EXPECT_TRUE(IsUp(m)) << Dump(m);
  EXPECT_EQ(Value(m, "pgconn_collector_success", Main({{"collector", "databases"}})), 0.0)
      << Dump(m);
  for (const char* collector : {"settings", "activity", "churn", "roles", "login_role",
                                "visibility", "reserved_settings"}) {
    EXPECT_EQ(Value(m, "pgconn_collector_success", Main({{"collector", collector}})), 1.0)
        << collector << "\n"
        << Dump(m);
  }

  pg.SuperuserSql("GRANT SELECT ON pg_database TO PUBLIC");
  m = AfterNextPoll(exporter, ChangedAt());
  EXPECT_EQ(Value(m, "pgconn_collector_success", Main({{"collector", "databases"}})), 1.0)
      << Dump(m);
}

}  // namespace
}  // namespace pgconn::testing
