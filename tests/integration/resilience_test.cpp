// Failures of the database side: a frozen backend, a restarted server, targets that refuse or
// never answer. Scrapes stay fast, healthy targets keep reporting, broken ones recover alone.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <stdexcept>

#include "pgconn/failure.h"
#include "support/scenario.h"

namespace pgconn::testing {
namespace {

using Clock = std::chrono::steady_clock;

// A TCP listener that completes handshakes (the kernel does) but never accepts or answers:
// a server that hangs after connect.
class SilentListener {
 public:
  SilentListener() {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    for (int attempt = 0; attempt < 20 && fd_ >= 0; ++attempt) {
      port_ = PickFreePort();
      sockaddr_in addr{};
      addr.sin_family = AF_INET;
      addr.sin_port = htons(static_cast<uint16_t>(port_));
      addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      if (bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
          listen(fd_, 64) == 0) {
        return;
      }
    }
    throw std::runtime_error("cannot create a silent listener");
  }
  ~SilentListener() { close(fd_); }
  SilentListener(const SilentListener&) = delete;
  SilentListener& operator=(const SilentListener&) = delete;
  int port() const { return port_; }

 private:
  int fd_ = -1;
  int port_ = 0;
};

double UnixNow() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

TEST(ResilienceTest, FrozenBackendTimesOutWithoutBlockingScrapesAndRecovers) {
  TestPostgres pg;
  // query_timeout 2s (TargetToml's default), poll every 500ms.
  ExporterProcess exporter(MainConfig(pg));
  Metrics m;
  ASSERT_TRUE(exporter.ScrapeUntil([](const Metrics& s) { return IsUp(s); }, 10s, &m))
      << Dump(m) << Tail(exporter.Log());
  const double timeouts_before = Errors(m, "timeout");

  const auto backend = pg.BackendPidOf("pgconn_exporter");
  ASSERT_TRUE(backend.has_value());
  ContinueOnExit continue_on_exit(*backend);
  ASSERT_EQ(kill(*backend, SIGSTOP), 0);
  const auto stopped_at = Clock::now();

  // Every scrape while the backend is frozen answers at once; the timeout counter moves
  // within query_timeout + poll_interval + slack (the poll then replaces the session at once,
  // so the target may never show down).
  auto slowest = std::chrono::milliseconds(0);
  int scrapes = 0;
  const bool timed_out = WaitFor(
      [&] {
        HttpResponse r = exporter.Get("/metrics", {}, 5s);
        ++scrapes;
        slowest = std::max(slowest, r.elapsed);
        EXPECT_EQ(r.status, 200);
        EXPECT_LT(r.elapsed.count(), 1000) << "scrape blocked while the backend is frozen";
        const Metrics s = ParseMetrics(r.body);
        m = s;
        return Errors(s, "timeout") > timeouts_before;
      },
      2s + 500ms + 2500ms, 50ms);
  const auto detected_after =
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - stopped_at);
  ASSERT_TRUE(timed_out) << "after " << detected_after.count() << " ms\n"
                         << Dump(m) << Tail(exporter.Log());
  EXPECT_GE(detected_after.count(), 1500) << "went down before the query timeout could expire";
  EXPECT_LT(slowest.count(), 1000);
  EXPECT_GT(scrapes, 10);

  // Scrapes stay fast for a while longer, whatever the poller does meanwhile.
  const bool stayed_fast = !WaitFor(
      [&] {
        HttpResponse r = exporter.Get("/metrics", {}, 5s);
        return r.status != 200 || r.elapsed.count() >= 1000;
      },
      1500ms, 50ms);
  EXPECT_TRUE(stayed_fast);

