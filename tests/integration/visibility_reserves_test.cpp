// Visibility of other roles' sessions, provider reserve settings (RDS and operator-named),
// /probe with the /proc fallbacks, and a lint of the real exposition with every family present.
// Runs against whichever server binaries the harness uses (PGCONN_PG_BINDIR, 12 to 18).
#include <gtest/gtest.h>
#include <unistd.h>

#include <set>
#include <string>
#include <vector>

#include "support/scenario.h"

namespace pgconn::testing {
namespace {

constexpr const char* kVisibility = "pgconn_target_visibility_complete";
constexpr const char* kRds = "rds.rds_superuser_reserved_connections";
constexpr const char* kVisibilityWarning = "visibility incomplete";

size_t Count(const std::string& text, const std::string& needle) {
  size_t count = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) {
    ++count;
  }
  return count;
}

Labels Provider(const std::string& setting) {
  return Main({{"kind", "provider"}, {"setting", setting}});
}

// Waits until the last successful poll is 1.5 s newer than in `m` (several 500 ms polls).
void WaitForMorePolls(const ExporterProcess& exporter, Metrics& m) {
  const double since = Value(m, "pgconn_last_poll_success_timestamp_seconds", Main()).value_or(0);
  ASSERT_TRUE(exporter.ScrapeUntil(
      [&](const Metrics& s) {
        return Value(s, "pgconn_last_poll_success_timestamp_seconds", Main()).value_or(0) >
               since + 1.5;
      },
      15s, &m));
}

TEST(VisibilityTest, ARoleWithoutPgMonitorIsReportedIncompleteWithOneWarning) {
  TestPostgres pg;
  pg.SuperuserSql(std::string("CREATE ROLE pgconn_blind LOGIN PASSWORD '") + kExporterPassword +
                  "'");
  ExporterProcess exporter(ExporterToml() + TargetToml("main", pg.Dsn("pgconn_blind")));
  Metrics m;
  ASSERT_TRUE(exporter.ScrapeUntil(
      [](const Metrics& s) { return IsUp(s) && Value(s, kVisibility, Main()).has_value(); }, 10s,
      &m))
      << Dump(m) << Tail(exporter.Log());
  WaitForMorePolls(exporter, m);  // a warning repeated on every poll would show
  EXPECT_EQ(Value(m, kVisibility, Main()), 0.0) << Dump(m);
  EXPECT_EQ(Value(m, "pgconn_collector_success", Main({{"collector", "visibility"}})), 1.0);
  EXPECT_EQ(Count(exporter.Log(), kVisibilityWarning), 1u) << exporter.Log();
  const HttpResponse page = exporter.Get("/");
  EXPECT_NE(page.body.find(">incomplete</span>"), std::string::npos) << page.body;
}

TEST(VisibilityTest, RevokingPgMonitorAtRunTimeFlipsItToZeroWithinAPollOrTwo) {
  TestPostgres pg;
  ExporterProcess exporter(MainConfig(pg, "1s"));
  Metrics m;
  ASSERT_TRUE(exporter.ScrapeUntil(
      [](const Metrics& s) { return Value(s, kVisibility, Main()) == 1.0; }, 10s, &m))
      << Dump(m) << Tail(exporter.Log());
  EXPECT_EQ(Count(exporter.Log(), kVisibilityWarning), 0u) << exporter.Log();

  pg.SuperuserSql("REVOKE pg_monitor FROM pgconn_exporter");
  const auto revoked = std::chrono::steady_clock::now();
  // Two 1 s polls plus a generous margin for a loaded machine.
  ASSERT_TRUE(exporter.ScrapeUntil(
      [](const Metrics& s) { return Value(s, kVisibility, Main()) == 0.0; }, 10s, &m))
      << Dump(m) << Tail(exporter.Log());
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - revoked).count();
  std::cout << "[ measured ] visibility flipped to 0 " << seconds << " s after the REVOKE\n";
  EXPECT_EQ(Value(m, "pgconn_up", Main()), 1.0);
  ASSERT_TRUE(WaitFor([&] { return Count(exporter.Log(), kVisibilityWarning) == 1; }, 5s))
      << exporter.Log();

  pg.SuperuserSql("GRANT pg_monitor TO pgconn_exporter");
  ASSERT_TRUE(exporter.ScrapeUntil(
      [](const Metrics& s) { return Value(s, kVisibility, Main()) == 1.0; }, 10s, &m))
      << Dump(m);
  EXPECT_NE(exporter.Log().find("visibility complete again"), std::string::npos);
}

