// File descriptors and sockets from /proc against a real PostgreSQL 15: a child process with
// a known fd limit, files and connections is reported exactly; the test server's own
// postmaster is found by itself (loopback target) and its backends are counted, also while
// the server refuses new connections.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "support/scenario.h"

namespace pgconn::testing {
namespace {

constexpr rlim_t kChildSoftLimit = 64;
constexpr int kChildFiles = 5;
constexpr int kChildConnections = 4;
// stdin, stdout, stderr + the files + one socket per connection.
constexpr int kChildFds = 3 + kChildFiles + kChildConnections;

[[noreturn]] void ChildFail(int report, const std::string& message) {
  const std::string line = "error: " + message + "\n";
  (void)!write(report, line.data(), line.size());
  _exit(1);
}

// In the forked child: nothing but 0-2 and the report pipe stays open, then the limit, the
// files and the connections; "ok" once they are all open. Runs until killed.
[[noreturn]] void RunFdChild(int report, const std::string& conninfo) {
  prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlive a test process that died
  if (dup2(report, 3) != 3) ChildFail(report, "dup2");
  report = 3;
  for (int fd = 4; fd < 65536; ++fd) close(fd);
  rlimit limit{};
  getrlimit(RLIMIT_NOFILE, &limit);
  limit.rlim_cur = kChildSoftLimit;
  if (setrlimit(RLIMIT_NOFILE, &limit) != 0) ChildFail(report, "setrlimit");
  for (int i = 0; i < kChildFiles; ++i) {
    if (open("/dev/null", O_RDONLY) < 0) ChildFail(report, "open /dev/null");
  }
  for (int i = 0; i < kChildConnections; ++i) {
    PGconn* conn = PQconnectdb(conninfo.c_str());  // kept open until the child is killed
    if (PQstatus(conn) != CONNECTION_OK) ChildFail(report, PQerrorMessage(conn));
  }
  (void)!write(report, "ok\n", 3);
  close(report);
  while (true) pause();
}

// A forked process holding kChildFiles files and kChildConnections connections to `pg`.
class FdChild {
 public:
  explicit FdChild(const TestPostgres& pg) {
    const std::string conninfo = "hostaddr=127.0.0.1 port=" + std::to_string(pg.port()) +
                                 " dbname=postgres user=" + kAppRoleA +
                                 " password=" + kAppPassword +
                                 " application_name=fd-child sslmode=disable gssencmode=disable";
    int pipe_fds[2];
    if (pipe(pipe_fds) != 0) throw std::runtime_error("pipe failed");
    pid_ = fork();
    if (pid_ < 0) throw std::runtime_error("fork failed");
    if (pid_ == 0) {
      close(pipe_fds[0]);
      RunFdChild(pipe_fds[1], conninfo);
    }
    close(pipe_fds[1]);
    std::string report;
    char buffer[512];
    for (ssize_t got; (got = read(pipe_fds[0], buffer, sizeof(buffer))) > 0;) {
      report.append(buffer, static_cast<size_t>(got));
    }
    close(pipe_fds[0]);
    if (report != "ok\n") throw std::runtime_error("fd child: " + report);
  }
  ~FdChild() {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  FdChild(const FdChild&) = delete;
  FdChild& operator=(const FdChild&) = delete;

  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
};

int64_t ReadNumbers(const std::string& path, int64_t* second = nullptr) {
  std::istringstream in(ReadFile(path));
  int64_t first = -1;
  in >> first;
  if (second) in >> *second;
  return first;
}

Labels Process(const std::string& name, Labels extra = {}) {
  extra["process"] = name;
  return extra;
}

// What /proc says right now about the postmaster's children and every member's fds: the
// oracle the exporter's numbers must converge to.
struct ServerView {
  int64_t children = 0;
  int64_t open_fds = 0;
};

ServerView ViewOfServer(pid_t postmaster) {
  namespace fs = std::filesystem;
  ServerView view;
  std::error_code error;
  auto count_fds = [&](const std::string& pid) {
    int64_t n = 0;
    for (auto it = fs::directory_iterator("/proc/" + pid + "/fd", error);
         !error && it != fs::directory_iterator(); it.increment(error)) {
      ++n;
    }
    return n;
  };
  view.open_fds = count_fds(std::to_string(postmaster));
  for (const auto& entry : fs::directory_iterator("/proc", error)) {
    const std::string pid = entry.path().filename().string();
    const std::string stat = ReadFile("/proc/" + pid + "/stat");
    const size_t close = stat.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream fields(stat.substr(close + 2));
    std::string state;
    pid_t ppid = 0;
    if (!(fields >> state >> ppid) || ppid != postmaster) continue;
    ++view.children;
    view.open_fds += count_fds(pid);
  }
  return view;
}

// Soft "Max open files" of /proc/PID/limits, read the plain way (prlimit(2) on another
// user's process needs CAP_SYS_RESOURCE, which containers often drop).
int64_t SoftNofileOf(pid_t pid) {
  std::istringstream lines(ReadFile("/proc/" + std::to_string(pid) + "/limits"));
  std::string line;
  while (std::getline(lines, line)) {
    if (line.rfind("Max open files", 0) != 0) continue;
    std::istringstream fields(line.substr(14));
    int64_t soft = -1;
    fields >> soft;
    return soft;
  }
  return -1;
}

double FdBudget(const TestPostgres& pg, int64_t file_max) {
  auto setting = [&](const char* name) {
    return std::stod(pg.SuperuserScalar("SHOW " + std::string(name)));
  };
  // MaxBackends: 18 sizes autovacuum by autovacuum_worker_slots plus 2 special workers.
  const double autovacuum = TestPostgres::ServerMajor() >= 18
                                ? setting("autovacuum_worker_slots") + 2
                                : setting("autovacuum_max_workers") + 1;
  const double slots = setting("max_connections") + autovacuum + setting("max_worker_processes") +
                       setting("max_wal_senders");
  return setting("max_files_per_process") * slots / static_cast<double>(file_max);
}

std::string ProcessToml(const std::string& name, const std::string& key, const std::string& value) {
  return "\n[[process]]\nname = \"" + name + "\"\n" + key + " = \"" + value + "\"\n";
}

TEST(ProcessFdTest, ChildWithKnownLimitFilesAndConnectionsIsReportedExactly) {
  TestPostgres pg;
  FdChild child(pg);
  TempDir dir("pgconn-fd-");
  WriteFile(dir.File("child.pid"), std::to_string(child.pid()) + "\n");
  ExporterProcess exporter(MainConfig(pg) +
                           ProcessToml("child", "pid_file", dir.File("child.pid")));

  int64_t port_high = 0;
  const int64_t port_low = ReadNumbers("/proc/sys/net/ipv4/ip_local_port_range", &port_high);
  const int64_t file_max = ReadNumbers("/proc/sys/fs/file-max");
  const Metrics expected = {
      {SeriesKey("pgconn_process_instances", Process("child")), 1},
      {SeriesKey("pgconn_process_open_fds", Process("child")), kChildFds},
      {SeriesKey("pgconn_process_max_fds", Process("child")), kChildSoftLimit},
      {SeriesKey("pgconn_process_fd_utilization_ratio", Process("child")),
       static_cast<double>(kChildFds) / kChildSoftLimit},
      {SeriesKey("pgconn_process_database_sockets",
                 Process("child", Main({{"state", "established"}}))),
       kChildConnections},
      {SeriesKey("pgconn_process_database_sockets",
                 Process("child", Main({{"state", "syn_sent"}}))),
       0},
      {SeriesKey("pgconn_process_database_sockets",
                 Process("child", Main({{"state", "close_wait"}}))),
       0},
      {SeriesKey("pgconn_process_scrape_errors_total",
                 Process("child", {{"reason", "permission"}})),
       0},
      {SeriesKey("pgconn_process_scrape_errors_total", Process("child", {{"reason", "malformed"}})),
       0},
      // The exporter's own session and the child's; nothing else talks TCP to this server.
      {SeriesKey("pgconn_host_ephemeral_ports_used", Main()), 1 + kChildConnections},
      {SeriesKey("pgconn_host_ephemeral_ports"), static_cast<double>(port_high - port_low + 1)},
      {SeriesKey("pgconn_host_max_files"), static_cast<double>(file_max)},
      {SeriesKey("pgconn_up", Main()), 1},
  };
  Metrics m;
  ASSERT_TRUE(exporter.ScrapeUntil(
      [&](const Metrics& s) {
        // The first scan may run before the first poll has read the settings.
        return DiffMetrics(expected, s, false).empty() &&
               Value(s, "pgconn_postgres_fd_budget_ratio", Main()).has_value();
      },
      20s, &m))
      << DiffMetrics(expected, m, false) << Dump(m) << Tail(exporter.Log());
  const double open_files = Value(m, "pgconn_host_open_files").value_or(-1);
  EXPECT_GE(open_files, kChildFds);  // the host's count moves all the time; it holds ours
  EXPECT_LE(open_files, file_max);
  const double budget = Value(m, "pgconn_postgres_fd_budget_ratio", Main()).value_or(-1);
  EXPECT_NEAR(budget, FdBudget(pg, file_max), 1e-12 * budget) << Dump(m);
  EXPECT_GT(Value(m, "pgconn_process_scan_duration_seconds").value_or(-1), 0);
}

TEST(ProcessFdTest, TheTestServersPostmasterIsFoundAndItsBackendsCounted) {
  TestPostgres pg;
  const pid_t postmaster = pg.PostmasterPid();
  ASSERT_GT(postmaster, 0);
  ExporterProcess exporter(MainConfig(pg));
  ClientPool clients(pg.port());
  clients.OpenMany({kAppRoleA, kAppPassword, "postgres", "backend-count"}, SessionState::kIdle, 3);
  const Labels server = Process("postgres:main");
  const int64_t soft_limit = SoftNofileOf(postmaster);
  ASSERT_GT(soft_limit, 0);
  Metrics m;
  ServerView view;
  ASSERT_TRUE(exporter.ScrapeUntil(
      [&](const Metrics& s) {
        view = ViewOfServer(postmaster);
        return Value(s, "pgconn_postgres_backend_processes", Main()) == view.children &&
               Value(s, "pgconn_process_instances", server) == view.children + 1 &&
               Value(s, "pgconn_process_open_fds", server) == view.open_fds;
      },
      20s, &m))
      << "children " << view.children << ", fds " << view.open_fds << "\n"
      << Dump(m) << Tail(exporter.Log());
  // 3 clients + the exporter's session + the auxiliary processes (checkpointer, ...).
  EXPECT_GE(view.children, 4 + 3);
  EXPECT_EQ(Value(m, "pgconn_process_max_fds", server), soft_limit);
  EXPECT_EQ(Value(m, "pgconn_process_scrape_errors_total",
                  Process("postgres:main", {{"reason", "permission"}})),
            0);
  // The clients' sockets belong to this test process, not to any watched group.
  EXPECT_TRUE(Select(m, "pgconn_process_database_sockets", server).empty()) << Dump(m);
}

// 12 - 3 superuser-reserved = 9 slots for ordinary roles.
const PostgresOptions kSmallServer{12, 3, {}};
constexpr int kUsable = 9;
const ClientSpec kFiller{kAppRoleA, kAppPassword, "postgres", "filler"};

// Postmaster children that are not client backends. Up to 14 the stats collector is one of
// them without a row in pg_stat_activity.
int64_t AuxiliaryProcesses(const TestPostgres& pg) {
  const int64_t hidden = TestPostgres::ServerMajor() <= 14 ? 1 : 0;
  return hidden + std::stoll(pg.SuperuserScalar(
                      "SELECT count(*) FROM pg_stat_activity WHERE backend_type <> 'client "
                      "backend'"));
}

TEST(ProcessFdTest, BackendsAreStillCountedWhenTheFullServerRefusesTheExporter) {
  TestPostgres pg(kSmallServer);
  ExporterProcess exporter(MainConfig(pg));
  Metrics m;
  ASSERT_TRUE(exporter.ScrapeUntil(
      [](const Metrics& s) {
        return IsUp(s) && Value(s, "pgconn_postgres_fd_budget_ratio", Main()).has_value();
      },
      20s, &m))
      << Dump(m) << Tail(exporter.Log());
  const int64_t auxiliary = AuxiliaryProcesses(pg);

  ClientPool clients(pg.port());
  ASSERT_EQ(clients.FillToLimit(kFiller), kUsable - 1);  // the exporter holds one slot
  // Its reconnect is refused for good: the role may not connect again, and the server is full.
  pg.SuperuserSql("ALTER ROLE pgconn_exporter CONNECTION LIMIT 0");
  pg.SuperuserSql(
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
      "WHERE application_name = 'pgconn_exporter'");
  ASSERT_TRUE(WaitFor([&] { return pg.BackendPidsOf("pgconn_exporter").empty(); }, 10s));
  // The exporter's slot, now refused for all. Each refused reconnect of the exporter holds a
  // slot for a moment (PostgreSQL 18 showed it once): retry until the freed slot is ours.
  int freed = 0;
  ASSERT_TRUE(WaitFor(
      [&] {
        freed += clients.FillToLimit(kFiller);
        return freed >= 1;
      },
      10s));
  ASSERT_EQ(freed, 1);

  const int64_t backends = auxiliary + kUsable;  // the fillers; the exporter's is gone
  ASSERT_TRUE(exporter.ScrapeUntil(
      [&](const Metrics& s) {
        return IsDown(s) && Errors(s, "too_many_connections") > 0 &&
               Value(s, "pgconn_postgres_backend_processes", Main()) == backends;
      },
      20s, &m))
      << "expected " << backends << " backends\n"
      << Dump(m) << Tail(exporter.Log());
  EXPECT_EQ(Value(m, "pgconn_process_instances", Process("postgres:main")), backends + 1);
  // The settings of the last good poll still give the fd budget.
  EXPECT_TRUE(Value(m, "pgconn_postgres_fd_budget_ratio", Main()).has_value()) << Dump(m);
  EXPECT_TRUE(Select(m, "pgconn_process_database_sockets", Process("postgres:main")).empty());
}

TEST(ProcessFdTest, APostmasterIsFoundWithoutASuccessfulPoll) {
  TestPostgres pg(kSmallServer);
  const int64_t auxiliary = AuxiliaryProcesses(pg);
  ClientPool clients(pg.port());
  ASSERT_EQ(clients.FillToLimit(kFiller), kUsable);

  ExporterProcess exporter(MainConfig(pg));
  Metrics m;
  ASSERT_TRUE(exporter.ScrapeUntil(
      [&](const Metrics& s) {
        return Errors(s, "too_many_connections") > 0 &&
               Value(s, "pgconn_postgres_backend_processes", Main()) == auxiliary + kUsable;
      },
      20s, &m))
      << Dump(m) << Tail(exporter.Log());
  EXPECT_EQ(Value(m, "pgconn_up", Main()), 0.0);
  // Each filler holds a local port; refused connects may add TIME_WAIT ones, which hold
  // ports too (for 60 s).
  EXPECT_GE(Value(m, "pgconn_host_ephemeral_ports_used", Main()).value_or(-1), kUsable);
  // Never polled: no settings, so no budget, rather than a guess.
  EXPECT_FALSE(Value(m, "pgconn_postgres_fd_budget_ratio", Main())) << Dump(m);
}

}  // namespace
}  // namespace pgconn::testing