  ASSERT_EQ(kill(*backend, SIGCONT), 0);
  ASSERT_TRUE(exporter.ScrapeUntil(
      [](const Metrics& s) {
        return IsUp(s) && Value(s, "pgconn_client_connections", Main()) == 1.0;
      },
      15s, &m))
      << Dump(m) << Tail(exporter.Log());
  // The exporter opened a fresh session; the frozen one is gone once it ran again.
  EXPECT_TRUE(WaitFor([&] { return pg.BackendPidsOf("pgconn_exporter").size() == 1; }, 5s));
  EXPECT_NE(pg.BackendPidOf("pgconn_exporter"), backend);
}

TEST(ResilienceTest, RecoversByItselfAfterPostgresRestart) {
  TestPostgres pg;
  ExporterProcess exporter(MainConfig(pg));
  Metrics m;
  ASSERT_TRUE(exporter.ScrapeUntil([](const Metrics& s) { return IsUp(s); }, 10s, &m))
      << Dump(m) << Tail(exporter.Log());
  const double errors_before = Sum(m, "pgconn_poll_errors_total", Main());

  pg.Stop();
  ASSERT_TRUE(exporter.ScrapeUntil([](const Metrics& s) { return IsDown(s); }, 5s, &m))
      << Dump(m) << Tail(exporter.Log());
  ASSERT_TRUE(exporter.ScrapeUntil(
      [](const Metrics& s) { return Errors(s, "connect_refused") > 0; }, 10s, &m))
      << Dump(m);
  EXPECT_GT(Sum(m, "pgconn_poll_errors_total", Main()), errors_before);
  // Down for a reason other than "full": no capacity numbers at all.
  EXPECT_FALSE(Value(m, "pgconn_available_connections", Main())) << Dump(m);
  EXPECT_FALSE(Value(m, "pgconn_client_connections", Main())) << Dump(m);

  pg.Start();
  const auto started = Clock::now();
  ASSERT_TRUE(exporter.ScrapeUntil(
      [](const Metrics& s) {
        return IsUp(s) && Value(s, "pgconn_client_connections", Main()) == 1.0;
      },
      15s, &m))
      << Dump(m) << Tail(exporter.Log());
  RecordProperty(
      "recovery_ms",
      static_cast<int>(
          std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started).count()));
  EXPECT_EQ(pg.BackendPidsOf("pgconn_exporter").size(), 1u);
}

TEST(ResilienceTest, DeadAndHangingTargetsDoNotDelayAHealthyOne) {
  TestPostgres pg;
  SilentListener silent;
  ExporterProcess exporter(MainConfig(pg) + TargetToml("dead", DeadDsn()) +
                           TargetToml("hang",
                                      "host=127.0.0.1 port=" + std::to_string(silent.port()) +
                                          " dbname=postgres user=pgconn_exporter sslmode=disable",
                                      "connect_timeout = \"2s\"\n"));
  Metrics m;
  ASSERT_TRUE(exporter.ScrapeUntil(
      [](const Metrics& s) {
        return IsUp(s) && IsDown(s, "dead") && Errors(s, "connect_refused", "dead") > 0 &&
               IsDown(s, "hang") && Errors(s, "timeout", "hang") > 0;
      },
      15s, &m))
      << Dump(m) << Tail(exporter.Log());

  // Only pgconn_up and poll health for targets that are down (not for lack of slots).
  for (const char* target : {"dead", "hang"}) {
    for (const char* family :
         {"pgconn_max_connections", "pgconn_available_connections", "pgconn_client_connections",
          "pgconn_utilization_ratio", "pgconn_client_connections_by_state"}) {
      EXPECT_TRUE(Select(m, family, TargetLabels(target)).empty()) << target << " " << family;
    }
    EXPECT_EQ(Select(m, "pgconn_poll_errors_total", TargetLabels(target)).size(),
              kAllFailureReasons.size())
        << target;
  }
  EXPECT_EQ(Errors(m, "connect_refused"), 0.0);

  // While the hanging target sits in its connect timeouts, main keeps its 500ms cadence:
  // its last success is never older than a few poll intervals, and new sessions show up.
  ClientPool clients(pg.port());
  clients.Open({kAppRoleA, kAppPassword, "postgres", "fresh"}, SessionState::kIdle);
  double worst_age = 0;
  ASSERT_TRUE(exporter.ScrapeUntil(
      [&](const Metrics& s) {
        const double age =
            UnixNow() - Value(s, "pgconn_last_poll_success_timestamp_seconds", Main()).value_or(0);
        worst_age = std::max(worst_age, age);
        return Value(s, "pgconn_client_connections", Main()) == 2.0;
      },
      5s, &m))
      << Dump(m);
  const bool stayed_fresh = !WaitFor(
      [&] {
        const Metrics s = exporter.Scrape();
        const double age =
            UnixNow() - Value(s, "pgconn_last_poll_success_timestamp_seconds", Main()).value_or(0);
        worst_age = std::max(worst_age, age);
        return !IsUp(s) || age > 2.0;
      },
      4s, 100ms);
  EXPECT_TRUE(stayed_fresh) << "main's data went stale: worst age " << worst_age << " s";
  EXPECT_GT(Errors(exporter.Scrape(), "timeout", "hang"), 0.0);
}

}  // namespace
}  // namespace pgconn::testing
