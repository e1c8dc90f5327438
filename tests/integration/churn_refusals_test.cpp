// Issue 14 against a real PostgreSQL 15 writing its own log (logging_collector): connection
// churn from pg_stat_database and pg_stat_activity, and refusals counted from the server log.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "support/scenario.h"

namespace pgconn::testing {
namespace {

// 12 - 3 superuser-reserved = 9 slots for ordinary roles.
PostgresOptions LoggingServer(const std::string& destination = "stderr",
                              std::vector<std::string> extra = {}) {
  PostgresOptions options{12, 3, {}};
  options.extra_settings = {
      "logging_collector = on", "log_directory = 'log'", "log_filename = 'postgresql.log'",
      "log_destination = '" + destination + "'", "log_line_prefix = '%m [%p] %q%u@%d '"};
  for (auto& setting : extra) options.extra_settings.push_back(std::move(setting));
  return options;
}

std::string LogFile(const TestPostgres& pg, const std::string& extension = "log") {
  return pg.DataDir() + "/log/postgresql." + extension;
}

std::string ServerLogKey(const std::string& path) { return "server_log = \"" + path + "\"\n"; }

double Refused(const Metrics& m, const std::string& reason) {
  return Value(m, "pgconn_refused_connections_total", Main({{"reason", reason}})).value_or(-1);
}

// Waits until the log file exists and the exporter follows it.
void WaitFollowing(ExporterProcess& exporter, Metrics* m) {
  ASSERT_TRUE(exporter.ScrapeUntil(
      [](const Metrics& s) { return Value(s, "pgconn_server_log_up", Main()) == 1.0 && IsUp(s); },
      15s, m))
      << Dump(*m) << Tail(exporter.Log());
}

// `count` attempts that must each be refused; returns the first error seen.
std::string RefusedAttempts(ClientPool& clients, const ClientSpec& spec, int count) {
  std::string first;
  for (int i = 0; i < count; ++i) {
    const std::string error = clients.TryOpen(spec);
    EXPECT_FALSE(error.empty()) << "attempt " << i << " was let in";
    if (first.empty()) first = error;
  }
  return first;
}

// Counter reaches `expected` and is still exactly that a few polls later (nothing twice).
void ExpectExactly(ExporterProcess& exporter, const std::string& metric, const Labels& labels,
                   double expected) {
  Metrics m;
  ASSERT_TRUE(exporter.ScrapeUntil(
      [&](const Metrics& s) { return Value(s, metric, labels).value_or(-1) >= expected; }, 15s, &m))
      << metric << " expected " << expected << "\n"
      << Dump(m);
  std::this_thread::sleep_for(1500ms);
  m = exporter.Scrape();
  EXPECT_EQ(Value(m, metric, labels), expected) << Dump(m);
}

const ClientSpec kApp{kAppRoleA, kAppPassword, "postgres", "filler"};
const ClientSpec kSuper{kSuperuser, kSuperuserPassword, "postgres", "super-filler"};

TEST(RefusalsFromServerLogTest, ReservedSlotsThenTooManyClientsCountEachAttemptOnce) {
  TestPostgres pg(LoggingServer());
  ExporterProcess exporter(MainConfig(pg, "500ms", ServerLogKey(LogFile(pg))));
  Metrics m;
  WaitFollowing(exporter, &m);
  EXPECT_EQ(Refused(m, "too_many_clients"), 0);  // zero-filled
  EXPECT_EQ(Refused(m, "reserved_slots"), 0);

  ClientPool clients(pg.port());
  ASSERT_EQ(clients.FillToLimit(kApp), 8);  // one refusal: reserved_slots
  constexpr int kM = 4;
  RefusedAttempts(clients, kApp, kM);
  ExpectExactly(exporter, "pgconn_refused_connections_total", Main({{"reason", "reserved_slots"}}),
                1 + kM);

  ASSERT_EQ(clients.FillToLimit(kSuper), 3);  // one refusal: too_many_clients
  RefusedAttempts(clients, kSuper, kM);
  ExpectExactly(exporter, "pgconn_refused_connections_total",
                Main({{"reason", "too_many_clients"}}), 1 + kM);
  m = exporter.Scrape();
  EXPECT_EQ(Refused(m, "reserved_slots"), 1 + kM);
  EXPECT_EQ(Refused(m, "role_limit"), 0);
}

TEST(RefusalsFromServerLogTest, RoleAndDatabaseLimitsAndAuthFailuresInCsvlog) {
  TestPostgres pg(LoggingServer("csvlog"));
  pg.SuperuserSql("ALTER ROLE app_b CONNECTION LIMIT 1");
  pg.SuperuserSql("ALTER DATABASE appdb CONNECTION LIMIT 1");
  ExporterProcess exporter(MainConfig(pg, "500ms", ServerLogKey(LogFile(pg, "csv"))));
  Metrics m;
  WaitFollowing(exporter, &m);

  ClientPool clients(pg.port());
  const ClientSpec role_b{kAppRoleB, kAppPassword, "postgres", "role-b"};
  clients.Open(role_b, SessionState::kIdle);
  EXPECT_NE(RefusedAttempts(clients, role_b, 2).find("too many connections for role"),
            std::string::npos);
  const ClientSpec in_appdb{kAppRoleA, kAppPassword, kAppDatabase, "appdb-user"};
  clients.Open(in_appdb, SessionState::kIdle);
  EXPECT_NE(RefusedAttempts(clients, in_appdb, 3).find("too many connections for database"),
            std::string::npos);
  RefusedAttempts(clients, {kAppRoleA, "wrong-password", "postgres", "bad-pw"}, 2);

  ExpectExactly(exporter, "pgconn_refused_connections_total", Main({{"reason", "role_limit"}}), 2);
  ExpectExactly(exporter, "pgconn_refused_connections_total", Main({{"reason", "database_limit"}}),
                3);
  ExpectExactly(exporter, "pgconn_authentication_failures_total", Main({{"reason", "password"}}),
                2);
}

TEST(RefusalsFromServerLogTest, JsonlogCountsTooManyClients) {
  if (TestPostgres::ServerMajor() < 15) GTEST_SKIP() << "jsonlog exists from PostgreSQL 15";
  TestPostgres pg(LoggingServer("jsonlog"));
  ExporterProcess exporter(MainConfig(pg, "500ms", ServerLogKey(LogFile(pg, "json"))));
  Metrics m;
  WaitFollowing(exporter, &m);
  ClientPool clients(pg.port());
  ASSERT_EQ(clients.FillToLimit(kApp), 8);
  ASSERT_EQ(clients.FillToLimit(kSuper), 3);
  RefusedAttempts(clients, kSuper, 2);
  ExpectExactly(exporter, "pgconn_refused_connections_total",
                Main({{"reason", "too_many_clients"}}), 3);
}

TEST(RefusalsFromServerLogTest, RotationWhileCountingLosesNoLineAndCountsNoneTwice) {
  TestPostgres pg(LoggingServer());
  const std::string log = LogFile(pg);
  ExporterProcess exporter(MainConfig(pg, "500ms", ServerLogKey(log)));
  Metrics m;
  WaitFollowing(exporter, &m);
  ClientPool clients(pg.port());
  ASSERT_EQ(clients.FillToLimit(kApp), 8);  // 1 reserved_slots refusal
  int expected = 1;
  for (int round = 0; round < 3; ++round) {
    RefusedAttempts(clients, kApp, 3);
    expected += 3;
    // logrotate's way: rename, then tell the collector to open a new file at the old name.
    std::filesystem::rename(log, log + "." + std::to_string(round));
    RefusedAttempts(clients, kApp, 2);  // still written to the renamed file
    expected += 2;
    pg.SuperuserScalar("SELECT pg_rotate_logfile()");
    std::this_thread::sleep_for(300ms);
    RefusedAttempts(clients, kApp, 1);  // into the new file
    expected += 1;
  }
  ExpectExactly(exporter, "pgconn_refused_connections_total", Main({{"reason", "reserved_slots"}}),
                expected);
  m = exporter.Scrape();
  EXPECT_GE(Value(m, "pgconn_server_log_rotations_total", Main()).value_or(0), 3);
}

TEST(RefusalsFromServerLogTest, SurvivesAOneMegabyteLineAndBinaryGarbage) {
  TestPostgres pg(LoggingServer("stderr", {"log_statement = 'all'"}));
  const std::string log = LogFile(pg);
  ExporterProcess exporter(MainConfig(pg, "500ms", ServerLogKey(log)));
  Metrics m;
  WaitFollowing(exporter, &m);
  // A 1 MB statement is logged as one 1 MB line.
  pg.SuperuserScalar("SELECT length('" + std::string(1 << 20, 'x') + "')");
  {
    std::ofstream out(log, std::ios::app | std::ios::binary);
    std::string garbage;
    for (int i = 0; i < 4096; ++i) garbage += static_cast<char>((i * 131 + 7) % 256);
    for (char& ch : garbage) {
      if (ch == '\n') ch = '\0';
    }
    out << garbage << "\n";
  }
  ClientPool clients(pg.port());
  ASSERT_EQ(clients.FillToLimit(kApp), 8);
  RefusedAttempts(clients, kApp, 2);
  ExpectExactly(exporter, "pgconn_refused_connections_total", Main({{"reason", "reserved_slots"}}),
                3);
  m = exporter.Scrape();
  EXPECT_GE(Value(m, "pgconn_server_log_truncated_lines_total", Main()).value_or(0), 1);
  EXPECT_TRUE(IsUp(m));
}

TEST(ConnectionChurnTest, ConnectDisconnectCyclesCountInSessionsTotalAndNewConnections) {
  TestPostgres pg(LoggingServer());
  ExporterProcess exporter(MainConfig(pg, "500ms"));
  Metrics m;
  const Labels appdb = Main({{"database", kAppDatabase}});
  // pg_stat_database.sessions exists from PostgreSQL 14; before that the series is absent.
  const bool has_session_counters = TestPostgres::ServerMajor() >= 14;
  ASSERT_TRUE(exporter.ScrapeUntil(
      [&](const Metrics& s) {
        return has_session_counters ? Value(s, "pgconn_database_sessions_total", appdb).has_value()
                                    : IsUp(s);
      },
      15s, &m))
      << Dump(m);
  EXPECT_EQ(Value(m, "pgconn_database_sessions_total", appdb).has_value(), has_session_counters);
  const double before = Value(m, "pgconn_database_sessions_total", appdb).value_or(0);

  constexpr int kN = 25;
  const ClientSpec cycler{kAppRoleA, kAppPassword, kAppDatabase, "cycler"};
  for (int i = 0; i < kN; ++i) {
    ClientPool once(pg.port());
    once.Open(cycler, SessionState::kIdle);
    if (i % 5 == 0) std::this_thread::sleep_for(300ms);  // some live across a poll
  }
  if (has_session_counters) {
    ExpectExactly(exporter, "pgconn_database_sessions_total", appdb, before + kN);
  }

  // Sessions that live across a poll are all counted, exactly once.
  ClientPool held(pg.port());
  held.OpenMany({kAppRoleA, kAppPassword, kAppDatabase, "held"}, SessionState::kIdle, 4);
  const Labels held_labels =
      Main({{"database", kAppDatabase}, {"user", kAppRoleA}, {"application", "held"}});
  ExpectExactly(exporter, "pgconn_new_connections_total", held_labels, 4);
  m = exporter.Scrape();
  // Short sessions are a lower bound: never more than there were.
  const double cycled =
      Value(m, "pgconn_new_connections_total",
            Main({{"database", kAppDatabase}, {"user", kAppRoleA}, {"application", "cycler"}}))
          .value_or(0);
  EXPECT_LE(cycled, kN);
  EXPECT_EQ(Value(m, "pgconn_connection_age_seconds_count", Main({{"application", "held"}})), 4);
  EXPECT_EQ(Value(m, "pgconn_connection_age_seconds_bucket",
                  Main({{"application", "held"}, {"le", "+Inf"}})),
            4);
  EXPECT_TRUE(PromtoolCheckMetrics(exporter.ScrapeText()).ok) << exporter.ScrapeText();
}

TEST(ConnectionChurnTest, ByClientAddrIsOptIn) {
  TestPostgres pg(LoggingServer());
  ClientPool clients(pg.port());
  clients.OpenMany(kApp, SessionState::kIdle, 2);
  ExporterProcess without(MainConfig(pg, "500ms"));
  ExporterProcess with(MainConfig(pg, "500ms", "by_client_addr = true\n"));
  Metrics m;
  ASSERT_TRUE(with.ScrapeUntil(
      [](const Metrics& s) {
        return Value(s, "pgconn_client_connections_by_addr", Main({{"client_addr", "127.0.0.1"}}))
                   .value_or(0) >= 2;
      },
      15s, &m))
      << Dump(m);
  ASSERT_TRUE(without.ScrapeUntil([](const Metrics& s) { return IsUp(s); }, 15s, &m));
  EXPECT_TRUE(Select(m, "pgconn_client_connections_by_addr").empty());
}

}  // namespace
}  // namespace pgconn::testing