// max_connections 20 - superuser_reserved_connections 3 - rds 2 = 15; acme.reserved 4 more.
PostgresOptions ManagedLikeServer() {
  return PostgresOptions{20, 3, {std::string(kRds) + " = 2", "acme.reserved = 4"}};
}

TEST(ReservedSettingsTest, RdsReserveIsReadAndSubtractedAndPlanPrintsIt) {
  TestPostgres pg(ManagedLikeServer());
  ASSERT_EQ(pg.SuperuserScalar(std::string("SHOW ") + kRds), "2");
  // reserved_connections (16+) defaults to 0, so usable is 15 on every version.
  ExporterProcess exporter(MainConfig(pg));
  Metrics m;
  ASSERT_TRUE(exporter.ScrapeUntil([](const Metrics& s) { return IsUp(s); }, 10s, &m))
      << Dump(m) << Tail(exporter.Log());
  EXPECT_EQ(Value(m, "pgconn_usable_connections", Main()), 15.0) << Dump(m);
  EXPECT_EQ(Value(m, "pgconn_reserved_connections", Provider(kRds)), 2.0) << Dump(m);
  EXPECT_EQ(Value(m, "pgconn_reserved_connections", Main({{"kind", "superuser"}})), 3.0);
  // Not named by the target: acme.reserved does not count.
  EXPECT_FALSE(Value(m, "pgconn_reserved_connections", Provider("acme.reserved")));
  const PromtoolResult lint = PromtoolCheckMetrics(exporter.ScrapeText());
  EXPECT_TRUE(lint.ok && lint.output.empty()) << lint.output;

  TempDir dir("pgconn-reserve-plan-");
  WriteFile(dir.File("plan.toml"), MainConfig(pg));
  const ProcessResult plan = RunExporter({"plan", "--config.file", dir.File("plan.toml")});
  EXPECT_NE(plan.out.find(std::string("  - ") + kRds), std::string::npos) << plan.out << plan.err;
  EXPECT_NE(plan.out.find("= usable by ordinary roles              15"), std::string::npos)
      << plan.out;
  const ProcessResult json =
      RunExporter({"plan", "--config.file", dir.File("plan.toml"), "--format=json"});
  EXPECT_NE(json.out.find(std::string("\"provider_reserved_connections\":{\"") + kRds + "\":2}"),
            std::string::npos)
      << json.out;
}

TEST(ReservedSettingsTest, OperatorNamedSettingsReserveMoreAndUnknownOnesAreReportedOnce) {
  TestPostgres pg(ManagedLikeServer());
  ExporterProcess exporter(
      MainConfig(pg, "500ms", "reserved_settings = [\"acme.reserved\", \"acme.missing\"]\n"));
  Metrics m;
  ASSERT_TRUE(exporter.ScrapeUntil([](const Metrics& s) { return IsUp(s); }, 10s, &m))
      << Dump(m) << Tail(exporter.Log());
  EXPECT_EQ(Value(m, "pgconn_usable_connections", Main()), 11.0) << Dump(m);
  EXPECT_EQ(Value(m, "pgconn_reserved_connections", Provider("acme.reserved")), 4.0);
  EXPECT_EQ(Value(m, "pgconn_reserved_connections", Provider(kRds)), 2.0);
  EXPECT_FALSE(Value(m, "pgconn_reserved_connections", Provider("acme.missing")));
  WaitForMorePolls(exporter, m);  // the unknown name is still reported once
  EXPECT_EQ(Count(exporter.Log(), "\"acme.missing\" is not a setting"), 1u) << exporter.Log();
  EXPECT_EQ(Count(exporter.Log(), "acme.reserved\" is not"), 0u) << exporter.Log();
}

TEST(ProbeTest, ProbeCarriesTheTargetsProcFallbacks) {
  TestPostgres pg;
  ExporterProcess exporter(MainConfig(pg));
  Metrics m;
  ASSERT_TRUE(exporter.ScrapeUntil(
      [](const Metrics& s) {
        return IsUp(s) && Value(s, "pgconn_postgres_backend_processes", Main()) &&
               Value(s, "pgconn_postgres_fd_budget_ratio", Main());
      },
      20s, &m))
      << Dump(m) << Tail(exporter.Log());
  const HttpResponse probe = exporter.Get("/probe?target=main");
  ASSERT_EQ(probe.status, 200);
  const Metrics probed = ParseMetrics(probe.body);
  EXPECT_TRUE(Value(probed, "pgconn_postgres_backend_processes", Main())) << probe.body;
  EXPECT_TRUE(Value(probed, "pgconn_postgres_fd_budget_ratio", Main())) << probe.body;
  EXPECT_TRUE(Value(probed, "pgconn_host_ephemeral_ports_used", Main())) << probe.body;
  for (const Sample& sample : ParseSamples(probe.body)) {
    const auto label = sample.labels.find("target");
    ASSERT_TRUE(label != sample.labels.end() && label->second == "main") << sample.name;
  }
  const PromtoolResult lint = PromtoolCheckMetrics(probe.body);
  EXPECT_TRUE(lint.ok && lint.output.empty()) << lint.output;
}

