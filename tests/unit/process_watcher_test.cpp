// The /proc scan worker: counts errors across scans, logs each problem once, publishes an
// extra part of the snapshot; and TargetFacts keeps the settings of the last good poll.
#include "pgconn/process_watcher.h"

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <condition_variable>
#include <sstream>

#include "pgconn/snapshot_assembler.h"
#include "support/http_client.h"

namespace pgconn {
namespace {

const std::string kFixtures = PGCONN_FIXTURES_DIR;

std::shared_ptr<spdlog::logger> CapturingLogger(std::ostringstream& out) {
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(out);
  return std::make_shared<spdlog::logger>("test", sink);
}

size_t Occurrences(const std::string& text, const std::string& what) {
  size_t count = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) {
    ++count;
  }
  return count;
}

std::unique_ptr<ProcessScanner> MalformedTreeScanner() {
  return std::make_unique<ProcessScanner>(
      kFixtures + "/proc-malformed",
      std::vector<ProcessConfig>{{"web", ProcessMatch::kExe, "node", ""}},
      std::vector<TargetConfig>{});
}

TEST(ProcessWatcherTest, CountsEveryScanButLogsEachProblemOnce) {
  std::ostringstream log;
  const TargetFacts facts;
  Families published;
  ProcessWatcher watcher(
      MalformedTreeScanner(), facts, Millis(1000),
      [&](Families families) { published = std::move(families); }, CapturingLogger(log));
  watcher.ScanOnce();
  watcher.ScanOnce();
  watcher.ScanOnce();
  const auto m = testing::ParseMetrics(RenderText(published));
  EXPECT_EQ(testing::Value(m, "pgconn_process_scrape_errors_total",
                           {{"process", "web"}, {"reason", "malformed"}}),
            3);
  EXPECT_EQ(testing::Value(m, "pgconn_process_scrape_errors_total",
                           {{"process", "web"}, {"reason", "permission"}}),
            0);
  EXPECT_EQ(testing::Value(m, "pgconn_process_instances", {{"process", "web"}}), 1);
  EXPECT_EQ(Occurrences(log.str(), "200/limits is malformed"), 1u) << log.str();
  EXPECT_EQ(Occurrences(log.str(), "net/tcp is malformed"), 1u) << log.str();
}

TEST(ProcessWatcherTest, PublishesAnExtraPartAfterTheTargetsAndReplacesIt) {
  TargetConfig target;
  target.name = "main";
  target.dsn = "host=10.0.0.7";
  SnapshotStore store;
  SnapshotAssembler assembler({target}, store, nullptr);
  std::ostringstream log;
  const TargetFacts facts;
  ProcessWatcher watcher(
      std::make_unique<ProcessScanner>(kFixtures + "/proc", std::vector<ProcessConfig>{},
                                       std::vector<TargetConfig>{target}),
      facts, Millis(1000),
      [&](Families families) { assembler.UpdateExtra("process", std::move(families)); },
      CapturingLogger(log));
  watcher.ScanOnce();
  assembler.PublishNow();  // publishing is asynchronous; flush it for the assertions
  const std::string first = store.Current()->text.Get();
  EXPECT_LT(first.find("pgconn_up{"), first.find("pgconn_host_max_files 1000000")) << first;
  EXPECT_EQ(Occurrences(first, "\npgconn_host_max_files "), 1u);
  watcher.ScanOnce();
  assembler.PublishNow();
  EXPECT_EQ(Occurrences(store.Current()->text.Get(), "\npgconn_host_max_files "), 1u);
  // /probe carries the extra's series with the target's label, and only those.
  const std::string probe = store.Current()->target_text.at("main");
  EXPECT_NE(probe.find("pgconn_host_ephemeral_ports_used{target=\"main\"}"), std::string::npos)
      << probe;
  EXPECT_EQ(probe.find("pgconn_host_max_files"), std::string::npos) << probe;
  // A later target update keeps the extra part.
  TargetStatus down;
  down.polled = true;
  assembler.Update(target, down);
  assembler.PublishNow();
  EXPECT_EQ(Occurrences(store.Current()->text.Get(), "\npgconn_host_max_files "), 1u);
}

TEST(SnapshotAssemblerTest, ADownTargetKeepsItsLastKnownFiguresMarkedStale) {
  TargetConfig target;
  target.name = "main";
  SnapshotStore store;
  SnapshotAssembler assembler({target}, store, nullptr);
  TargetStatus up;
  up.up = up.polled = true;
  up.last_success_unix = 1700000000;
  TargetSample sample;
  sample.settings = ServerSettings{};
  sample.settings->max_connections = 20;
  sample.settings->superuser_reserved_connections = 3;
  sample.activity = std::vector<ActivityGroup>{};
  up.sample = sample;
  assembler.Update(target, up);
  TargetStatus refused;
  refused.polled = true;
  refused.last_failure = FailureReason::kTooManyConnections;
  refused.last_success_unix = up.last_success_unix;
  assembler.Update(target, refused);
  assembler.PublishNow();
  const TargetSummary& summary = store.Current()->targets.at(0);
  EXPECT_FALSE(summary.up);
  EXPECT_TRUE(summary.figures_stale);
  EXPECT_EQ(summary.usable_connections, 17);
  EXPECT_EQ(summary.available_connections, 17);
  EXPECT_EQ(summary.figures_at_unix, 1700000000);
  EXPECT_EQ(summary.failure_reason, "too_many_connections");
  // The next good poll replaces them with fresh ones.
  assembler.Update(target, up);
  assembler.PublishNow();
  EXPECT_FALSE(store.Current()->targets.at(0).figures_stale);
}

TEST(ProcessWatcherTest, ThreadScansUntilDestroyed) {
  std::ostringstream log;
  const TargetFacts facts;
  std::mutex mutex;
  std::condition_variable published;
  int scans = 0;
  {
    ProcessWatcher watcher(
        MalformedTreeScanner(), facts, Millis(10),
        [&](Families) {
          std::lock_guard<std::mutex> lock(mutex);
          ++scans;
          published.notify_all();
        },
        CapturingLogger(log));
    watcher.Start();
    std::unique_lock<std::mutex> lock(mutex);
    EXPECT_TRUE(published.wait_for(lock, std::chrono::seconds(30), [&] { return scans >= 3; }));
  }  // joins here: nothing publishes after this
  std::unique_lock<std::mutex> lock(mutex);
  const int after_stop = scans;
  EXPECT_FALSE(published.wait_for(lock, std::chrono::milliseconds(100),
                                  [&] { return scans != after_stop; }));
}

TEST(TargetFactsTest, KeepsTheLastReadSettingsThroughFailedPolls) {
  TargetFacts facts;
  EXPECT_TRUE(facts.Settings().empty());
  ServerSettings settings;
  settings.data_directory = "/srv/pg";
  TargetSample sample;
  sample.settings = settings;
  TargetStatus up;
  up.up = true;
  up.sample = sample;
  facts.Record("main", up);
  TargetStatus down;  // no sample: a failed poll
  facts.Record("main", down);
  ASSERT_EQ(facts.Settings().count("main"), 1u);
  EXPECT_EQ(facts.Settings().at("main").data_directory, "/srv/pg");
}

}  // namespace
}  // namespace pgconn
