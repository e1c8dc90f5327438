// The HTTP and command-line contract: exposition validity, endpoints, --once, --check-config,
// signals, log formats, and that the password never leaks.
#include <gtest/gtest.h>
#include <signal.h>

#include <cctype>
#include <regex>
#include <set>
#include <sstream>

#include "support/scenario.h"

namespace pgconn::testing {
namespace {

// Minimal strict JSON syntax check (RFC 8259 values), enough to say "one object per line".
class JsonChecker {
 public:
  explicit JsonChecker(const std::string& text) : s_(text) {}
  // true when the whole text is exactly one JSON object; keys get the top-level keys.
  bool IsObject(std::set<std::string>* keys) {
    Ws();
    if (Peek() != '{') return false;
    top_keys_ = keys;
    if (!Value(0)) return false;
    Ws();
    return i_ == s_.size();
  }

 private:
  char Peek() const { return i_ < s_.size() ? s_[i_] : '\0'; }
  void Ws() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\n' || s_[i_] == '\r'))
      ++i_;
  }
  bool Lit(const char* word) {
    const std::string w(word);
    if (s_.compare(i_, w.size(), w) != 0) return false;
    i_ += w.size();
    return true;
  }
  bool String(std::string* out) {
    if (Peek() != '"') return false;
    ++i_;
    while (i_ < s_.size()) {
      const char c = s_[i_++];
      if (c == '"') return true;
      if (static_cast<unsigned char>(c) < 0x20) return false;
      if (c == '\\') {
        const char e = Peek();
        ++i_;
        if (e == 'u') {
          for (int k = 0; k < 4; ++k, ++i_) {
            if (std::isxdigit(static_cast<unsigned char>(Peek())) == 0) return false;
          }
        } else if (std::string("\"\\/bfnrt").find(e) == std::string::npos || e == '\0') {
          return false;
        }
        if (out != nullptr) *out += '?';
      } else if (out != nullptr) {
        *out += c;
      }
    }
    return false;
  }
  bool Number() {
    const std::size_t start = i_;
    if (Peek() == '-') ++i_;
    while (std::isdigit(static_cast<unsigned char>(Peek())) != 0 || Peek() == '.' ||
           Peek() == 'e' || Peek() == 'E' || Peek() == '+' || Peek() == '-') {
      ++i_;
    }
    return i_ > start;
  }
  bool Value(int depth) {
    if (depth > 32) return false;
    Ws();
    const char c = Peek();
    if (c == '{') {
      ++i_;
      Ws();
      if (Peek() == '}') return ++i_, true;
      while (true) {
        Ws();
        std::string key;
        if (!String(&key)) return false;
        if (depth == 0 && top_keys_ != nullptr) top_keys_->insert(key);
        Ws();
        if (Peek() != ':') return false;
        ++i_;
        if (!Value(depth + 1)) return false;
        Ws();
        if (Peek() == ',') {
          ++i_;
          continue;
        }
        if (Peek() == '}') return ++i_, true;
        return false;
      }
    }
    if (c == '[') {
      ++i_;
      Ws();
      if (Peek() == ']') return ++i_, true;
      while (true) {
        if (!Value(depth + 1)) return false;
        Ws();
        if (Peek() == ',') {
          ++i_;
          continue;
        }
        if (Peek() == ']') return ++i_, true;
        return false;
      }
    }
    if (c == '"') return String(nullptr);
    if (c == 't') return Lit("true");
    if (c == 'f') return Lit("false");
    if (c == 'n') return Lit("null");
    return Number();
  }

  const std::string& s_;
  std::size_t i_ = 0;
  std::set<std::string>* top_keys_ = nullptr;
};

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty()) lines.push_back(line);
  }
  return lines;
}

// Waits until main is up and `dead` (when given) has failed at least once.
Metrics WaitForSteadyState(const ExporterProcess& exporter, bool with_dead) {
  Metrics m;
  const bool ok = exporter.ScrapeUntil(
      [&](const Metrics& s) {
        return IsUp(s) && (!with_dead || Errors(s, "connect_refused", "dead") > 0);
      },
      10s, &m);
  EXPECT_TRUE(ok) << Dump(m) << Tail(exporter.Log());
  return m;
}