// Every family the exporter knows, from a run with pools, processes and every optional
// family present (the RDS reserve, per-database and per-role limits, sockets...).
const std::vector<std::string>& AllFamilies() {
  static const std::vector<std::string> kFamilies = {
      "pgconn_available_connections",
      "pgconn_backends",
      "pgconn_capacity_planned_connections",
      "pgconn_capacity_planned_headroom_connections",
      "pgconn_client_connections",
      "pgconn_client_connections_by_state",
      "pgconn_collector_duration_seconds",
      "pgconn_collector_success",
      "pgconn_connections",
      "pgconn_database_connection_limit",
      "pgconn_database_connections",
      "pgconn_exporter_build_info",
      "pgconn_host_ephemeral_ports",
      "pgconn_host_ephemeral_ports_used",
      "pgconn_host_max_files",
      "pgconn_host_open_files",
      "pgconn_last_poll_success_timestamp_seconds",
      "pgconn_lock_waiting_connections",
      "pgconn_longest_query_seconds",
      "pgconn_max_connections",
      "pgconn_oldest_idle_in_transaction_seconds",
      "pgconn_oldest_transaction_seconds",
      "pgconn_poll_duration_seconds",
      "pgconn_poll_errors_total",
      "pgconn_pool_busy_ratio",
      "pgconn_pool_connections",
      "pgconn_pool_instances",
      "pgconn_pool_instances_expected",
      "pgconn_pool_instances_fit",
      "pgconn_pool_open_ratio",
      "pgconn_pool_saturated",
      "pgconn_pool_size",
      "pgconn_postgres_backend_processes",
      "pgconn_postgres_fd_budget_ratio",
      "pgconn_process_database_sockets",
      "pgconn_process_fd_utilization_ratio",
      "pgconn_process_instances",
      "pgconn_process_max_fds",
      "pgconn_process_open_fds",
      "pgconn_process_scan_duration_seconds",
      "pgconn_process_scrape_errors_total",
      "pgconn_reserved_connections",
      "pgconn_role_connection_limit",
      "pgconn_role_connections",
      "pgconn_target_visibility_complete",
      "pgconn_up",
      "pgconn_usable_connections",
      "pgconn_utilization_ratio",
  };
  return kFamilies;
}

TEST(PromtoolTest, RealExpositionWithEveryFamilyPassesPromtoolWithNoFinding) {
  TestPostgres pg(ManagedLikeServer());
  TempDir dir("pgconn-all-families-");
  WriteFile(dir.File("test.pid"), std::to_string(getpid()) + "\n");
  const std::string pools =
      "reserve = \"2\"\n"
      "\n[[pool]]\nname = \"web\"\ntarget = \"main\"\napplication_name = \"web-*\"\n"
      "size = 3\ninstances = 2\ninstance_by = \"application_name\"\n";
  const std::string process =
      "\n[[process]]\nname = \"tests\"\npid_file = \"" + dir.File("test.pid") + "\"\n";
  ExporterProcess exporter(MainConfig(pg, "500ms", pools) + process);
  ClientPool clients(pg.port());
  clients.Open({kAppRoleA, kAppPassword, kAppDatabase, "web-1"}, SessionState::kIdle);
  clients.Open({kAppRoleA, kAppPassword, kAppDatabase, "web-2"}, SessionState::kIdleInTransaction);
  std::string text;
  ASSERT_TRUE(exporter.ScrapeUntil(
      [&](const Metrics& s) {
        return Value(s, "pgconn_postgres_fd_budget_ratio", Main()) &&
               Sum(s, "pgconn_pool_connections") >= 2 &&
               Sum(s, "pgconn_process_database_sockets") >= 2;
      },
      20s))
      << Tail(exporter.Log());
  text = exporter.ScrapeText();
  const auto types = MetricTypes(text);
  for (const auto& family : AllFamilies()) {
    EXPECT_EQ(types.count(family), 1u) << "missing family " << family;
  }
  const PromtoolResult lint = PromtoolCheckMetrics(text);
  EXPECT_TRUE(lint.ok) << lint.output;
  EXPECT_EQ(lint.output, "") << Tail(text, 3000);
}

}  // namespace
}  // namespace pgconn::testing
