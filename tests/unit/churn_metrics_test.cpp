// Issue 14 mapping: new-connection counters, session counters, connection ages, by address.
#include "pgconn/churn_metrics.h"

#include <gtest/gtest.h>

#include "pgconn/refusal_metrics.h"
#include "support/activity_builder.h"

namespace pgconn {
namespace {

using testing::MakeGroup;

ChurnGroup Churn(std::string app, int64_t new_sessions, int64_t sessions = 0) {
  ChurnGroup group;
  group.database = "shop";
  group.user = "app";
  group.application = std::move(app);
  group.new_sessions = new_sessions;
  group.sessions = sessions;
  return group;
}

TargetSample WithChurn(std::vector<ChurnGroup> groups) {
  TargetSample sample;
  sample.settings = ServerSettings{};
  sample.activity = std::vector<ActivityGroup>{};
  sample.churn = std::move(groups);
  return sample;
}

std::string Rendered(const TargetConfig& target, const TargetStatus& status) {
  Families out;
  AddChurnFamilies(out, {{"target", target.name}}, target, status);
  return RenderText(out);
}

bool Has(const std::string& text, const std::string& line) {
  return text.find(line + "\n") != std::string::npos;
}

TEST(NewConnectionsTest, AccumulatesAcrossPollsAndNeverGoesBack) {
  std::map<std::vector<std::string>, uint64_t> counters;
  AccumulateNewConnections(WithChurn({Churn("web", 3)}), 100, counters);
  AccumulateNewConnections(WithChurn({Churn("web", 2)}), 100, counters);
  AccumulateNewConnections(WithChurn({}), 100, counters);   // the app went away
  AccumulateNewConnections(TargetSample{}, 100, counters);  // a poll without the churn query
  EXPECT_EQ((counters[{"shop", "app", "web"}]), 5u);
  EXPECT_EQ(counters.size(), 1u);
}

TEST(NewConnectionsTest, GroupsBeyondTheCapFoldIntoOther) {
  std::map<std::vector<std::string>, uint64_t> counters;
  AccumulateNewConnections(WithChurn({Churn("a", 1), Churn("b", 1), Churn("c", 4)}), 2, counters);
  AccumulateNewConnections(WithChurn({Churn("d", 2), Churn("a", 1)}), 2, counters);
  EXPECT_EQ(counters.size(), 3u);  // a, b, and one __other__
  EXPECT_EQ((counters[{"shop", "app", "a"}]), 2u);
  EXPECT_EQ((counters[{"__other__", "__other__", "__other__"}]), 6u);
}

TEST(ChurnFamiliesTest, SessionCountersOnlyWhenTheServerHasThem) {
  TargetConfig target;
  target.name = "main";
  TargetStatus status;
  status.up = true;
  status.sample = WithChurn({});
  EXPECT_EQ(Rendered(target, status).find("pgconn_database_sessions_total"), std::string::npos);

  DatabaseSessions shop;
  shop.database = "shop";
  shop.sessions = 42;
  shop.fatal = 2;
  shop.session_seconds = 12.5;
  TargetSample with_sessions = WithChurn({});
  with_sessions.database_sessions = std::vector<DatabaseSessions>{shop};
  status.sample = std::move(with_sessions);
  const std::string text = Rendered(target, status);
  EXPECT_TRUE(Has(text, "pgconn_database_sessions_total{target=\"main\",database=\"shop\"} 42"))
      << text;
  EXPECT_TRUE(Has(text,
                  "pgconn_database_sessions_ended_total{target=\"main\",database=\"shop\","
                  "reason=\"fatal\"} 2"))
      << text;
  EXPECT_TRUE(Has(text,
                  "pgconn_database_sessions_ended_total{target=\"main\",database=\"shop\","
                  "reason=\"killed\"} 0"))
      << text;
  EXPECT_TRUE(
      Has(text, "pgconn_database_session_seconds_total{target=\"main\",database=\"shop\"} 12.5"))
      << text;
}

TEST(ChurnFamiliesTest, AgeHistogramPerApplicationWithFolding) {
  TargetConfig target;
  target.name = "main";
  target.max_connection_series = 1;
  ChurnGroup php = Churn("php", 0, 3);
  php.age_buckets = {2, 3, 3, 3, 3, 3};
  php.age_sum_seconds = 4;
  ChurnGroup pooled = Churn("prisma", 0, 9);
  pooled.age_buckets = {0, 0, 0, 0, 9, 9};
  pooled.age_sum_seconds = 9 * 3000;
  TargetStatus status;
  status.up = true;
  status.sample = WithChurn({php, pooled});
  const std::string text = Rendered(target, status);
  EXPECT_TRUE(Has(text, "# TYPE pgconn_connection_age_seconds histogram")) << text;
  EXPECT_TRUE(Has(text,
                  "pgconn_connection_age_seconds_bucket{target=\"main\",application=\"prisma\","
                  "le=\"3600\"} 9"))
      << text;
  EXPECT_TRUE(Has(text,
                  "pgconn_connection_age_seconds_bucket{target=\"main\",application=\"__other__\","
                  "le=\"1\"} 2"))
      << text;
  EXPECT_TRUE(
      Has(text, "pgconn_connection_age_seconds_count{target=\"main\",application=\"__other__\"} 3"))
      << text;
  size_t inf = 0;
  for (size_t at = text.find("le=\"+Inf\""); at != std::string::npos;
       at = text.find("le=\"+Inf\"", at + 1)) {
    ++inf;
  }
  EXPECT_EQ(inf, 2u) << text;  // one +Inf bucket per application
}

TEST(ChurnFamiliesTest, ByClientAddrIsOptInAndFolds) {
  TargetConfig target;
  target.name = "main";
  target.max_connection_series = 2;
  TargetStatus status;
  status.up = true;
  TargetSample sample = WithChurn({});
  sample.activity = std::vector<ActivityGroup>{
      MakeGroup({"client backend", "shop", "app", "web", "idle", "10.0.0.1"}, 5),
      MakeGroup({"client backend", "shop", "app", "web", "idle", ""}, 3, 1),
      MakeGroup({"client backend", "shop", "app", "web", "idle", "10.0.0.2"}, 1),
      MakeGroup({"client backend", "shop", "app", "web", "active", "10.0.0.3"}, 1),
      MakeGroup({"autovacuum worker", "", "", "", "unknown", ""}, 1)};
  status.sample = std::move(sample);
  EXPECT_EQ(Rendered(target, status).find("pgconn_client_connections_by_addr"), std::string::npos);
  target.by_client_addr = true;
  const std::string text = Rendered(target, status);
  EXPECT_TRUE(
      Has(text, "pgconn_client_connections_by_addr{target=\"main\",client_addr=\"10.0.0.1\"} 5"))
      << text;
  EXPECT_TRUE(
      Has(text, "pgconn_client_connections_by_addr{target=\"main\",client_addr=\"local\"} 3"))
      << text;
  EXPECT_TRUE(
      Has(text, "pgconn_client_connections_by_addr{target=\"main\",client_addr=\"__other__\"} 2"))
      << text;
}

TEST(RefusalMetricsTest, PgbouncerLogRefusalsAreLabelledPgbouncer) {
  ServerLogStatus status;
  EXPECT_TRUE(CountLogEvent(ClassifyLogLine("2026-11-30 22:32:46.792 UTC [1] LOG C-0x1: "
                                            "(nodb)/(nouser)@127.0.0.1:5 closing because: no "
                                            "more connections allowed (max_client_conn) (age=0s)"),
                            status));
  const std::string text = RenderText(MapPgbouncerLog("edge", status));
  EXPECT_TRUE(Has(text,
                  "pgconn_refused_connections_total{pgbouncer=\"edge\",reason=\"pgbouncer_max_"
                  "client_conn\"} 1"))
      << text;
  EXPECT_TRUE(Has(text,
                  "pgconn_refused_connections_total{pgbouncer=\"edge\",reason=\"too_many_"
                  "clients\"} 0"))
      << text;
  EXPECT_FALSE(Has(text, "target=")) << text;
}

TEST(RefusalMetricsTest, ZeroFilledCountersByReason) {
  ServerLogStatus status;
  status.follower.open = true;
  EXPECT_TRUE(CountLogEvent(ClassifyLogLine("x FATAL:  sorry, too many clients already"), status));
  EXPECT_FALSE(CountLogEvent(ClassifyLogLine("x LOG:  checkpoint starting"), status));
  const std::string text = RenderText(MapServerLog("main", status));
  EXPECT_TRUE(
      Has(text, "pgconn_refused_connections_total{target=\"main\",reason=\"too_many_clients\"} 1"))
      << text;
  EXPECT_TRUE(
      Has(text, "pgconn_refused_connections_total{target=\"main\",reason=\"role_limit\"} 0"))
      << text;
  EXPECT_TRUE(
      Has(text, "pgconn_authentication_failures_total{target=\"main\",reason=\"password\"} 0"))
      << text;
  EXPECT_TRUE(Has(text, "pgconn_server_log_up{target=\"main\"} 1")) << text;
}

}  // namespace
}  // namespace pgconn