TEST(HttpCliTest, ServedExpositionPassesPromtoolWithUpAndDeadTargets) {
  TestPostgres pg;
  ExporterProcess exporter(MainConfig(pg) + TargetToml("dead", DeadDsn()));
  WaitForSteadyState(exporter, true);
  ClientPool clients(pg.port());
  clients.Open({kAppRoleA, kAppPassword, kAppDatabase, "web \"quoted\" \\ app"},
               SessionState::kIdle);
  Metrics m;
  ASSERT_TRUE(exporter.ScrapeUntil(
      [](const Metrics& s) { return Value(s, "pgconn_client_connections", Main()) == 2.0; }, 10s,
      &m));

  const HttpResponse r = exporter.Get("/metrics");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.Header("Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
  const PromtoolResult check = PromtoolCheckMetrics(r.body);
  EXPECT_TRUE(check.ok) << check.output << "\n" << Tail(r.body, 3000);

  // Every sampled family has HELP and TYPE; names carry our prefix or the standard ones.
  const auto types = MetricTypes(r.body);
  const std::set<std::string> standard = {
      "process_open_fds", "process_max_fds", "process_resident_memory_bytes",
      "process_cpu_seconds_total", "process_start_time_seconds"};
  // A histogram's _bucket, _sum and _count samples belong to the family without the suffix.
  auto family_of = [&types](const std::string& name) {
    for (const std::string suffix : {"_bucket", "_sum", "_count"}) {
      if (name.size() <= suffix.size()) continue;
      const std::string base = name.substr(0, name.size() - suffix.size());
      auto it = types.find(base);
      if (name.compare(base.size(), suffix.size(), suffix) == 0 && it != types.end() &&
          it->second == "histogram") {
        return base;
      }
    }
    return name;
  };
  m = ParseMetrics(r.body);
  for (const auto& sample : ParseSamples(r.body)) {
    const std::string family = family_of(sample.name);
    EXPECT_TRUE(types.count(family) == 1) << "no TYPE for " << sample.name;
    EXPECT_NE(r.body.find("# HELP " + family + " "), std::string::npos)
        << "no HELP for " << sample.name;
    EXPECT_TRUE(sample.name.rfind("pgconn_", 0) == 0 || sample.name.rfind("process_", 0) == 0)
        << sample.name;
  }
  for (const auto& name : standard) {
    EXPECT_TRUE(Value(m, name).has_value()) << name;
  }
  EXPECT_GT(Value(m, "process_open_fds").value_or(0), 0);
  EXPECT_GT(Value(m, "process_resident_memory_bytes").value_or(0), 1e5);
  const auto build = Select(m, "pgconn_exporter_build_info");
  ASSERT_EQ(build.size(), 1u);
  EXPECT_EQ(build[0].value, 1);
  ASSERT_EQ(build[0].labels.count("version"), 1u);
  EXPECT_FALSE(build[0].labels.at("version").empty());
  EXPECT_TRUE(build[0].labels.count("revision") == 1);
  // The label value with quotes and a backslash round-trips through the escaping.
  EXPECT_EQ(Value(m, "pgconn_connections",
                  Main({{"database", kAppDatabase},
                        {"user", kAppRoleA},
                        {"application", "web \"quoted\" \\ app"},
                        {"state", "idle"}})),
            1.0)
      << Dump(m);
  // All six failure reasons are present for every target, as counters.
  for (const char* target : {"main", "dead"}) {
    for (const char* reason :
         {"connect_refused", "auth", "too_many_connections", "timeout", "query_error", "other"}) {
      EXPECT_GE(Errors(m, reason, target), 0) << target << " " << reason;
    }
  }
  EXPECT_EQ(types.at("pgconn_poll_errors_total"), "counter");
  EXPECT_EQ(types.at("pgconn_up"), "gauge");
  const auto collectors = Select(m, "pgconn_collector_success", Main());
  EXPECT_FALSE(collectors.empty());
  for (const auto& c : collectors) EXPECT_EQ(c.value, 1.0) << c.labels.at("collector");
}

TEST(HttpCliTest, EndpointsLandingPageHealthzGzipAnd404) {
  TestPostgres pg;
  ExporterProcess exporter(MainConfig(pg) + TargetToml("dead", DeadDsn()));
  WaitForSteadyState(exporter, true);

  const HttpResponse landing = exporter.Get("/");
  EXPECT_EQ(landing.status, 200);
  EXPECT_NE(landing.Header("Content-Type").find("text/html"), std::string::npos);
  EXPECT_NE(landing.body.find("href=\"/metrics\""), std::string::npos) << landing.body;
  EXPECT_NE(landing.body.find("main"), std::string::npos);
  EXPECT_NE(landing.body.find("dead"), std::string::npos);
  EXPECT_EQ(landing.body.find("<script"), std::string::npos) << "landing page must not need JS";

  EXPECT_EQ(exporter.Get("/healthz").status, 200);
  for (const char* path : {"/metricsX", "/metrics/", "/metrics/x", "/nope", "/healthzz"}) {
    EXPECT_EQ(exporter.Get(path).status, 404) << path;
  }

  const HttpResponse plain = exporter.Get("/metrics");
  const HttpResponse gz = exporter.Get("/metrics", {{"Accept-Encoding", "gzip"}});
  ASSERT_EQ(gz.status, 200);
  EXPECT_EQ(gz.Header("Content-Encoding"), "gzip");
  EXPECT_EQ(plain.Header("Content-Encoding"), "");
  const std::string unzipped = Gunzip(gz.body);
  EXPECT_TRUE(Value(ParseMetrics(unzipped), "pgconn_up", Main()).has_value());
  EXPECT_LT(gz.body.size(), plain.body.size());
}

TEST(HttpCliTest, OnceExitsZeroWhenAllUpAndNonZeroWithADeadTarget) {
  TestPostgres pg;
  const ProcessResult up = RunOnce(MainConfig(pg));
  EXPECT_EQ(up.exit_code, 0) << up.err;
  Metrics m = ParseMetrics(up.out);
  EXPECT_EQ(Value(m, "pgconn_up", Main()), 1.0) << up.out;
  EXPECT_EQ(Value(m, "pgconn_client_connections", Main()), 1.0);
  const PromtoolResult check = PromtoolCheckMetrics(up.out);
  EXPECT_TRUE(check.ok) << check.output;

  const ProcessResult down = RunOnce(MainConfig(pg) + TargetToml("dead", DeadDsn()));
  EXPECT_NE(down.exit_code, 0) << down.err;
  m = ParseMetrics(down.out);
  EXPECT_EQ(Value(m, "pgconn_up", Main()), 1.0) << down.out;
  EXPECT_EQ(Value(m, "pgconn_up", TargetLabels("dead")), 0.0) << down.out;
  EXPECT_EQ(Errors(m, "connect_refused", "dead"), 1.0) << down.out;

  // The once-run session is closed when it exits.
  EXPECT_TRUE(WaitFor([&] { return pg.BackendPidsOf("pgconn_exporter").empty(); }, 5s));
}

TEST(HttpCliTest, CheckConfigReportsFileLineColumnAndNeverBinds) {
  std::string path;
  const ProcessResult good = RunCheckConfig(
      ExporterToml("15s") + TargetToml("main", "host=127.0.0.1 port=1 user=x"), &path);
  EXPECT_EQ(good.exit_code, 0) << good.err;

  const ProcessResult unknown =
      RunCheckConfig("[exporter]\npoll_interval = \"15s\"\nbogus = 1\n" +
                         TargetToml("main", "host=127.0.0.1 port=1 user=x"),
                     &path);
  EXPECT_NE(unknown.exit_code, 0);
  EXPECT_NE(unknown.err.find(path + ":3:1: "), std::string::npos) << unknown.err;
  EXPECT_NE(unknown.err.find("bogus"), std::string::npos) << unknown.err;

  const ProcessResult duration = RunCheckConfig(
      "[exporter]\npoll_interval = \"15x\"\n" + TargetToml("main", "host=127.0.0.1 port=1 user=x"),
      &path);
  EXPECT_NE(duration.exit_code, 0);
  EXPECT_TRUE(std::regex_search(
      duration.err,
      std::regex(std::regex_replace(path, std::regex(R"([.^$|()\[\]{}*+?\\])"), R"(\$&)") +
                 ":2:[0-9]+: ")))
      << duration.err;

  // Serving with a bad file fails the same way, before binding the port.
  TempDir dir("pgconn-badserve-");
  const std::string bad = dir.File("bad.toml");
  WriteFile(bad, "[exporter]\nbogus = 1\n" + TargetToml("main", "host=127.0.0.1 port=1 user=x"));
  const int port = PickFreePort();
  const ProcessResult serve = RunExporter(
      {"--config.file", bad, "--web.listen-address", "127.0.0.1:" + std::to_string(port)}, {}, 10s);
  EXPECT_FALSE(serve.timed_out) << "kept running with a bad config";
  EXPECT_NE(serve.exit_code, 0);
  EXPECT_NE(serve.err.find(bad + ":2:1: "), std::string::npos) << serve.err;
  EXPECT_THROW(HttpGet("127.0.0.1", port, "/healthz", {}, 500ms), std::runtime_error);

  const ProcessResult version = RunExporter({"--version"});
  EXPECT_EQ(version.exit_code, 0);
  EXPECT_NE(version.out.find("pgconn_exporter"), std::string::npos) << version.out;
  const ProcessResult bad_flag = RunExporter({"--no-such-flag"});
  EXPECT_NE(bad_flag.exit_code, 0);
}

TEST(HttpCliTest, SigtermAndSigintExitZeroAndCloseTheSession) {
  TestPostgres pg;
  for (int sig : {SIGTERM, SIGINT}) {
    ExporterProcess exporter(MainConfig(pg));
    WaitForSteadyState(exporter, false);
    ASSERT_EQ(pg.BackendPidsOf("pgconn_exporter").size(), 1u);
    const int code = exporter.Stop(sig);
    EXPECT_EQ(code, 0) << "signal " << sig << "\n" << Tail(exporter.Log());
    EXPECT_TRUE(WaitFor([&] { return pg.BackendPidsOf("pgconn_exporter").empty(); }, 5s))
        << "the exporter's session outlived it";
  }
}

TEST(HttpCliTest, PasswordNeverAppearsInLogsMetricsOrLandingPage) {
  TestPostgres pg;
  const std::string wrong_password = "wrong-secret-password-xyz";
  ExporterProcess exporter(MainConfig(pg) + TargetToml("dead", DeadDsn()) +
                               "\n[[target]]\nname = \"badpw\"\ndsn = \"" + pg.Dsn() +
                               "\"\npassword_env = \"PGCONN_WRONG_PW\"\nquery_timeout = \"2s\"\n",
                           ExporterOptions{{{"PGCONN_WRONG_PW", wrong_password}}, {}, 10s});
  Metrics m;
  ASSERT_TRUE(exporter.ScrapeUntil(
      [](const Metrics& s) {
        return IsUp(s) && Errors(s, "connect_refused", "dead") > 0 &&
               Errors(s, "auth", "badpw") > 0;
      },
      10s, &m))
      << Dump(m) << Tail(exporter.Log());
  EXPECT_EQ(Value(m, "pgconn_up", TargetLabels("badpw")), 0.0);

  const std::string metrics = exporter.Get("/metrics").body;
  const std::string landing = exporter.Get("/").body;
  const ProcessResult once = RunOnce(MainConfig(pg) + TargetToml("dead", DeadDsn()));
  ASSERT_EQ(exporter.Stop(), 0);
  const std::string log = exporter.Log();
  EXPECT_NE(log.find("badpw"), std::string::npos) << "expected the auth failure to be logged";
  for (const std::string& secret : {std::string(kExporterPassword), wrong_password}) {
    EXPECT_EQ(log.find(secret), std::string::npos) << "password in the log:\n" << log;
    EXPECT_EQ(metrics.find(secret), std::string::npos) << "password in /metrics";
    EXPECT_EQ(landing.find(secret), std::string::npos) << "password on the landing page";
    EXPECT_EQ(once.out.find(secret), std::string::npos) << "password in --once output";
    EXPECT_EQ(once.err.find(secret), std::string::npos) << "password in --once log";
  }
}

TEST(HttpCliTest, JsonLogFormatWritesOneObjectPerLine) {
  TestPostgres pg;
  ExporterProcess exporter(MainConfig(pg, "500ms", "", "log_format = \"json\"\n") +
                           TargetToml("dead", DeadDsn()));
  WaitForSteadyState(exporter, true);
  ASSERT_EQ(exporter.Stop(), 0);
  const auto lines = Lines(exporter.Log());
  ASSERT_GE(lines.size(), 3u) << exporter.Log();
  for (const auto& line : lines) {
    std::set<std::string> keys;
    EXPECT_TRUE(JsonChecker(line).IsObject(&keys)) << "not one JSON object: " << line;
    EXPECT_EQ(keys.count("level"), 1u) << line;
    EXPECT_EQ(keys.count("msg"), 1u) << line;
  }
}

}  // namespace
}  // namespace pgconn::testing
