// The assembler under reload: targets join, leave, and change settings without a new poll.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "pgconn/snapshot_assembler.h"

namespace pgconn {
namespace {

TargetConfig Target(const std::string& name) {
  TargetConfig target;
  target.name = name;
  target.dsn = "host=127.0.0.1 port=1 user=x";
  return target;
}

bool Has(const std::string& text, const std::string& needle) {
  return text.find(needle) != std::string::npos;
}

TEST(SnapshotAssemblerReloadTest, AddedTargetsAppearAndRemovedOnesDisappear) {
  SnapshotStore store;
  SnapshotAssembler assembler({Target("a")}, store, nullptr);
  assembler.AddTarget(Target("b"));
  assembler.PublishNow();
  auto snapshot = store.Current();
  EXPECT_TRUE(Has(snapshot->text.Get(), "pgconn_up{target=\"a\"}"));
  EXPECT_TRUE(Has(snapshot->text.Get(), "pgconn_up{target=\"b\"}"));
  EXPECT_EQ(snapshot->target_text.count("b"), 1u);

  assembler.RemoveTarget("a");
  assembler.PublishNow();
  snapshot = store.Current();
  EXPECT_FALSE(Has(snapshot->text.Get(), "target=\"a\"")) << snapshot->text.Get();
  EXPECT_TRUE(Has(snapshot->text.Get(), "pgconn_up{target=\"b\"}"));
  EXPECT_EQ(snapshot->target_text.count("a"), 0u);
  ASSERT_EQ(snapshot->targets.size(), 1u);
  EXPECT_EQ(snapshot->targets[0].name, "b");
}

TEST(SnapshotAssemblerReloadTest, UpdatesFromARemovedPollerAreIgnored) {
  SnapshotStore store;
  SnapshotAssembler assembler({Target("a"), Target("b")}, store, nullptr);
  assembler.RemoveTarget("b");
  TargetStatus status;
  status.up = true;
  assembler.Update(Target("b"), status);  // a late publish racing the removal
  assembler.PublishNow();
  EXPECT_FALSE(Has(store.Current()->text.Get(), "target=\"b\"")) << store.Current()->text.Get();
}

TEST(SnapshotAssemblerReloadTest, ReconfigureKeepsOrResetsTheLastStatus) {
  SnapshotStore store;
  SnapshotAssembler assembler({Target("a")}, store, nullptr);
  TargetStatus status;
  status.polled = true;
  status.error_counts[0] = 7;  // something only a poll leaves behind
  assembler.Update(Target("a"), status);
  assembler.PublishNow();
  const std::string polled = store.Current()->target_text.at("a");

  TargetConfig changed = Target("a");
  changed.max_connection_series = 3;  // mapping-only: same status, re-rendered
  assembler.ReconfigureTarget(changed, true);
  assembler.PublishNow();
  EXPECT_EQ(store.Current()->target_text.at("a"), polled);

  assembler.ReconfigureTarget(changed, false);  // restarted: back to "not polled yet"
  assembler.PublishNow();
  EXPECT_NE(store.Current()->target_text.at("a"), polled);
  EXPECT_EQ(store.Current()->targets.at(0).last_error, "not polled yet");
}

TEST(SnapshotAssemblerReloadTest, SetOrderFollowsTheNewConfig) {
  SnapshotStore store;
  SnapshotAssembler assembler({Target("a"), Target("b")}, store, nullptr);
  assembler.AddTarget(Target("c"));
  assembler.SetOrder({"c", "a", "unknown", "b"});
  assembler.PublishNow();
  const auto& targets = store.Current()->targets;
  ASSERT_EQ(targets.size(), 3u);
  EXPECT_EQ(targets[0].name, "c");
  EXPECT_EQ(targets[1].name, "a");
  EXPECT_EQ(targets[2].name, "b");
}

}  // namespace
}  // namespace pgconn
