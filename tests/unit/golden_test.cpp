// The exposition for a fixed poll result must match the checked-in golden file, which CTest
// also feeds to `promtool check metrics`. Regenerate with PGCONN_UPDATE_GOLDEN=1.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "pgconn/render.h"
#include "pgconn/self_process.h"
#include "pgconn/target_metrics.h"
#include "support/activity_builder.h"

namespace pgconn {
namespace {

ActivityGroup Group(std::string type, std::string database, std::string user,
                    std::string application, std::string state, int64_t others, int64_t self = 0) {
  return testing::MakeGroup({std::move(type), std::move(database), std::move(user),
                             std::move(application), std::move(state), ""},
                            others, self);
}

TargetStatus FixedUpStatus() {
  TargetSample sample;
  ServerSettings settings;
  settings.server_version_num = 150018;
  settings.max_connections = 100;
  settings.superuser_reserved_connections = 3;
  sample.settings = settings;
  auto busy = Group(kClientBackend, "app", "web", "web-1", "active", 3);
  busy.longest_query_seconds = 1.5;
  busy.oldest_xact_seconds = 1.5;
  busy.lock_waiting = 1;
  auto stuck = Group(kClientBackend, "app", "web", "web-2", "idle in transaction", 1);
  stuck.oldest_xact_seconds = 42;
  stuck.oldest_state_change_seconds = 40;
  sample.activity = std::vector<ActivityGroup>{
      busy,
      stuck,
      Group(kClientBackend, "app", "worker", "worker \"q\"\\1", "idle", 5),
      Group(kClientBackend, "postgres", "pgconn_exporter", "pgconn_exporter", "active", 0, 1),
      Group("checkpointer", "", "", "", "unknown", 1),
      Group("autovacuum launcher", "", "", "", "unknown", 1)};
  sample.databases = std::vector<DatabaseLimit>{{"app", 50}, {"postgres", -1}};
  sample.roles = std::vector<RoleLimit>{{"pgconn_exporter", 5}, {"web", -1}, {"worker", -1}};
  sample.collectors = {{"settings", true, 0.001, ""},
                       {"activity", true, 0.002, ""},
                       {"databases", true, 0.0005, ""},
                       {"roles", false, 0.0005, "permission denied"}};
  sample.visibility_complete = true;
  sample.reserved_settings =
      std::vector<ReservedSetting>{{"rds.rds_superuser_reserved_connections", "2"}};
  sample.login_role = LoginRoleCheck{true, true, false};
  TargetStatus status;
  status.up = true;
  status.polled = true;
  status.sample = sample;
  status.poll_duration_seconds = 0.004;
  status.last_success_unix = 1700000000;
  status.error_counts[static_cast<size_t>(FailureReason::kQueryError)] = 1;
  status.accept_probe = AcceptProbeResult{true, 0.0012, ""};
  return status;
}

TargetStatus FixedDownStatus() {
  TargetStatus status;
  status.polled = true;
  status.poll_duration_seconds = 2.25;
  status.last_failure = FailureReason::kTooManyConnections;
  status.error_counts[static_cast<size_t>(FailureReason::kTooManyConnections)] = 7;
  status.accept_probe = AcceptProbeResult{false, 3, "no answer before the probe deadline"};
  return status;
}

std::string GoldenExposition() {
  TargetConfig up_target;
  up_target.name = "main";
  TargetConfig full_target;
  full_target.name = "full";
  SelfProcess self;
  self.cpu_seconds = 1.25;
  self.start_time_unix = 1699999000;
  self.resident_bytes = 8 << 20;
  self.virtual_bytes = 100 << 20;
  self.open_fds = 12;
  self.max_fds = 1024;
  std::vector<Families> parts = {MapBuildInfo("0.1.0", "abc123"), MapSelfProcess(self),
                                 MapTarget(up_target, FixedUpStatus()),
                                 MapTarget(full_target, FixedDownStatus())};
  return RenderText(MergeFamilies(std::move(parts)));
}

TEST(GoldenExpositionTest, MatchesTheCheckedInFile) {
  const std::string path = std::string(PGCONN_FIXTURES_DIR) + "/golden/metrics.prom";
  const std::string actual = GoldenExposition();
  if (std::getenv("PGCONN_UPDATE_GOLDEN")) {
    std::ofstream(path) << actual;
  }
  std::ifstream in(path);
  ASSERT_TRUE(in) << "missing " << path << " (run with PGCONN_UPDATE_GOLDEN=1)";
  std::stringstream expected;
  expected << in.rdbuf();
  EXPECT_EQ(actual, expected.str());
}

}  // namespace
}  // namespace pgconn
