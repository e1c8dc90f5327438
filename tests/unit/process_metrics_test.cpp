// MapProcessScan and the scrape-error counter: exact expositions for the fixture tree
// (tests/fixtures/proc/README.md) and for hand-made scans.
#include "pgconn/process_metrics.h"

#include <gtest/gtest.h>

#include "support/http_client.h"

namespace pgconn {
namespace {

using testing::DiffMetrics;
using testing::Metrics;
using testing::ParseMetrics;
using testing::SeriesKey;

const std::string kFixtures = PGCONN_FIXTURES_DIR;

TargetConfig Target(std::string name, std::string dsn) {
  TargetConfig target;
  target.name = std::move(name);
  target.dsn = std::move(dsn);
  return target;
}

ServerSettings FixtureSettings() {
  ServerSettings settings;
  settings.data_directory = "/nonexistent/pgconn-fixture/data";
  settings.max_connections = 100;
  settings.autovacuum_max_workers = 3;
  settings.max_worker_processes = 8;
  settings.max_wal_senders = 10;
  settings.max_files_per_process = 1000;
  return settings;
}

Metrics Map(const ProcessScan& scan, const ScrapeErrorCounter& errors) {
  return ParseMetrics(RenderText(MapProcessScan(scan, errors)));
}

TEST(ProcessMetricsTest, FixtureTreeGivesEveryMetricExactly) {
  ProcessScanner scanner(
      kFixtures + "/proc", {{"web", ProcessMatch::kExe, "node", ""}},
      {Target("main", "host=localhost port=5432"), Target("reporting", "host=10.0.0.7 port=5432")});
  ProcessScan scan = scanner.Scan({{"main", FixtureSettings()}});
  scan.duration_seconds = 0.25;
  const ScrapeErrorCounter errors(scanner.GroupNames());
  auto web = [](std::string target, std::string state) {
    return testing::Labels{{"process", "web"}, {"target", target}, {"state", state}};
  };
  const testing::Labels pg = {{"process", "postgres:main"}};
  const Metrics expected = {
      {SeriesKey("pgconn_process_instances", {{"process", "web"}}), 2},
      {SeriesKey("pgconn_process_open_fds", {{"process", "web"}}), 17},
      {SeriesKey("pgconn_process_max_fds", {{"process", "web"}}), 256},
      {SeriesKey("pgconn_process_fd_utilization_ratio", {{"process", "web"}}), 6.0 / 256},
      {SeriesKey("pgconn_process_instances", pg), 4},
      {SeriesKey("pgconn_process_open_fds", pg), 16},
      {SeriesKey("pgconn_process_max_fds", pg), 1024},
      {SeriesKey("pgconn_process_fd_utilization_ratio", pg), 5.0 / 1024},
      {SeriesKey("pgconn_process_database_sockets", web("main", "established")), 5},
      {SeriesKey("pgconn_process_database_sockets", web("main", "close_wait")), 1},
      {SeriesKey("pgconn_process_database_sockets", web("main", "syn_sent")), 0},
      {SeriesKey("pgconn_process_database_sockets", web("reporting", "established")), 0},
      {SeriesKey("pgconn_process_database_sockets", web("reporting", "close_wait")), 0},
      {SeriesKey("pgconn_process_database_sockets", web("reporting", "syn_sent")), 1},
      {SeriesKey("pgconn_host_open_files"), 5344},
      {SeriesKey("pgconn_host_max_files"), 1000000},
      {SeriesKey("pgconn_host_ephemeral_ports"), 28232},
      {SeriesKey("pgconn_host_ephemeral_ports_used", {{"target", "main"}}), 7},
      {SeriesKey("pgconn_host_ephemeral_ports_used", {{"target", "reporting"}}), 1},
      {SeriesKey("pgconn_postgres_backend_processes", {{"target", "main"}}), 3},
      // 1000 x (100 + 3 + 1 + 8 + 10) / 1000000
      {SeriesKey("pgconn_postgres_fd_budget_ratio", {{"target", "main"}}), 0.122},
      {SeriesKey("pgconn_process_scrape_errors_total", {{"process", "web"}, {"reason", "error"}}),
       0},
      {SeriesKey("pgconn_process_scrape_errors_total",
                 {{"process", "web"}, {"reason", "permission"}}),
       0},
      {SeriesKey("pgconn_process_scrape_errors_total",
                 {{"process", "web"}, {"reason", "malformed"}}),
       0},
      {SeriesKey("pgconn_process_scrape_errors_total",
                 {{"process", "postgres:main"}, {"reason", "error"}}),
       0},
      {SeriesKey("pgconn_process_scrape_errors_total",
                 {{"process", "postgres:main"}, {"reason", "permission"}}),
       0},
      {SeriesKey("pgconn_process_scrape_errors_total",
                 {{"process", "postgres:main"}, {"reason", "malformed"}}),
       0},
      {SeriesKey("pgconn_process_scan_duration_seconds"), 0.25},
  };
  const std::string text = RenderText(MapProcessScan(scan, errors));
  EXPECT_EQ(DiffMetrics(expected, ParseMetrics(text), true), "") << text;
  const auto promtool = testing::PromtoolCheckMetrics(text);
  EXPECT_TRUE(promtool.ok) << promtool.output;
}

GroupScan Group(std::string name, std::vector<MemberFds> members) {
  GroupScan group;
  group.name = std::move(name);
  group.members = std::move(members);
  return group;
}

MemberFds Member(int64_t pid, std::optional<int64_t> open, std::optional<int64_t> soft,
                 bool limit_known = true) {
  MemberFds member;
  member.pid = pid;
  member.open_fds = open;
  if (limit_known) member.limit = OpenFilesLimit{soft, soft};
  return member;
}

TEST(ProcessMetricsTest, WorstMemberRatherThanTheSumDecidesUtilization) {
  ProcessScan scan;
  scan.groups = {Group("app", {Member(1, 10, 1000), Member(2, 90, 100), Member(3, 5, 65536)})};
  const Metrics m = Map(scan, ScrapeErrorCounter({}));
  EXPECT_EQ(testing::Value(m, "pgconn_process_open_fds", {{"process", "app"}}), 105);
  EXPECT_EQ(testing::Value(m, "pgconn_process_max_fds", {{"process", "app"}}), 100);
  EXPECT_EQ(testing::Value(m, "pgconn_process_fd_utilization_ratio", {{"process", "app"}}), 0.9);
}

TEST(ProcessMetricsTest, UnreadableMembersLeaveSumsOutInsteadOfUndercounting) {
  ProcessScan scan;
  scan.sockets.emplace();  // readable, and empty
  scan.targets = {{"main", {{*ParseIpAddress("127.0.0.1"), 5432}}}};
  scan.groups = {Group("denied", {Member(1, 10, 1000), Member(2, std::nullopt, 1024)}),
                 Group("nolimits", {Member(3, 7, std::nullopt, false)}),
                 Group("unlimited", {Member(4, 7, std::nullopt)}), Group("empty", {}),
                 Group("countonly", {Member(5, 7, 100)})};
  scan.groups.back().members[0].sockets_known = false;  // CAP_DAC_READ_SEARCH only
  const Metrics m = Map(scan, ScrapeErrorCounter({}));
  auto value = [&](const char* name, const char* process) {
    return testing::Value(m, name, {{"process", process}});
  };
  EXPECT_EQ(value("pgconn_process_instances", "denied"), 2);
  EXPECT_FALSE(value("pgconn_process_open_fds", "denied"));
  EXPECT_EQ(value("pgconn_process_max_fds", "denied"), 1000);  // limits are world-readable
  EXPECT_FALSE(value("pgconn_process_fd_utilization_ratio", "denied"));
  EXPECT_TRUE(
      testing::Select(m, "pgconn_process_database_sockets", {{"process", "denied"}}).empty());
  EXPECT_EQ(value("pgconn_process_open_fds", "nolimits"), 7);
  EXPECT_FALSE(value("pgconn_process_max_fds", "nolimits"));
  EXPECT_FALSE(value("pgconn_process_fd_utilization_ratio", "nolimits"));
  EXPECT_FALSE(value("pgconn_process_max_fds", "unlimited"));
  EXPECT_EQ(value("pgconn_process_fd_utilization_ratio", "unlimited"), 0);
  EXPECT_EQ(value("pgconn_process_open_fds", "countonly"), 7);
  EXPECT_EQ(value("pgconn_process_fd_utilization_ratio", "countonly"), 0.07);
  EXPECT_TRUE(
      testing::Select(m, "pgconn_process_database_sockets", {{"process", "countonly"}}).empty());
  EXPECT_EQ(value("pgconn_process_instances", "empty"), 0);
  EXPECT_EQ(value("pgconn_process_open_fds", "empty"), 0);
  EXPECT_FALSE(value("pgconn_process_fd_utilization_ratio", "empty"));
}

TEST(ProcessMetricsTest, UnknownHostFilesAndSocketsAreLeftOut) {
  ProcessScan scan;
  scan.targets = {{"main", {{*ParseIpAddress("127.0.0.1"), 5432}}}};
  scan.groups = {Group("app", {Member(1, 10, 1000)})};
  const Metrics m = Map(scan, ScrapeErrorCounter({}));
  for (const char* name :
       {"pgconn_host_open_files", "pgconn_host_max_files", "pgconn_host_ephemeral_ports",
        "pgconn_host_ephemeral_ports_used", "pgconn_process_database_sockets"}) {
    EXPECT_TRUE(testing::Select(m, name).empty()) << name;
  }
  scan.host.file_nr = FileNr{100, 0, 5000};  // file-max unreadable: file-nr's third field
  EXPECT_EQ(testing::Value(Map(scan, ScrapeErrorCounter({})), "pgconn_host_max_files"), 5000);
}

TEST(ProcessMetricsTest, BudgetNeedsSettingsAndAPostmaster) {
  ProcessScan scan;
  scan.host.file_max = 100000;
  GroupScan server = Group("postgres:main", {Member(10, 5, 1024), Member(11, 4, 1024)});
  server.client = false;
  server.server_of = "main";
  server.postmaster_found = true;
  scan.groups = {server};
  Metrics m = Map(scan, ScrapeErrorCounter({}));
  EXPECT_EQ(testing::Value(m, "pgconn_postgres_backend_processes", {{"target", "main"}}), 1);
  EXPECT_FALSE(testing::Value(m, "pgconn_postgres_fd_budget_ratio", {{"target", "main"}}));
  scan.settings["main"] = FixtureSettings();
  m = Map(scan, ScrapeErrorCounter({}));
  EXPECT_DOUBLE_EQ(
      testing::Value(m, "pgconn_postgres_fd_budget_ratio", {{"target", "main"}}).value(), 1.22);
  EXPECT_EQ(PostgresBackendSlots(FixtureSettings()), 122);
  scan.groups[0].postmaster_found = false;
  m = Map(scan, ScrapeErrorCounter({}));
  EXPECT_FALSE(testing::Value(m, "pgconn_postgres_backend_processes", {{"target", "main"}}));
}

TEST(ProcessMetricsTest, MaxBackendsOn18FollowsAutovacuumWorkerSlots) {
  ServerSettings settings = FixtureSettings();
  settings.autovacuum_worker_slots = 16;  // 18's default; autovacuum_max_workers stays 3
  // 100 + 16 + 2 special workers (autovacuum launcher, slot sync) + 8 + 10.
  EXPECT_EQ(PostgresBackendSlots(settings), 136);
}

TEST(ScrapeErrorCounterTest, CountsScansPerGroupAndReasonAndTellsEachOnce) {
  ScrapeErrorCounter counter({"web"});
  EXPECT_EQ(counter.counts().at("web").at("permission"), 0u);
  const std::vector<ScanProblem> scan = {{"web", ReadStatus::kPermission, "/proc/7/fd"},
                                         {"web", ReadStatus::kPermission, "/proc/8/fd"},
                                         {"web", ReadStatus::kMalformed, "/proc/7/limits"},
                                         {"", ReadStatus::kMalformed, "/proc/net/tcp"}};
  const auto first = counter.Add(scan);
  ASSERT_EQ(first.size(), 3u);  // web/permission once, web/malformed, the host file
  EXPECT_EQ(first[0].path, "/proc/7/fd");
  EXPECT_EQ(counter.counts().at("web").at("permission"), 1u);  // one scan, one count
  EXPECT_EQ(counter.counts().at("web").at("malformed"), 1u);
  EXPECT_EQ(counter.counts().count(""), 0u);  // host files are not a process's errors
  EXPECT_TRUE(counter.Add(scan).empty());     // logged once, not every scan
  EXPECT_EQ(counter.counts().at("web").at("permission"), 2u);
  const auto later = counter.Add({{"postgres:main", ReadStatus::kPermission, "/x/postmaster.pid"}});
  ASSERT_EQ(later.size(), 1u);
  EXPECT_EQ(counter.counts().at("postgres:main").at("permission"), 1u);
  EXPECT_EQ(counter.counts().at("postgres:main").at("malformed"), 0u);
}

}  // namespace
}  // namespace pgconn
