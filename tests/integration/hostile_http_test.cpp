// A hostile network: idle sockets, a slowloris, request-less floods, a full fd table and odd
// requests against the real exporter on loopback. A scrape must still get through quickly.
// The target is < 1 s; the bound here has a margin for a loaded CI machine and the
// measured figure is printed (README "Security" has the numbers).
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "support/scenario.h"

namespace pgconn::testing {
namespace {

using Clock = std::chrono::steady_clock;
constexpr auto kScrapeBound = 3s;  // target 1 s; margin for a shared 2-core machine

// Raw TCP clients that the test controls byte by byte.
class Sockets {
 public:
  ~Sockets() {
    for (const int fd : fds_) close(fd);
  }
  // Connects `count` sockets; returns how many connected.
  size_t Open(int port, size_t count) {
    for (size_t i = 0; i < count; ++i) {
      const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      if (fd < 0) break;
      sockaddr_in addr{};
      addr.sin_family = AF_INET;
      addr.sin_port = htons(static_cast<uint16_t>(port));
      addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
        close(fd);
        break;
      }
      fds_.push_back(fd);
    }
    return fds_.size();
  }
  void SendAll(const std::string& bytes) {
    for (const int fd : fds_) (void)!send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
  }

 private:
  std::vector<int> fds_;
};

void RaiseOwnFdLimit() {
  rlimit limit{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &limit), 0);
  limit.rlim_cur = limit.rlim_max;
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &limit), 0);
  if (limit.rlim_cur < 2200) GTEST_SKIP() << "hard RLIMIT_NOFILE " << limit.rlim_max << " < 2200";
}

std::string DeadTargetConfig() { return ExporterToml("1s") + TargetToml("main", DeadDsn()); }

// Several scrapes while the abuse goes on; returns the slowest.
std::chrono::milliseconds SlowestScrape(const ExporterProcess& exporter, const char* label) {
  std::chrono::milliseconds slowest{0};
  for (int i = 0; i < 4; ++i) {
    const HttpResponse response = exporter.Get("/metrics", {}, 15s);
    EXPECT_EQ(response.status, 200);
    EXPECT_NE(response.body.find("pgconn_http_workers"), std::string::npos);
    slowest = std::max(slowest, response.elapsed);
    std::this_thread::sleep_for(200ms);
  }
  std::cout << "[ measured ] " << label << ": slowest of 4 scrapes " << slowest.count() << " ms\n";
  return slowest;
}

TEST(HostileHttpTest, TwoHundredIdleConnectionsLeaveAScrapeFast) {
  ExporterProcess exporter(DeadTargetConfig());
  Sockets idle;
  ASSERT_EQ(idle.Open(exporter.port(), 200), 200u);
  EXPECT_LT(SlowestScrape(exporter, "200 idle connections"), kScrapeBound);
}

TEST(HostileHttpTest, SlowlorisOf500ConnectionsLeavesAScrapeFast) {
  RaiseOwnFdLimit();
  ExporterProcess exporter(DeadTargetConfig());
  Sockets loris;
  ASSERT_EQ(loris.Open(exporter.port(), 500), 500u);
  loris.SendAll("GET /metrics HTTP/1.1\r\nHost: x\r\n");
  std::atomic<bool> stop{false};
  std::thread drip([&] {
    while (!stop) {
      loris.SendAll("X-Slow: 1\r\n");
      std::this_thread::sleep_for(500ms);
    }
  });
  const auto slowest = SlowestScrape(exporter, "500-connection slowloris");
  // Every slow connection holds a worker, and the self-metrics show it.
  const double open = Value(exporter.Scrape(), "pgconn_http_connections_open").value_or(0);
  stop = true;
  drip.join();
  EXPECT_LT(slowest, kScrapeBound);
  EXPECT_GE(open, 400) << "pgconn_http_connections_open during the slowloris";
}

TEST(HostileHttpTest, TwoThousandRequestlessConnectionsLeaveAScrapeFast) {
  RaiseOwnFdLimit();
  ExporterProcess exporter(DeadTargetConfig());
  Sockets silent;
  ASSERT_EQ(silent.Open(exporter.port(), 2000), 2000u);
  EXPECT_LT(SlowestScrape(exporter, "2000 request-less connections"), kScrapeBound);
}

// An exporter binary wrapper: prlimit caps the fd table at `limit` (soft and hard), so
// RaiseFdLimit cannot lift it.
std::string LimitedExporter(const TempDir& dir, int limit) {
  const std::string path = dir.path() + "/limited-exporter.sh";
  std::ofstream(path) << "#!/bin/sh\nexec prlimit --nofile=" << limit << ":" << limit << " "
                      << ExporterBinary() << " \"$@\"\n";
  chmod(path.c_str(), 0755);
  return path;
}

