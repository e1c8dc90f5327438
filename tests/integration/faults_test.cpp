// The standing fault suite (issue 11): each case breaks a real PostgreSQL the way production
// does and asserts what the exporter reports, how fast it notices and how fast it recovers.
// All cases are named Faults*, so `ctest -R Faults` (or a sanitizer job) selects them.
#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <iostream>
#include <string>

#include "pgconn/deadline_watchdog.h"
#include "pgconn/target_session.h"
#include "support/scenario.h"

namespace pgconn::testing {
namespace {

using Clock = std::chrono::steady_clock;

double MsSince(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

// A figure for the report: a test property and a line on stdout.
void Figure(const std::string& name, double value) {
  ::testing::Test::RecordProperty(name, std::to_string(value));
  std::cout << "[figure] " << name << " = " << value << "\n";
}

// Terminates the exporter's backends and waits (up to 5 s) until they have exited. The
// pg_terminate_backend(pid, timeout) form that waits by itself exists only from PG 14.
constexpr const char* kTerminateExporterAndWait = R"SQL(
DO $$
DECLARE victims int[];
BEGIN
  SELECT array_agg(pid) INTO victims FROM pg_stat_activity
  WHERE application_name = 'pgconn_exporter';
  PERFORM pg_terminate_backend(victim) FROM unnest(victims) AS victim;
  FOR i IN 1..500 LOOP
    PERFORM pg_stat_clear_snapshot();
    EXIT WHEN NOT EXISTS (SELECT 1 FROM pg_stat_activity WHERE pid = ANY(victims));
    PERFORM pg_sleep(0.01);
  END LOOP;
END $$)SQL";

void TerminateExporterBackend(const TestPostgres& pg) {
  pg.SuperuserSql(kTerminateExporterAndWait);
}

double PollTimestamp(const Metrics& m) {
  return Value(m, "pgconn_last_poll_success_timestamp_seconds", Main()).value_or(0);
}

// Scrapes every 50 ms for `span`, failing on any scrape where the target is not up.
int CountDownScrapes(const ExporterProcess& exporter, std::chrono::milliseconds span,
                     Metrics* last) {
  int down = 0;
  const auto end = Clock::now() + span;
  while (Clock::now() < end) {
    *last = exporter.Scrape();
    if (!IsUp(*last)) ++down;
    std::this_thread::sleep_for(50ms);
  }
  return down;
}

size_t CountLines(const std::string& log, const std::string& needle) {
  size_t count = 0;
  for (size_t at = log.find(needle); at != std::string::npos; at = log.find(needle, at + 1)) {
    ++count;
  }
  return count;
}

TEST(Faults, TerminatedSessionIsReplacedWithinThePollAt15sInterval) {
  TestPostgres pg;
  ExporterProcess exporter(MainConfig(pg, "15s"));
  Metrics m;
  ASSERT_TRUE(exporter.ScrapeUntil([](const Metrics& s) { return IsUp(s); }, 10s, &m))
      << Tail(exporter.Log());
  const auto old_backend = pg.BackendPidOf("pgconn_exporter");
  TerminateExporterBackend(pg);
  const auto killed = Clock::now();
  // The next poll (within 15 s) finds the session gone, reconnects at once and succeeds.
  Metrics last;
  int down = 0;
  const bool counted = WaitFor(
      [&] {
        last = exporter.Scrape();
        if (!IsUp(last)) ++down;
        return Errors(last, "terminated") >= 1 && IsUp(last);
      },
      20s, 50ms);
  ASSERT_TRUE(counted) << Dump(last) << Tail(exporter.Log());
  EXPECT_EQ(down, 0) << "up dropped to 0 after a terminated session";
  EXPECT_EQ(Errors(last, "other"), 0.0);
  EXPECT_EQ(Value(last, "pgconn_client_connections", Main()), 1.0);
  EXPECT_NE(pg.BackendPidOf("pgconn_exporter"), old_backend);
  EXPECT_NE(exporter.Log().find("session lost (terminated)"), std::string::npos);
  Figure("terminate_detected_ms", MsSince(killed));
}

TEST(Faults, RestartBetweenPollsKeepsUp) {
  TestPostgres pg;
  ExporterProcess exporter(MainConfig(pg, "4s"));
  Metrics m;
  ASSERT_TRUE(exporter.ScrapeUntil([](const Metrics& s) { return IsUp(s); }, 10s, &m))
      << Tail(exporter.Log());
  for (const char* mode : {"fast", "immediate"}) {
    // Restart right after a poll, so the server is back before the next one.
    const double before = PollTimestamp(exporter.Scrape());
    ASSERT_TRUE(
        exporter.ScrapeUntil([&](const Metrics& s) { return PollTimestamp(s) > before; }, 6s, &m));
    const auto restart_started = Clock::now();
    pg.Stop(mode);
    pg.Start();
    Figure(std::string("restart_") + mode + "_ms", MsSince(restart_started));
    const double restarted_at = PollTimestamp(exporter.Scrape());
    ASSERT_TRUE(exporter.ScrapeUntil(
        [&](const Metrics& s) { return PollTimestamp(s) > restarted_at; }, 8s, &m))
        << mode << Tail(exporter.Log());
    EXPECT_TRUE(IsUp(m)) << mode << Dump(m);
    EXPECT_EQ(Value(m, "pgconn_client_connections", Main()), 1.0) << mode;
  }
  const Metrics end = exporter.Scrape();
  EXPECT_EQ(Errors(end, "other"), 0.0) << Dump(end);
  EXPECT_GE(
      Errors(end, "connection_lost") + Errors(end, "server_shutdown") + Errors(end, "terminated"),
      2.0)
      << Dump(end);
  EXPECT_EQ(CountLines(exporter.Log(), "is down ("), 0u) << Tail(exporter.Log());
}

TEST(Faults, ServerDownThenBackRecoversWithinOneIntervalAndLogsEachReason) {
  TestPostgres pg;
  ExporterProcess exporter(MainConfig(pg, "2s"));
  Metrics m;
  ASSERT_TRUE(exporter.ScrapeUntil([](const Metrics& s) { return IsUp(s); }, 10s, &m))
      << Tail(exporter.Log());
  pg.Stop("fast");
  const auto stopped = Clock::now();
  ASSERT_TRUE(exporter.ScrapeUntil([](const Metrics& s) { return IsDown(s); }, 5s, &m))
      << Tail(exporter.Log());
  Figure("down_detected_ms", MsSince(stopped));
  EXPECT_FALSE(Value(m, "pgconn_available_connections", Main()));
  // Several failed polls, then back: each retry comes at most one interval later.
  std::this_thread::sleep_for(7s);
  pg.Start();
  const auto started = Clock::now();
  ASSERT_TRUE(exporter.ScrapeUntil([](const Metrics& s) { return IsUp(s); }, 10s, &m, 20ms))
      << Tail(exporter.Log());
  const double recovery_ms = MsSince(started);
  Figure("outage_recovery_ms", recovery_ms);
  EXPECT_LT(recovery_ms, 2000 + 1500) << "recovery slower than one interval plus slack";
  EXPECT_EQ(Errors(m, "other"), 0.0) << Dump(m);
  EXPECT_GT(Errors(m, "connect_refused"), 0.0) << Dump(m);
  const std::string log = exporter.Log();
  EXPECT_NE(log.find("is down (connect_refused)"), std::string::npos) << Tail(log);
  EXPECT_GE(CountLines(log, "target main is up"), 2u) << Tail(log);
}

TEST(Faults, HungPostmasterIsNotAcceptingWhileCountsAreServed) {
  TestPostgres pg;
  ExporterProcess exporter(MainConfig(pg, "1s", "connect_timeout = \"2s\"\n"));
  Metrics m;
  ASSERT_TRUE(exporter.ScrapeUntil(
      [](const Metrics& s) {
        return IsUp(s) && Value(s, "pgconn_accepting_connections", Main()) == 1.0;
      },
      10s, &m))
      << Dump(m) << Tail(exporter.Log());
  const pid_t postmaster = pg.PostmasterPid();
  ContinueOnExit resume(postmaster);
  ASSERT_EQ(kill(postmaster, SIGSTOP), 0);
  const auto stopped = Clock::now();
  ASSERT_TRUE(exporter.ScrapeUntil(
      [](const Metrics& s) { return Value(s, "pgconn_accepting_connections", Main()) == 0.0; },
      1s + 2s + 2s, &m))
      << Dump(m) << Tail(exporter.Log());
  Figure("hung_postmaster_detected_ms", MsSince(stopped));
  EXPECT_TRUE(IsUp(m)) << "the live session still answers";
  EXPECT_EQ(Value(m, "pgconn_client_connections", Main()), 1.0);
  EXPECT_GE(Value(m, "pgconn_accept_probe_duration_seconds", Main()).value_or(0), 1.5);
  ASSERT_EQ(kill(postmaster, SIGCONT), 0);
  ASSERT_TRUE(exporter.ScrapeUntil(
      [](const Metrics& s) { return Value(s, "pgconn_accepting_connections", Main()) == 1.0; }, 6s,
      &m))
      << Dump(m);
  EXPECT_NE(exporter.Log().find("does not accept new connections"), std::string::npos);
  // The probe never became a session: no backend but ours was ever seen.
  EXPECT_EQ(pg.BackendPidsOf("pgconn_exporter").size(), 1u);
}

TEST(Faults, FrozenBackendIsReplacedAndCounted) {
  TestPostgres pg;
  ExporterProcess exporter(MainConfig(pg, "1s", "query_timeout = \"1s\"\n"));
  Metrics m;
  ASSERT_TRUE(exporter.ScrapeUntil([](const Metrics& s) { return IsUp(s); }, 10s, &m));
  const auto backend = pg.BackendPidOf("pgconn_exporter");
  ASSERT_TRUE(backend);
  ContinueOnExit resume(*backend);
  ASSERT_EQ(kill(*backend, SIGSTOP), 0);
  const auto stopped = Clock::now();
  ASSERT_TRUE(exporter.ScrapeUntil(
      [](const Metrics& s) { return Errors(s, "timeout") >= 1 && IsUp(s); }, 8s, &m))
      << Dump(m) << Tail(exporter.Log());
  Figure("frozen_backend_replaced_ms", MsSince(stopped));
  // The frozen backend still holds its slot: two client backends of ours.
  EXPECT_EQ(Value(m, "pgconn_client_connections", Main()), 2.0) << Dump(m);
}

TEST(Faults, WrongPasswordIsAuthAndLogged) {
  TestPostgres pg;
  ExporterOptions options;
  options.env["PGCONN_TEST_PASSWORD"] = "not-the-password";
  ExporterProcess exporter(MainConfig(pg, "500ms"), options);
  Metrics m;
  ASSERT_TRUE(exporter.ScrapeUntil([](const Metrics& s) { return Errors(s, "auth") > 0; }, 10s, &m))
      << Dump(m);
  EXPECT_TRUE(IsDown(m));
  EXPECT_NE(exporter.Log().find("is down (auth)"), std::string::npos);
  EXPECT_EQ(exporter.Log().find("not-the-password"), std::string::npos);
}

TEST(Faults, DroppedRoleIsSeenWhileTheSessionLives) {
  TestPostgres pg;
  pg.SuperuserSql("CREATE ROLE doomed LOGIN PASSWORD 'exporter-secret-pw' IN ROLE pg_monitor");
  ExporterProcess exporter(ExporterToml("500ms") +
                           TargetToml("main", pg.Dsn("doomed", "postgres")));
  Metrics m;
  ASSERT_TRUE(exporter.ScrapeUntil(
      [](const Metrics& s) { return Value(s, "pgconn_login_role_valid", Main()) == 1.0; }, 10s, &m))
      << Dump(m) << Tail(exporter.Log());
  pg.SuperuserSql("DROP ROLE doomed");
  ASSERT_TRUE(exporter.ScrapeUntil(
      [](const Metrics& s) { return Value(s, "pgconn_login_role_valid", Main()) == 0.0; }, 5s, &m))
      << Dump(m) << Tail(exporter.Log());
  EXPECT_TRUE(IsUp(m)) << "the live session still counts";
  EXPECT_NE(exporter.Log().find("role was dropped (role_missing)"), std::string::npos);
  // Once the session ends, the login fails (scram-sha-256 does not tell a missing role apart).
  TerminateExporterBackend(pg);
  ASSERT_TRUE(exporter.ScrapeUntil([](const Metrics& s) { return IsDown(s); }, 5s, &m));
  EXPECT_GE(Errors(m, "auth") + Errors(m, "role_missing"), 1.0) << Dump(m);
  EXPECT_EQ(Errors(m, "other"), 0.0) << Dump(m);
}

TEST(Faults, DroppedDatabaseIsDatabaseMissing) {
  if (TestPostgres::ServerMajor() < 13) {
    GTEST_SKIP() << "DROP DATABASE ... WITH (FORCE) exists from PostgreSQL 13; without it the "
                    "exporter's immediate reconnect races the drop";
  }
  TestPostgres pg;
  pg.SuperuserSql("CREATE DATABASE doomed");
  ExporterProcess exporter(ExporterToml("500ms") +
                           TargetToml("main", pg.Dsn(kExporterRole, "doomed")));
  Metrics m;
  ASSERT_TRUE(exporter.ScrapeUntil([](const Metrics& s) { return IsUp(s); }, 10s, &m))
      << Tail(exporter.Log());
  pg.SuperuserSql("DROP DATABASE doomed WITH (FORCE)");
  ASSERT_TRUE(exporter.ScrapeUntil(
      [](const Metrics& s) { return Errors(s, "database_missing") > 0 && IsDown(s); }, 8s, &m))
      << Dump(m) << Tail(exporter.Log());
  EXPECT_EQ(Errors(m, "other"), 0.0) << Dump(m);
  const std::string log = exporter.Log();
  EXPECT_NE(log.find("session lost (terminated)"), std::string::npos) << Tail(log);
  EXPECT_NE(log.find("is down (database_missing)"), std::string::npos) << Tail(log);
}

TEST(Faults, RoleIdleSessionTimeoutDoesNotFlap) {
  if (TestPostgres::ServerMajor() < 14) GTEST_SKIP() << "idle_session_timeout exists from 14";
  TestPostgres pg;
  pg.SuperuserSql(std::string("ALTER ROLE ") + kExporterRole +
                  " SET idle_session_timeout = '100ms'");
  ExporterProcess exporter(MainConfig(pg, "500ms"));
  Metrics m;
  ASSERT_TRUE(exporter.ScrapeUntil([](const Metrics& s) { return IsUp(s); }, 10s, &m));
  EXPECT_EQ(CountDownScrapes(exporter, 4s, &m), 0) << Tail(exporter.Log());
  EXPECT_EQ(Errors(m, "terminated"), 0.0) << Dump(m);
  EXPECT_EQ(Sum(m, "pgconn_poll_errors_total", Main()), 0.0) << Dump(m);
}

TEST(Faults, FullServerBeforeStartReportsNoneAvailable) {
  PostgresOptions options;
  options.max_connections = 12;
  TestPostgres pg(options);
  ClientPool clients(pg.port());
  clients.FillToLimit({kAppRoleA, kAppPassword, "postgres", "filler"});
  ExporterProcess exporter(MainConfig(pg, "500ms"));
  Metrics m;
  ASSERT_TRUE(exporter.ScrapeUntil(
      [](const Metrics& s) { return Errors(s, "too_many_connections") > 0; }, 10s, &m))
      << Dump(m) << Tail(exporter.Log());
  EXPECT_TRUE(IsDown(m));
  EXPECT_EQ(Value(m, "pgconn_available_connections", Main()), 0.0);
  EXPECT_NE(exporter.Log().find("is down (too_many_connections)"), std::string::npos);
  clients.CloseLast();
  ASSERT_TRUE(exporter.ScrapeUntil([](const Metrics& s) { return IsUp(s); }, 5s, &m));
}

// /proc/self/statm resident pages, in KiB.
long RssKib() {
  std::ifstream statm("/proc/self/statm");
  long size = 0, resident = 0;
  statm >> size >> resident;
  return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

#if defined(__SANITIZE_ADDRESS__)
constexpr bool kSanitized = true;
#else
constexpr bool kSanitized = false;
#endif

// 300 lost sessions in-process: under ASan/LSan the leak checker judges; otherwise RSS must
// not grow by more than 256 KiB (it grew ~2 KiB per loss with libpqxx 6.4).
TEST(FaultsLeak, ThreeHundredLostSessionsDoNotGrowMemory) {
  TestPostgres pg;
  TargetConfig target;
  target.name = "main";
  // Over the Unix socket (trust): the loop measures session loss, not SCRAM's hashing.
  target.dsn = "host=" + pg.SocketDir() + " port=" + std::to_string(pg.port()) +
               " dbname=postgres user=" + kExporterRole;
  target.password = kExporterPassword;
  DeadlineWatchdog watchdog;
  SharedAcceptProbe accept_probes;
  auto session = MakePostgresSession(target, watchdog, accept_probes, Millis(0));
  // One superuser session for all the kills (a new connection per kill would double the time).
  std::unique_ptr<PGconn, decltype(&PQfinish)> admin(
      PQconnectdb(("host=" + pg.SocketDir() + " port=" + std::to_string(pg.port()) +
                   " user=postgres dbname=postgres")
                      .c_str()),
      &PQfinish);
  ASSERT_EQ(PQstatus(admin.get()), CONNECTION_OK) << PQerrorMessage(admin.get());
  auto lose_once = [&] {
    if (!session->IsOpen()) session->Open();
    session->Poll();
    PQclear(PQexec(admin.get(), kTerminateExporterAndWait));
    try {
      session->Poll();
      ADD_FAILURE() << "a poll on a terminated session succeeded";
    } catch (const PollFailure& failure) {
      EXPECT_EQ(failure.reason(), FailureReason::kTerminated) << failure.what();
    }
    EXPECT_FALSE(session->IsOpen());
  };
  for (int i = 0; i < 20; ++i) lose_once();  // warm-up: allocator pools, libpq's caches
  const long before = RssKib();
  for (int i = 0; i < 300; ++i) lose_once();
  const long growth = RssKib() - before;
  Figure("leak_rss_growth_kib_per_300", static_cast<double>(growth));
  if (!kSanitized) {
    EXPECT_LT(growth, 256) << "RSS grew " << growth << " KiB";
  }
}

}  // namespace
}  // namespace pgconn::testing
