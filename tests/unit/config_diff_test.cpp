// The reload diff: which targets a new config keeps, re-renders, restarts, adds or removes.
#include "pgconn/config_diff.h"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

namespace pgconn {
namespace {

TargetConfig Target(const std::string& name, const std::string& dsn = "host=db1 user=x") {
  TargetConfig target;
  target.name = name;
  target.dsn = dsn;
  target.password = "pw";
  target.password_source = "password_env PW";
  return target;
}

Config TwoTargets() {
  Config config;
  config.targets = {Target("a"), Target("b", "host=db2 user=x")};
  return config;
}

std::map<std::string, ChangeKind> Kinds(const ConfigDiff& diff) {
  std::map<std::string, ChangeKind> kinds;
  for (const auto& change : diff.targets) kinds[change.name] = change.kind;
  return kinds;
}

TEST(ConfigDiffTest, SameConfigChangesNothing) {
  const ConfigDiff diff = DiffConfigs(TwoTargets(), TwoTargets());
  EXPECT_EQ(Kinds(diff), (std::map<std::string, ChangeKind>{{"a", ChangeKind::kUnchanged},
                                                            {"b", ChangeKind::kUnchanged}}));
  EXPECT_FALSE(diff.processes_changed);
  EXPECT_FALSE(diff.logging_changed);
  EXPECT_FALSE(diff.web_changed);
  EXPECT_TRUE(diff.need_restart.empty());
  EXPECT_EQ(SummarizeChanges(diff.targets), "2 unchanged");
}

TEST(ConfigDiffTest, AddedAndRemovedTargetsArePairedByName) {
  Config after = TwoTargets();
  after.targets.erase(after.targets.begin());  // drop a
  after.targets.push_back(Target("c", "host=db3 user=x"));
  const ConfigDiff diff = DiffConfigs(TwoTargets(), after);
  ASSERT_EQ(diff.targets.size(), 3u);
  EXPECT_EQ(diff.targets[0].name, "a");  // removals first
  EXPECT_EQ(diff.targets[0].kind, ChangeKind::kRemoved);
  EXPECT_FALSE(diff.targets[0].after.has_value());
  EXPECT_EQ(diff.targets[1].kind, ChangeKind::kUnchanged);
  EXPECT_EQ(diff.targets[2].kind, ChangeKind::kAdded);
  EXPECT_FALSE(diff.targets[2].before.has_value());
  // The /proc watcher locates targets by DSN, so it follows the target list.
  EXPECT_TRUE(diff.processes_changed);
  EXPECT_EQ(SummarizeChanges(diff.targets), "1 added, 1 removed, 1 unchanged");
}

TEST(ConfigDiffTest, ConnectionSettingsRestartTheTarget) {
  const auto changed = [](auto edit) {
    Config after = TwoTargets();
    edit(after.targets[0]);
    return Kinds(DiffConfigs(TwoTargets(), after)).at("a");
  };
  EXPECT_EQ(changed([](TargetConfig& t) { t.dsn = "host=elsewhere user=x"; }),
            ChangeKind::kRestarted);
  EXPECT_EQ(changed([](TargetConfig& t) { t.password = "rotated"; }), ChangeKind::kRestarted);
  EXPECT_EQ(changed([](TargetConfig& t) { t.query_timeout = Millis(500); }),
            ChangeKind::kRestarted);
  EXPECT_EQ(changed([](TargetConfig& t) { t.connect_timeout = Millis(9000); }),
            ChangeKind::kRestarted);
}

TEST(ConfigDiffTest, PoolsLabelsAndReserveOnlyUpdate) {
  const auto changed = [](auto edit) {
    Config after = TwoTargets();
    edit(after.targets[0]);
    return Kinds(DiffConfigs(TwoTargets(), after)).at("a");
  };
  PoolConfig pool;
  pool.name = "web";
  pool.target = "a";
  pool.size = 10;
  EXPECT_EQ(changed([&](TargetConfig& t) { t.pools.push_back(pool); }), ChangeKind::kUpdated);
  EXPECT_EQ(changed([](TargetConfig& t) { t.connection_labels = {"state"}; }),
            ChangeKind::kUpdated);
  EXPECT_EQ(changed([](TargetConfig& t) { t.reserve.connections = 5; }), ChangeKind::kUpdated);
  EXPECT_EQ(changed([](TargetConfig& t) { t.max_connection_series = 7; }), ChangeKind::kUpdated);

  // A pool's size alone is a change too.
  Config before = TwoTargets();
  before.targets[0].pools.push_back(pool);
  Config after = before;
  after.targets[0].pools[0].size = 11;
  EXPECT_EQ(Kinds(DiffConfigs(before, after)).at("a"), ChangeKind::kUpdated);
  EXPECT_EQ(Kinds(DiffConfigs(before, after)).at("b"), ChangeKind::kUnchanged);
  EXPECT_FALSE(DiffConfigs(before, after).processes_changed);
}

TEST(ConfigDiffTest, PollIntervalRestartsEveryTarget) {
  Config after = TwoTargets();
  after.exporter.poll_interval = Millis(1000);
  for (const auto& [name, kind] : Kinds(DiffConfigs(TwoTargets(), after))) {
    EXPECT_EQ(kind, ChangeKind::kRestarted) << name;
  }
}

TEST(ConfigDiffTest, ExporterWideChanges) {
  Config after = TwoTargets();
  after.exporter.listen_address = "0.0.0.0:1";
  after.exporter.telemetry_path = "/m";
  after.exporter.log_level = LogLevel::kDebug;
  after.web.basic_auth_users["u"] = "$2y$...";
  ProcessConfig process;
  process.name = "app";
  after.processes.push_back(process);
  const ConfigDiff diff = DiffConfigs(TwoTargets(), after);
  EXPECT_EQ(diff.need_restart, (std::vector<std::string>{"listen_address", "telemetry_path"}));
  EXPECT_TRUE(diff.logging_changed);
  EXPECT_TRUE(diff.web_changed);
  EXPECT_TRUE(diff.processes_changed);
  EXPECT_EQ(Kinds(diff).at("a"), ChangeKind::kUnchanged);
}

TEST(ConfigDiffTest, ApplyChangesRemovesBeforeItStarts) {
  Config after = TwoTargets();
  after.targets[1].dsn = "host=moved user=x";               // b restarts
  after.targets[0].reserve.connections = 3;                 // a updates
  after.targets.push_back(Target("c", "host=db3 user=x"));  // c is added
  Config before = TwoTargets();
  before.targets.push_back(Target("gone", "host=db9 user=x"));
  std::vector<std::string> calls;
  ChangeHandlers<TargetConfig> handlers;
  handlers.remove = [&](const TargetConfig& t) { calls.push_back("remove " + t.name); };
  handlers.restart = [&](const TargetConfig& old_t, const TargetConfig& new_t) {
    calls.push_back("restart " + old_t.name + " " + new_t.dsn);
  };
  handlers.update = [&](const TargetConfig&, const TargetConfig& t) {
    calls.push_back("update " + t.name);
  };
  handlers.add = [&](const TargetConfig& t) { calls.push_back("add " + t.name); };
  ApplyChanges(DiffConfigs(before, after).targets, handlers);
  EXPECT_EQ(calls, (std::vector<std::string>{"remove gone", "restart b host=moved user=x",
                                             "update a", "add c"}));
}

// DiffConfigs compares field by field: a new field in these structs must be compared too
// (src/app/config_diff.cpp), or a reload would silently ignore it. Update the sizes then.
TEST(ConfigDiffTest, AChangedPgbouncerLogRestartsThePgbouncers) {
  Config before = TwoTargets();
  before.pgbouncers.emplace_back();
  before.pgbouncers.back().console = Target("bouncer");
  Config after = before;
  EXPECT_FALSE(DiffConfigs(before, after).pgbouncers_changed);
  after.pgbouncers.back().log = "/var/log/pgbouncer/pgbouncer.log";
  EXPECT_TRUE(DiffConfigs(before, after).pgbouncers_changed);
}

TEST(ConfigDiffTest, KnowsEveryConfigField) {
  EXPECT_EQ(sizeof(TargetConfig), 288u) << "TargetConfig changed: teach ClassifyTarget about it";
  EXPECT_EQ(sizeof(PoolConfig), 304u) << "PoolConfig changed: teach SamePool about it";
  EXPECT_EQ(sizeof(ProcessConfig), 104u) << "ProcessConfig changed: teach SameProcess about it";
  EXPECT_EQ(sizeof(PgbouncerConfig), 352u)
      << "PgbouncerConfig changed: teach SamePgbouncers about it";
}

}  // namespace
}  // namespace pgconn
