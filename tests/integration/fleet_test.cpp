// Many targets on a small poll pool: one frozen target (its backend SIGSTOPped, again after
// every reconnect) holds a worker until its deadline, and the healthy targets keep refreshing
// every interval meanwhile.
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <set>
#include <thread>

#include "support/scenario.h"

namespace pgconn::testing {
namespace {

using Clock = std::chrono::steady_clock;

constexpr int kHealthy = 50;

std::string HealthyName(int i) { return "h" + std::to_string(i); }

// Stops every exporter backend on database `frozen` that is not stopped yet; returns how many.
int FreezeFrozenBackends(const TestPostgres& pg, std::set<pid_t>& stopped) {
  int count = 0;
  const Rows rows = pg.SuperuserSql(
      "SELECT pid FROM pg_stat_activity WHERE datname = 'frozen' "
      "AND application_name = 'pgconn_exporter'");
  for (const auto& row : rows) {
    const pid_t pid = static_cast<pid_t>(std::stol(row.at(0).value_or("0")));
    if (pid > 0 && stopped.insert(pid).second && kill(pid, SIGSTOP) == 0) ++count;
  }
  return count;
}

TEST(FleetTest, AFrozenTargetDoesNotDelayFiftyHealthyOnesOnTwoPollerThreads) {
  PostgresOptions options;
  options.max_connections = 90;
  TestPostgres pg(options);
  pg.SuperuserSql("CREATE DATABASE frozen");
  pg.SuperuserSql("ALTER ROLE pgconn_exporter CONNECTION LIMIT -1");  // 51 sessions
  std::string config = ExporterToml("1s", "poller_threads = 2");
  for (int i = 0; i < kHealthy; ++i) config += TargetToml(HealthyName(i), pg.Dsn());
  // A long deadline: healthy targets queued behind it would miss 5 intervals in a row.
  config += TargetToml("frozen", pg.Dsn(kExporterRole, "frozen"), "query_timeout = \"5s\"");
  ExporterProcess exporter(config);
  Metrics m;
  ASSERT_TRUE(exporter.ScrapeUntil(
      [](const Metrics& s) {
        if (!IsUp(s, "frozen")) return false;
        for (int i = 0; i < kHealthy; ++i) {
          if (!IsUp(s, HealthyName(i))) return false;
        }
        return true;
      },
      30s, &m))
      << Dump(m) << Tail(exporter.Log());

  std::set<pid_t> stopped;
  struct ResumeAll {
    std::set<pid_t>& pids;
    ~ResumeAll() {
      for (pid_t pid : pids) kill(pid, SIGCONT);
    }
  } resume{stopped};
  ASSERT_EQ(FreezeFrozenBackends(pg, stopped), 1);

  // Watch 8 s (8 intervals): per healthy target, the longest wait for a new success.
  std::map<std::string, std::pair<double, Clock::time_point>> last;  // timestamp, seen at
  std::map<std::string, double> max_gap;
  const auto start = Clock::now();
  while (Clock::now() - start < 8s) {
    FreezeFrozenBackends(pg, stopped);
    m = ParseMetrics(exporter.ScrapeText());
    const auto now = Clock::now();
    for (int i = 0; i < kHealthy; ++i) {
      const std::string name = HealthyName(i);
      const auto ts =
          Value(m, "pgconn_last_poll_success_timestamp_seconds", TargetLabels(name)).value_or(0);
      auto it = last.find(name);
      if (it == last.end()) {
        last[name] = {ts, now};
        continue;
      }
      const double waited = std::chrono::duration<double>(now - it->second.second).count();
      max_gap[name] = std::max(max_gap[name], waited);
      if (ts != it->second.first) it->second = {ts, now};
    }
    std::this_thread::sleep_for(200ms);
  }
  double worst = 0;
  for (const auto& [name, gap] : max_gap) worst = std::max(worst, gap);
  // One interval (1 s) plus publishing (<= 200 ms) and scrape spacing; 5 s if queued.
  EXPECT_LT(worst, 3.0) << Tail(exporter.Log());
  EXPECT_EQ(max_gap.size(), static_cast<size_t>(kHealthy));
  // The freeze was real: the frozen target hits its client-side deadline (5 s after a poll
  // that may start up to an interval into the window; a loaded CI box can push it past it).
  EXPECT_TRUE(exporter.ScrapeUntil(
      [&](const Metrics& s) {
        FreezeFrozenBackends(pg, stopped);
        return Errors(s, "timeout", "frozen") > 0;
      },
      15s, &m))
      << Dump(m);
}

}  // namespace
}  // namespace pgconn::testing
