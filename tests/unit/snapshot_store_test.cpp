#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <memory>

#include "pgconn/snapshot.h"

namespace pgconn {
namespace {

// A scrape must not wait while the previous snapshot is freed: the deleter of the replaced
// snapshot asks, from another thread, for the current one, and must get it at once.
TEST(SnapshotStore, ScrapesDoNotWaitWhileTheReplacedSnapshotIsFreed) {
  SnapshotStore store;
  std::future_status scrape_while_freeing = std::future_status::deferred;
  std::future<std::shared_ptr<const Snapshot>> scrape;
  store.Publish(std::shared_ptr<const Snapshot>(new Snapshot, [&](const Snapshot* old) {
    scrape = std::async(std::launch::async, [&] { return store.Current(); });
    scrape_while_freeing = scrape.wait_for(std::chrono::seconds(2));
    delete old;
  }));
  auto next = std::make_shared<Snapshot>();
  next->built_at_unix = 42;
  store.Publish(next);
  EXPECT_EQ(scrape_while_freeing, std::future_status::ready);
  ASSERT_TRUE(scrape.valid());
  EXPECT_EQ(scrape.get()->built_at_unix, 42);
  EXPECT_EQ(store.Current()->built_at_unix, 42);
}

}  // namespace
}  // namespace pgconn
