#include "pgconn/target_metrics.h"

#include <gtest/gtest.h>

#include <map>

#include "support/activity_builder.h"

namespace pgconn {
namespace {

ActivityGroup Client(std::string database, std::string user, std::string application,
                     std::string state, int64_t others, int64_t self = 0) {
  return testing::MakeGroup({kClientBackend, std::move(database), std::move(user),
                             std::move(application), std::move(state), ""},
                            others, self);
}

ActivityGroup Background(std::string type, int64_t sessions) {
  ActivityGroup group;
  group.backend_type = std::move(type);
  group.state = "unknown";
  group.sessions = sessions;
  group.others = sessions;
  return group;
}

TargetSample Sample(int64_t max, int64_t superuser_reserved, std::optional<int64_t> reserved,
                    std::vector<ActivityGroup> activity) {
  TargetSample sample;
  ServerSettings settings;
  settings.max_connections = max;
  settings.superuser_reserved_connections = superuser_reserved;
  settings.reserved_connections = reserved;
  sample.settings = settings;
  sample.activity = std::move(activity);
  return sample;
}

TargetStatus Up(TargetSample sample) {
  TargetStatus status;
  status.up = true;
  status.polled = true;
  status.sample = std::move(sample);
  status.last_success_unix = 1700000000;
  return status;
}

// Flattens families to "name{k=v,...}" -> value for exact assertions.
std::map<std::string, double> Flatten(const Families& families) {
  std::map<std::string, double> out;
  for (const auto& family : families) {
    for (const auto& metric : family.metric) {
      std::string key = family.name + "{";
      for (const auto& label : metric.label) key += label.name + "=" + label.value + ",";
      key += "}";
      out[key] = family.type == prometheus::MetricType::Counter ? metric.counter.value
                                                                : metric.gauge.value;
    }
  }
  return out;
}

TargetConfig Target() {
  TargetConfig target;
  target.name = "main";
  target.dsn = "host=db port=5432 user=mon";
  return target;
}

TEST(CapacityTest, SubtractsSuperuserReservedSlots) {
  auto capacity =
      ComputeCapacity(Sample(100, 3, std::nullopt, {Client("app", "web", "web-1", "idle", 47, 1)}));
  ASSERT_TRUE(capacity);
  EXPECT_EQ(capacity->usable, 97);
  EXPECT_EQ(capacity->client_connections, 48);
  EXPECT_EQ(capacity->available, 49);
  EXPECT_DOUBLE_EQ(capacity->utilization_ratio, 48.0 / 97.0);
}

TEST(CapacityTest, SubtractsPg16ReservedConnectionsToo) {
  auto capacity = ComputeCapacity(Sample(100, 3, 7, {Client("app", "web", "w", "idle", 90)}));
  ASSERT_TRUE(capacity);
  EXPECT_EQ(capacity->usable, 90);
  EXPECT_EQ(capacity->available, 0);
  EXPECT_DOUBLE_EQ(capacity->utilization_ratio, 1.0);
}

TEST(CapacityTest, AvailableIsFlooredAtZeroWhenSuperusersUseReservedSlots) {
  auto capacity = ComputeCapacity(Sample(10, 3, std::nullopt, {Client("d", "u", "a", "idle", 9)}));
  ASSERT_TRUE(capacity);
  EXPECT_EQ(capacity->available, 0);
  EXPECT_GT(capacity->utilization_ratio, 1.0);
}

TEST(CapacityTest, OnlyClientBackendsTakeSlots) {
  auto capacity =
      ComputeCapacity(Sample(20, 3, std::nullopt,
                             {Client("d", "u", "a", "idle", 2), Background("autovacuum worker", 3),
                              Background("walsender", 2), Background("parallel worker", 4)}));
  ASSERT_TRUE(capacity);
  EXPECT_EQ(capacity->client_connections, 2);
}

TEST(CapacityTest, UsableZeroMeansFullyUtilized) {
  auto capacity = ComputeCapacity(Sample(3, 3, std::nullopt, {}));
  ASSERT_TRUE(capacity);
  EXPECT_EQ(capacity->usable, 0);
  EXPECT_DOUBLE_EQ(capacity->utilization_ratio, 1.0);
}

TEST(CapacityTest, NeedsSettingsAndActivity) {
  TargetSample sample;
  EXPECT_FALSE(ComputeCapacity(sample));
}

TEST(MapTargetTest, ZeroFillsEveryKnownStateAndExcludesOwnSession) {
  auto metrics = Flatten(MapTarget(
      Target(), Up(Sample(100, 3, std::nullopt,
                          {Client("app", "web", "web-1", "idle", 4),
                           Client("postgres", "mon", "pgconn_exporter", "active", 0, 1)}))));
  EXPECT_EQ(metrics["pgconn_client_connections_by_state{target=main,state=idle,}"], 4);
  for (const auto& state : KnownSessionStates()) {
    EXPECT_TRUE(
        metrics.count("pgconn_client_connections_by_state{target=main,state=" + state + ",}"))
        << state;
  }
  EXPECT_EQ(metrics["pgconn_client_connections_by_state{target=main,state=active,}"], 0);
  EXPECT_EQ(metrics["pgconn_client_connections{target=main,}"], 5);
  EXPECT_EQ(metrics.count("pgconn_connections{target=main,database=postgres,user=mon,"
                          "application=pgconn_exporter,state=active,}"),
            0u);
}

TEST(MapTargetTest, ReportsUnknownStateOnlyWhenPresent) {
  auto metrics = Flatten(MapTarget(
      Target(), Up(Sample(100, 3, std::nullopt, {Client("app", "web", "w", "unknown", 2)}))));
  EXPECT_EQ(metrics["pgconn_client_connections_by_state{target=main,state=unknown,}"], 2);
  auto without = Flatten(MapTarget(Target(), Up(Sample(100, 3, std::nullopt, {}))));
  EXPECT_EQ(without.count("pgconn_client_connections_by_state{target=main,state=unknown,}"), 0u);
}

TEST(MapTargetTest, ReservedKindAppearsOnlyWhenTheServerHasIt) {
  auto pg15 = Flatten(MapTarget(Target(), Up(Sample(100, 3, std::nullopt, {}))));
  EXPECT_EQ(pg15["pgconn_reserved_connections{target=main,kind=superuser,}"], 3);
  EXPECT_EQ(pg15.count("pgconn_reserved_connections{target=main,kind=reserved,}"), 0u);
  auto pg16 = Flatten(MapTarget(Target(), Up(Sample(100, 3, 5, {}))));
  EXPECT_EQ(pg16["pgconn_reserved_connections{target=main,kind=reserved,}"], 5);
  EXPECT_EQ(pg16["pgconn_usable_connections{target=main,}"], 92);
}

TEST(MapTargetTest, DatabaseAndRoleLimitsOnlyWhereSet) {
  TargetSample sample = Sample(100, 3, std::nullopt, {Client("app", "web", "w", "idle", 2)});
  sample.databases = std::vector<DatabaseLimit>{{"app", 10}, {"postgres", -1}};
  sample.roles = std::vector<RoleLimit>{{"web", -1}, {"mon", 3}};
  auto metrics = Flatten(MapTarget(Target(), Up(sample)));
  EXPECT_EQ(metrics["pgconn_database_connections{target=main,database=app,}"], 2);
  EXPECT_EQ(metrics["pgconn_database_connections{target=main,database=postgres,}"], 0);
  EXPECT_EQ(metrics["pgconn_database_connection_limit{target=main,database=app,}"], 10);
  EXPECT_EQ(metrics.count("pgconn_database_connection_limit{target=main,database=postgres,}"), 0u);
  EXPECT_EQ(metrics["pgconn_role_connections{target=main,role=mon,}"], 0);
  EXPECT_EQ(metrics["pgconn_role_connection_limit{target=main,role=mon,}"], 3);
  EXPECT_EQ(metrics.count("pgconn_role_connection_limit{target=main,role=web,}"), 0u);
}

TEST(MapTargetTest, AgesComeFromClientBackendsOnly) {
  auto idle_xact = Client("app", "web", "w", "idle in transaction", 1);
  idle_xact.oldest_xact_seconds = 30;
  idle_xact.oldest_state_change_seconds = 25;
  auto active = Client("app", "web", "w", "active", 2);
  active.longest_query_seconds = 12;
  active.oldest_xact_seconds = 12;
  active.lock_waiting = 1;
  auto vacuum = Background("autovacuum worker", 1);
  vacuum.oldest_xact_seconds = 999;
  auto metrics =
      Flatten(MapTarget(Target(), Up(Sample(100, 3, std::nullopt, {idle_xact, active, vacuum}))));
  EXPECT_EQ(metrics["pgconn_oldest_transaction_seconds{target=main,}"], 30);
  EXPECT_EQ(metrics["pgconn_oldest_idle_in_transaction_seconds{target=main,}"], 25);
  EXPECT_EQ(metrics["pgconn_longest_query_seconds{target=main,}"], 12);
  EXPECT_EQ(metrics["pgconn_lock_waiting_connections{target=main,}"], 1);
  EXPECT_EQ(metrics["pgconn_backends{target=main,backend_type=autovacuum worker,}"], 1);
}

TEST(MapTargetTest, DownTargetServesOnlyHealth) {
  TargetStatus status;
  status.polled = true;
  status.last_failure = FailureReason::kConnectRefused;
  status.error_counts[0] = 3;
  auto metrics = Flatten(MapTarget(Target(), status));
  EXPECT_EQ(metrics["pgconn_up{target=main,}"], 0);
  EXPECT_EQ(metrics["pgconn_poll_errors_total{target=main,reason=connect_refused,}"], 3);
  EXPECT_EQ(metrics["pgconn_poll_errors_total{target=main,reason=timeout,}"], 0);
  EXPECT_EQ(metrics.count("pgconn_available_connections{target=main,}"), 0u);
  EXPECT_EQ(metrics.count("pgconn_max_connections{target=main,}"), 0u);
  EXPECT_EQ(metrics.count("pgconn_last_poll_success_timestamp_seconds{target=main,}"), 0u);
}

TEST(MapTargetTest, RefusedForLackOfSlotsMeansNothingAvailable) {
  TargetStatus status;
  status.polled = true;
  status.last_failure = FailureReason::kTooManyConnections;
  auto metrics = Flatten(MapTarget(Target(), status));
  EXPECT_EQ(metrics["pgconn_up{target=main,}"], 0);
  ASSERT_EQ(metrics.count("pgconn_available_connections{target=main,}"), 1u);
  EXPECT_EQ(metrics["pgconn_available_connections{target=main,}"], 0);
}

TEST(FoldConnectionSeriesTest, KeepsOnlyConfiguredLabels) {
  auto series =
      FoldConnectionSeries({Client("a", "u1", "x", "idle", 1), Client("a", "u2", "y", "idle", 2),
                            Client("b", "u1", "x", "active", 4)},
                           {"database"}, 100);
  ASSERT_EQ(series.size(), 2u);
  EXPECT_EQ(series[0].label_values, std::vector<std::string>{"a"});
  EXPECT_EQ(series[0].sessions, 3);
  EXPECT_EQ(series[1].sessions, 4);
}

TEST(FoldConnectionSeriesTest, FoldsRarestGroupsIntoOtherPerState) {
  std::vector<ActivityGroup> groups;
  groups.push_back(Client("db", "u", "big", "idle", 50));
  groups.push_back(Client("db", "u", "medium", "active", 20));
  for (int i = 0; i < 500; ++i) {
    groups.push_back(Client("db", "u", "storm-" + std::to_string(i), i % 2 ? "idle" : "active", 1));
  }
  auto series = FoldConnectionSeries(groups, AllConnectionLabels(), 2);
  ASSERT_EQ(series.size(), 4u);
  int64_t total = 0;
  std::map<std::string, int64_t> other_by_state;
  for (const auto& s : series) {
    total += s.sessions;
    if (s.label_values[2] == kOtherLabelValue) {
      EXPECT_EQ(s.label_values[0], kOtherLabelValue);
      EXPECT_EQ(s.label_values[1], kOtherLabelValue);
      other_by_state[s.label_values[3]] = s.sessions;
    }
  }
  EXPECT_EQ(total, 570);
  EXPECT_EQ(other_by_state["idle"], 250);
  EXPECT_EQ(other_by_state["active"], 250);
}

TEST(FoldConnectionSeriesTest, NoFoldingAtOrBelowTheCap) {
  auto series =
      FoldConnectionSeries({Client("a", "u", "x", "idle", 1), Client("a", "u", "y", "idle", 1)},
                           AllConnectionLabels(), 2);
  ASSERT_EQ(series.size(), 2u);
  for (const auto& s : series) EXPECT_NE(s.label_values[2], kOtherLabelValue);
}

TEST(SummarizeTargetTest, RedactsDsnAndReportsUsage) {
  TargetConfig target = Target();
  target.dsn = "postgresql://mon:hunter2@db:5432/postgres";
  auto summary =
      SummarizeTarget(target, Up(Sample(100, 3, std::nullopt, {Client("d", "u", "a", "idle", 9)})));
  EXPECT_EQ(summary.dsn_redacted.find("hunter2"), std::string::npos);
  EXPECT_EQ(summary.client_connections, 9);
  EXPECT_EQ(summary.usable_connections, 97);
}

}  // namespace
}  // namespace pgconn

namespace pgconn {
namespace {

TEST(RecordedSampleTest, StatusCopiesShareOneSample) {
  TargetSample sample;
  sample.visibility_complete = true;
  TargetStatus poller;
  EXPECT_FALSE(poller.sample.has_value());
  poller.sample = sample;
  const TargetStatus assembler = poller;  // what SnapshotAssembler::Update keeps
  ASSERT_TRUE(assembler.sample);
  EXPECT_EQ(&*assembler.sample, &*poller.sample);
  EXPECT_EQ(assembler.sample->visibility_complete, true);
  poller.sample.reset();  // a failed poll: the assembler's copy keeps its figures
  EXPECT_FALSE(poller.sample);
  EXPECT_TRUE(assembler.sample.has_value());
}

}  // namespace
}  // namespace pgconn
