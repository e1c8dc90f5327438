// Reload without restart (SIGHUP, POST /-/reload), the exit-code contract of every mode, and
// --check-config without secrets, against the real binary and a real PostgreSQL.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "support/scenario.h"

namespace pgconn::testing {
namespace {

// The exporter's session to one database: who it is and since when. Two equal values mean the
// very same session survived.
using Session = std::pair<std::string, std::string>;  // pid, backend_start

std::optional<Session> ExporterSession(const TestPostgres& pg, const std::string& database) {
  const Rows rows = pg.SuperuserSql(
      "SELECT pid::text, backend_start::text FROM pg_stat_activity WHERE application_name = "
      "'pgconn_exporter' AND backend_type = 'client backend' AND datname = '" +
      database + "'");
  if (rows.size() != 1 || !rows[0][0] || !rows[0][1]) return std::nullopt;
  return Session{*rows[0][0], *rows[0][1]};
}

bool NoExporterSession(const TestPostgres& pg, const std::string& database) {
  return pg
      .SuperuserSql(
          "SELECT 1 FROM pg_stat_activity WHERE application_name = 'pgconn_exporter' AND "
          "datname = '" +
          database + "'")
      .empty();
}

// "main" polls the postgres database, "app" the appdb database: one session each.
std::string AppTarget(const TestPostgres& pg, const std::string& extra = "") {
  return TargetToml("app", pg.Dsn(kExporterRole, kAppDatabase), extra);
}

std::string WebPool(int size) {
  return "\n[[pool]]\nname = \"web\"\ntarget = \"main\"\napplication_name = \"web-*\"\nsize = " +
         std::to_string(size) + "\n";
}

double ReloadOk(const Metrics& m) {
  return Value(m, "pgconn_config_last_reload_successful").value_or(-1);
}
double ReloadTime(const Metrics& m) {
  return Value(m, "pgconn_config_last_reload_success_timestamp_seconds").value_or(-1);
}

// Rewrites the config in place and sends SIGHUP.
void ReloadWith(const ExporterProcess& exporter, const std::string& toml) {
  WriteFile(exporter.ConfigPath(), toml);
  ASSERT_EQ(kill(exporter.pid(), SIGHUP), 0);
}

// The reload timestamp has whole-second granularity at worst; wait so a new one is larger.
void WaitPastSecond() { std::this_thread::sleep_for(1100ms); }

// POST via curl (the test client speaks GET only); returns the status code.
int Post(const ExporterProcess& exporter, const std::string& path) {
  const ProcessResult r =
      RunProcess({"curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-X", "POST",
                  "http://127.0.0.1:" + std::to_string(exporter.port()) + path});
  return r.exit_code == 0 ? std::stoi(r.out) : -1;
}

TEST(ReloadTest, SighupAddsATargetKeepsTheOthersAndRemovesOne) {
  TestPostgres pg;
  ExporterProcess exporter(MainConfig(pg));
  Metrics m;
  ASSERT_TRUE(exporter.ScrapeUntil([](const Metrics& s) { return IsUp(s); }, 10s, &m));
  EXPECT_EQ(ReloadOk(m), 1.0) << Dump(m);
  const double started = ReloadTime(m);
  EXPECT_GT(started, 1e9);
  const auto main_session = ExporterSession(pg, "postgres");
  ASSERT_TRUE(main_session);

  // Added: "app" starts; "main" keeps its session.
  WaitPastSecond();
  ReloadWith(exporter, MainConfig(pg) + AppTarget(pg));
  ASSERT_TRUE(exporter.ScrapeUntil(
      [](const Metrics& s) { return IsUp(s, "app") && IsUp(s, "main"); }, 10s, &m))
      << Dump(m) << Tail(exporter.Log());
  EXPECT_EQ(ReloadOk(m), 1.0);
  EXPECT_GT(ReloadTime(m), started);
  EXPECT_EQ(ExporterSession(pg, "postgres"), main_session) << "main was reconnected";
  const auto app_session = ExporterSession(pg, kAppDatabase);
  ASSERT_TRUE(app_session);

  // Removed: "main" closes its session and its series leave /metrics; "app" is untouched.
  ReloadWith(exporter, ExporterToml() + AppTarget(pg));
  ASSERT_TRUE(exporter.ScrapeUntil(
      [](const Metrics& s) { return !Value(s, "pgconn_up", Main()).has_value(); }, 10s, &m))
      << Dump(m) << Tail(exporter.Log());
  const std::string text = exporter.ScrapeText();
  const size_t left = text.find("target=\"main\"");
  EXPECT_EQ(left, std::string::npos)
      << "a series of main is left: " << text.substr(text.rfind('\n', left) + 1, 200)
      << Tail(exporter.Log());
  EXPECT_EQ(exporter.Get("/probe?target=main").status, 404);
  EXPECT_TRUE(WaitFor([&] { return NoExporterSession(pg, "postgres"); }, 5s))
      << "main's session outlived its removal";
  EXPECT_EQ(ExporterSession(pg, kAppDatabase), app_session) << "app was reconnected";
  EXPECT_EQ(ReloadOk(exporter.Scrape()), 1.0);

  // Changed connection settings: the target restarts with a new session.
  ReloadWith(exporter, ExporterToml() + AppTarget(pg, "connect_timeout = \"4s\"\n"));
  EXPECT_TRUE(WaitFor(
      [&] {
        const auto now = ExporterSession(pg, kAppDatabase);
        return now && now != app_session;
      },
      10s))
      << Tail(exporter.Log());
  EXPECT_TRUE(exporter.ScrapeUntil([](const Metrics& s) { return IsUp(s, "app"); }, 10s));
  EXPECT_NE(exporter.Log().find("target app restarted"), std::string::npos) << exporter.Log();
  EXPECT_EQ(exporter.Stop(), 0);
}

TEST(ReloadTest, SighupWithAChangedPoolKeepsTheSession) {
  TestPostgres pg;
  ExporterProcess exporter(MainConfig(pg) + WebPool(5));
  Metrics m;
  const Labels web = Main({{"pool", "web"}});
  ASSERT_TRUE(exporter.ScrapeUntil(
      [&](const Metrics& s) { return IsUp(s) && Value(s, "pgconn_pool_size", web) == 5.0; }, 10s,
      &m))
      << Dump(m) << Tail(exporter.Log());
  const auto session = ExporterSession(pg, "postgres");
  ASSERT_TRUE(session);

  ReloadWith(exporter, MainConfig(pg) + WebPool(9));
  ASSERT_TRUE(exporter.ScrapeUntil(
      [&](const Metrics& s) { return Value(s, "pgconn_pool_size", web) == 9.0; }, 10s, &m))
      << Dump(m) << Tail(exporter.Log());
  EXPECT_EQ(ReloadOk(m), 1.0);
  EXPECT_TRUE(IsUp(m));
  EXPECT_EQ(ExporterSession(pg, "postgres"), session) << "a pool change reconnected the target";

  // The pool removed: its series go, the target and its session stay.
  ReloadWith(exporter, MainConfig(pg));
  ASSERT_TRUE(exporter.ScrapeUntil(
      [&](const Metrics& s) { return !Value(s, "pgconn_pool_size", web).has_value(); }, 10s, &m))
      << Dump(m);
  EXPECT_EQ(exporter.ScrapeText().find("pool=\"web\""), std::string::npos);
  EXPECT_TRUE(IsUp(m));
  EXPECT_EQ(ExporterSession(pg, "postgres"), session);
  EXPECT_EQ(exporter.Stop(), 0);
}

TEST(ReloadTest, SighupWithAnInvalidFileKeepsTheRunningConfig) {
  TestPostgres pg;
  ExporterProcess exporter(MainConfig(pg));
  Metrics m;
  ASSERT_TRUE(exporter.ScrapeUntil([](const Metrics& s) { return IsUp(s); }, 10s, &m));
  const double loaded = ReloadTime(m);
  const auto session = ExporterSession(pg, "postgres");
  ASSERT_TRUE(session);

  WaitPastSecond();
  ReloadWith(exporter, "[exporter]\npoll_interval = \"500ms\"\nbogus = 1\n" +
                           TargetToml("other", pg.Dsn(kExporterRole, kAppDatabase)));
  ASSERT_TRUE(exporter.ScrapeUntil([](const Metrics& s) { return ReloadOk(s) == 0.0; }, 10s, &m))
      << Dump(m) << Tail(exporter.Log());
  EXPECT_EQ(ReloadTime(m), loaded) << "a failed reload moved the success timestamp";
  EXPECT_NE(exporter.Log().find(exporter.ConfigPath() + ":3:1: "), std::string::npos)
      << "no located error in the log:\n"
      << Tail(exporter.Log());
  // The old config keeps running: main is polled on the same session, "other" never starts.
  EXPECT_TRUE(IsUp(m));
  EXPECT_FALSE(Value(m, "pgconn_up", TargetLabels("other")).has_value());
  EXPECT_EQ(ExporterSession(pg, "postgres"), session);
  EXPECT_TRUE(NoExporterSession(pg, kAppDatabase));
  EXPECT_TRUE(exporter.Running());

  // Fixed: the next reload succeeds and the metrics say so.
  ReloadWith(exporter, MainConfig(pg));
  ASSERT_TRUE(exporter.ScrapeUntil([](const Metrics& s) { return ReloadOk(s) == 1.0; }, 10s, &m));
  EXPECT_GT(ReloadTime(m), loaded);
  EXPECT_EQ(ExporterSession(pg, "postgres"), session);
  EXPECT_EQ(exporter.Stop(), 0);
}

TEST(ReloadTest, PostReloadOnlyWithTheLifecycleFlag) {
  TestPostgres pg;
  {
    ExporterProcess exporter(MainConfig(pg));
    EXPECT_EQ(Post(exporter, "/-/reload"), 403);
    EXPECT_EQ(exporter.Get("/-/reload").status, 405);
    WriteFile(exporter.ConfigPath(), MainConfig(pg) + AppTarget(pg));
    EXPECT_EQ(Post(exporter, "/-/reload"), 403);
    std::this_thread::sleep_for(1500ms);
    EXPECT_FALSE(Value(exporter.Scrape(), "pgconn_up", TargetLabels("app")).has_value())
        << "reloaded without --web.enable-lifecycle";
    EXPECT_EQ(exporter.Stop(), 0);
  }
  ExporterProcess exporter(MainConfig(pg), ExporterOptions{{}, {"--web.enable-lifecycle"}, 10s});
  ASSERT_TRUE(exporter.ScrapeUntil([](const Metrics& s) { return IsUp(s); }, 10s));
  const auto session = ExporterSession(pg, "postgres");
  EXPECT_EQ(exporter.Get("/-/reload").status, 405);
  WriteFile(exporter.ConfigPath(), MainConfig(pg) + AppTarget(pg));
  EXPECT_EQ(Post(exporter, "/-/reload"), 200);
  Metrics m;
  EXPECT_TRUE(exporter.ScrapeUntil([](const Metrics& s) { return IsUp(s, "app"); }, 10s, &m))
      << Dump(m);
  EXPECT_EQ(ExporterSession(pg, "postgres"), session);
  WriteFile(exporter.ConfigPath(), "[exporter]\nbogus = 1\n");
  EXPECT_EQ(Post(exporter, "/-/reload"), 500);
  EXPECT_EQ(ReloadOk(exporter.Scrape()), 0.0);
  EXPECT_EQ(exporter.Stop(), 0);
}

TEST(ReloadTest, ExitCodesAreTheSameInEveryMode) {
  TestPostgres pg;
  TempDir dir("pgconn-exit-");
  const std::string good = dir.File("good.toml");
  const std::string bad = dir.File("bad.toml");
  const std::string dead = dir.File("dead.toml");
  WriteFile(good, MainConfig(pg));
  WriteFile(bad, "[exporter]\nbogus = 1\n" + TargetToml("main", pg.Dsn()));
  WriteFile(dead, MainConfig(pg) + TargetToml("dead", DeadDsn()));
  const std::string port = "127.0.0.1:" + std::to_string(PickFreePort());

  // 0: ok.
  EXPECT_EQ(RunExporter({"--config.file", good, "--check-config"}).exit_code, 0);
  EXPECT_EQ(RunExporter({"--config.file", good, "--once"}).exit_code, 0);
  EXPECT_EQ(RunExporter({"--help"}).exit_code, 0);
  // 2: usage or configuration, in every mode.
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"--config.file", bad, "--check-config"},
           {"--config.file", bad, "--once"},
           {"--config.file", bad, "--web.listen-address", port},
           {"plan", "--config.file", bad},
           {"--config.file", good, "--web.listen-address", "not-an-address"},
           {"--config.file", good, "--web.listen-address=[::1]:1", "--check-config"},
           {"--config.file", good, "--web.telemetry-path", "metrics", "--once"},
           {"--config.file", good, "--log.level", "loud"},
           {"plan", "--config.file", good, "--format", "yaml"},
           {"--no-such-flag"},
       }) {
    const ProcessResult r = RunExporter(args, {}, 20s);
    std::string shown;
    for (const auto& a : args) shown += a + " ";
    EXPECT_EQ(r.exit_code, 2) << shown << "\n" << r.err;
    EXPECT_FALSE(r.err.empty()) << shown;
  }
  // 3: a target could not be polled.
  EXPECT_EQ(RunExporter({"--config.file", dead, "--once"}).exit_code, 3);
  EXPECT_EQ(RunExporter({"plan", "--config.file", dead}).exit_code, 3);
  // 1: a runtime failure: the port is taken.
  ExporterProcess holder(MainConfig(pg));
  const ProcessResult busy = RunExporter(
      {"--config.file", good, "--web.listen-address", "127.0.0.1:" + std::to_string(holder.port())},
      {}, 20s);
  EXPECT_EQ(busy.exit_code, 1) << busy.err;
  EXPECT_NE(busy.err.find("cannot listen"), std::string::npos) << busy.err;
  // The flags Prometheus exporters are given, in both spellings.
  const ProcessResult flags =
      RunExporter({"--config.file=" + good, "--log.level=debug", "--log.format", "json",
                   "--web.telemetry-path=/m", "--once"});
  EXPECT_EQ(flags.exit_code, 0) << flags.err;
  EXPECT_NE(flags.err.find("\"level\":\"debug\""), std::string::npos) << flags.err;
}