TEST(HostileHttpTest, FullFdTableStillServesMetricsAndCountsIt) {
  TestPostgres pg;
  // The harness caps the exporter role at a few sessions; this test needs 50 of them open.
  pg.SuperuserSql(std::string("ALTER ROLE ") + kExporterRole + " CONNECTION LIMIT -1");
  std::string config = ExporterToml("500ms");
  for (int i = 0; i < 50; ++i) config += TargetToml("t" + std::to_string(i), pg.Dsn());
  TempDir dir("pgconn-fdlimit");
  setenv("PGCONN_EXPORTER_BIN_OVERRIDE", LimitedExporter(dir, 40).c_str(), 1);
  ExporterProcess exporter(config);
  unsetenv("PGCONN_EXPORTER_BIN_OVERRIDE");
  Metrics m;
  // 50 sessions cannot fit in 40 descriptors: the table fills, scrapes keep working.
  ASSERT_TRUE(exporter.ScrapeUntil(
      [](const Metrics& s) { return Value(s, "pgconn_http_fd_exhausted_total").value_or(0) > 0; },
      30s, &m))
      << Dump(m) << Tail(exporter.Log());
  std::chrono::milliseconds slowest{0};
  for (int i = 0; i < 5; ++i) {
    const HttpResponse response = exporter.Get("/metrics", {}, 15s);
    EXPECT_EQ(response.status, 200);
    slowest = std::max(slowest, response.elapsed);
  }
  std::cout << "[ measured ] full fd table: slowest of 5 scrapes " << slowest.count() << " ms\n";
  EXPECT_LT(slowest, kScrapeBound);
  EXPECT_NE(exporter.Log().find("file descriptor table full"), std::string::npos);
}

// Raw request -> the status line (or "" when the server closed without one).
std::string StatusLine(int port, const std::string& request) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return "connect failed";
  }
  timeval timeout{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  (void)!send(fd, request.data(), request.size(), MSG_NOSIGNAL);
  std::string reply;
  char buffer[4096];
  while (reply.find("\r\n") == std::string::npos) {
    const ssize_t n = recv(fd, buffer, sizeof(buffer), 0);
    if (n <= 0) break;
    reply.append(buffer, static_cast<size_t>(n));
  }
  close(fd);
  return reply.substr(0, reply.find("\r\n"));
}

TEST(HostileHttpTest, OddRequestsGetProperResponses) {
  ExporterProcess exporter(DeadTargetConfig());
  const int port = exporter.port();
  EXPECT_EQ(StatusLine(port, "GET /metrics%00.txt HTTP/1.1\r\nHost: x\r\n\r\n"),
            "HTTP/1.1 400 Bad Request");
  EXPECT_EQ(StatusLine(port, "GET /metrics%0A HTTP/1.1\r\nHost: x\r\n\r\n"),
            "HTTP/1.1 400 Bad Request");
  EXPECT_EQ(StatusLine(port,
                       "GET /metrics HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
                       "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                       "Sec-WebSocket-Version: 13\r\n\r\n"),
            "HTTP/1.1 400 Bad Request");
  EXPECT_EQ(StatusLine(port, "OPTIONS /metrics HTTP/1.1\r\nHost: x\r\n\r\n"),
            "HTTP/1.1 204 No Content");
  EXPECT_EQ(StatusLine(port, "GET http://127.0.0.1:" + std::to_string(port) +
                                 "/healthz HTTP/1.1\r\nHost: x\r\n\r\n"),
            "HTTP/1.1 200 OK");
  const auto start = Clock::now();
  EXPECT_EQ(
      StatusLine(port, "GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000000000\r\n\r\n"),
      "HTTP/1.1 413 Request Entity Too Large");
  EXPECT_LT(Clock::now() - start, 2s);  // not waited on
  // civetweb counts a request when its connection ends, which can be just after the client
  // read the status line: wait for the count rather than racing it.
  auto count = [](const Metrics& s, const char* code) {
    return Value(s, "pgconn_http_requests_total", {{"code", code}}).value_or(0);
  };
  Metrics m;
  EXPECT_TRUE(exporter.ScrapeUntil(
      [&](const Metrics& s) { return count(s, "400") >= 3 && count(s, "413") >= 1; }, 5s, &m))
      << "400: " << count(m, "400") << ", 413: " << count(m, "413");
}

}  // namespace
}  // namespace pgconn::testing
