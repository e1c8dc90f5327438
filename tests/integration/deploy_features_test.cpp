// Fleet and deployment features against a real PostgreSQL 15: /probe?target=NAME,
// [exporter] shard = "i/n" and --web.config.file basic auth.
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "pgconn/shard.h"
#include "support/scenario.h"
#include "support/web_auth.h"

namespace pgconn::testing {
namespace {

// The target label of every sample in `text` (samples without one give "").
std::set<std::string> TargetsIn(const std::string& text) {
  std::set<std::string> targets;
  for (const Sample& sample : ParseSamples(text)) {
    const auto label = sample.labels.find("target");
    targets.insert(label == sample.labels.end() ? "" : label->second);
  }
  return targets;
}

std::set<std::string> UpTargets(const Metrics& metrics) {
  std::set<std::string> targets;
  for (const Sample& sample : Select(metrics, "pgconn_up"))
    targets.insert(sample.labels.at("target"));
  return targets;
}

TEST(DeployFeaturesTest, ProbeServesExactlyOneTargetAnd404ForAnUnknownName) {
  TestPostgres pg;
  ExporterProcess exporter(MainConfig(pg) + TargetToml("dead", DeadDsn()));
  Metrics m;
  ASSERT_TRUE(exporter.ScrapeUntil(
      [](const Metrics& s) { return IsUp(s) && Errors(s, "connect_refused", "dead") > 0; }, 10s,
      &m))
      << Dump(m) << Tail(exporter.Log());

  const HttpResponse main = exporter.Get("/probe?target=main");
  ASSERT_EQ(main.status, 200) << main.body;
  EXPECT_EQ(main.Header("Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_EQ(TargetsIn(main.body), std::set<std::string>{"main"}) << main.body;
  const Metrics probed = ParseMetrics(main.body);
  EXPECT_EQ(Value(probed, "pgconn_up", Main()), 1.0);
  EXPECT_GT(Value(probed, "pgconn_max_connections", Main()).value_or(0), 0.0) << main.body;
  const PromtoolResult lint = PromtoolCheckMetrics(main.body);
  EXPECT_TRUE(lint.ok) << lint.output;

  const HttpResponse dead = exporter.Get("/probe?target=dead");
  ASSERT_EQ(dead.status, 200);
  EXPECT_EQ(TargetsIn(dead.body), std::set<std::string>{"dead"});
  EXPECT_EQ(Value(ParseMetrics(dead.body), "pgconn_up", TargetLabels("dead")), 0.0);

  EXPECT_EQ(exporter.Get("/probe?target=unknown").status, 404);
  EXPECT_EQ(exporter.Get("/probe").status, 400);
  // /metrics still carries both targets and the exporter-wide families.
  EXPECT_EQ(UpTargets(exporter.Scrape()), (std::set<std::string>{"main", "dead"}));
}

TEST(DeployFeaturesTest, TwoShardsPollDisjointSetsThatCoverEveryTarget) {
  TestPostgres pg;
  const std::vector<std::string> names = {"db-0", "db-1", "db-2", "db-3", "db-4"};
  std::string targets;
  std::set<std::string> expected[2];
  for (const auto& name : names) {
    targets += TargetToml(name, pg.Dsn());
    expected[ShardOf(name, 2)].insert(name);
  }
  ASSERT_FALSE(expected[0].empty() || expected[1].empty()) << "names must land in both shards";

  ExporterProcess shard0(ExporterToml("500ms", "shard = \"0/2\"") + targets);
  ExporterProcess shard1(ExporterToml("500ms", "shard = \"1/2\"") + targets);
  Metrics m0, m1;
  const auto all_up = [](const std::set<std::string>& want) {
    return [want](const Metrics& s) {
      for (const auto& name : want) {
        if (!IsUp(s, name)) return false;
      }
      return true;
    };
  };
  ASSERT_TRUE(shard0.ScrapeUntil(all_up(expected[0]), 15s, &m0)) << Dump(m0) << shard0.Log();
  ASSERT_TRUE(shard1.ScrapeUntil(all_up(expected[1]), 15s, &m1)) << Dump(m1) << shard1.Log();
  EXPECT_EQ(UpTargets(m0), expected[0]) << Dump(m0);
  EXPECT_EQ(UpTargets(m1), expected[1]) << Dump(m1);
  EXPECT_EQ(shard0.Get("/probe?target=" + *expected[1].begin()).status, 404);

  // One session per target across both exporters: 5 in all, none polled twice.
  EXPECT_TRUE(
      WaitFor([&] { return pg.BackendPidsOf("pgconn_exporter").size() == names.size(); }, 10s))
      << pg.BackendPidsOf("pgconn_exporter").size() << " exporter sessions";
  EXPECT_NE(shard0.Log().find("shard 0/2 polls " + std::to_string(expected[0].size()) + " of 5"),
            std::string::npos)
      << shard0.Log();
  EXPECT_NE(shard1.Log().find("shard 1/2 polls " + std::to_string(expected[1].size()) + " of 5"),
            std::string::npos)
      << shard1.Log();
}

class WebConfigAuthTest : public ::testing::Test {
 protected:
  const std::string right_ = "right-web-password-7f3a";
  const std::string wrong_ = "wrong-web-password-91c2";
  TempDir dir_{"pgconn-webcfg"};

  std::string WriteWebConfig(const std::string& body) const {
    const std::string path = dir_.File("web.yml");
    WriteFile(path, body);
    return path;
  }
};

TEST_F(WebConfigAuthTest, RightPasswordGetsInWrongAndMissingAreRefusedHealthzStaysOpen) {
  TestPostgres pg;
  const std::string hash = BcryptHash(right_);
  const std::string web = WriteWebConfig("basic_auth_users:\n  prometheus: " + hash + "\n");
  ExporterProcess exporter(MainConfig(pg), ExporterOptions{{}, {"--web.config.file", web}, 10s});

  const HttpResponse missing = exporter.Get("/metrics");
  EXPECT_EQ(missing.status, 401);
  EXPECT_EQ(missing.Header("WWW-Authenticate").rfind("Basic realm=", 0), 0u);
  EXPECT_EQ(exporter.Get("/metrics", BasicAuthHeader("prometheus", wrong_)).status, 401);
  EXPECT_EQ(exporter.Get("/metrics", BasicAuthHeader("admin", right_)).status, 401);
  EXPECT_EQ(exporter.Get("/probe?target=main").status, 401);
  EXPECT_EQ(exporter.Get("/").status, 401);
  EXPECT_EQ(exporter.Get("/healthz").status, 200);

  const auto authorized = BasicAuthHeader("prometheus", right_);
  EXPECT_TRUE(WaitFor(
      [&] {
        const HttpResponse r = exporter.Get("/metrics", authorized);
        return r.status == 200 && IsUp(ParseMetrics(r.body));
      },
      10s));
  EXPECT_EQ(exporter.Get("/probe?target=main", authorized).status, 200);
  EXPECT_EQ(exporter.Get("/", authorized).status, 200);

  ASSERT_EQ(exporter.Stop(), 0);
  const std::string log = exporter.Log();
  EXPECT_NE(log.find("basic auth required"), std::string::npos) << log;
  for (const std::string& secret : {right_, wrong_, hash}) {
    EXPECT_EQ(log.find(secret), std::string::npos) << "secret in the log:\n" << log;
  }
}

TEST_F(WebConfigAuthTest, TlsSettingsAreRefusedWithThePointerToAProxy) {
  const std::string web =
      WriteWebConfig("tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n");
  const std::string config = dir_.File("pgconn.toml");
  WriteFile(config, ExporterToml() + TargetToml("main", DeadDsn()));
  const ProcessResult check =
      RunExporter({"--config.file", config, "--web.config.file", web, "--check-config"});
  EXPECT_EQ(check.exit_code, 2) << check.err;  // a configuration error
  EXPECT_NE(check.err.find(web + ":1:1: tls_server_config: TLS is not supported"),
            std::string::npos)
      << check.err;
  EXPECT_NE(check.err.find("proxy"), std::string::npos) << check.err;
}

}  // namespace
}  // namespace pgconn::testing