TEST(ReloadTest, NoConfigFileSaysHowToStart) {
  if (access("/etc/pgconn_exporter/pgconn_exporter.toml", F_OK) == 0) {
    GTEST_SKIP() << "this machine has the default config file";
  }
  const ProcessResult r = RunExporter({}, {}, 20s);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--config.file=PATH"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("config/example.toml"), std::string::npos) << r.err;
}

TEST(ReloadTest, CheckConfigOfTheExampleNeedsNoSecrets) {
  const std::string example = std::string(PGCONN_SOURCE_DIR) + "/config/example.toml";
  // An empty environment: no password variable can be set.
  const ProcessResult check =
      RunProcess({"env", "-i", ExporterBinary(), "--config.file", example, "--check-config"});
  EXPECT_EQ(check.exit_code, 0) << check.err;
  EXPECT_NE(check.out.find(": ok"), std::string::npos) << check.out;
  EXPECT_NE(check.err.find("warning: " + example + ":"), std::string::npos) << check.err;
  EXPECT_NE(check.err.find("is not set"), std::string::npos) << check.err;
  // Starting for real still needs the secret: a configuration error, before binding.
  const ProcessResult serve =
      RunProcess({"env", "-i", ExporterBinary(), "--config.file", example, "--web.listen-address",
                  "127.0.0.1:" + std::to_string(PickFreePort())},
                 "", 20s);
  EXPECT_FALSE(serve.timed_out);
  EXPECT_EQ(serve.exit_code, 2) << serve.err;
  EXPECT_NE(serve.err.find("is not set"), std::string::npos) << serve.err;
}

}  // namespace
}  // namespace pgconn::testing
