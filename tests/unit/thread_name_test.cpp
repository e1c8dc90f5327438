// The exporter's threads carry names that say their job (top -H, perf, /proc/PID/task).
#include "pgconn/thread_name.h"

#include <dirent.h>
#include <gtest/gtest.h>
#include <pthread.h>

#include <chrono>
#include <fstream>
#include <future>
#include <set>
#include <string>
#include <thread>

#include "pgconn/poll_scheduler.h"
#include "pgconn/snapshot_assembler.h"

namespace pgconn {
namespace {

std::string CurrentThreadName() {
  char name[16] = {};
  pthread_getname_np(pthread_self(), name, sizeof(name));
  return name;
}

std::set<std::string> ThreadNamesOfThisProcess() {
  std::set<std::string> names;
  DIR* tasks = opendir("/proc/self/task");
  if (tasks == nullptr) return names;
  while (const dirent* entry = readdir(tasks)) {
    if (entry->d_name[0] == '.') continue;
    std::ifstream comm(std::string("/proc/self/task/") + entry->d_name + "/comm");
    std::string name;
    if (std::getline(comm, name)) names.insert(name);
  }
  closedir(tasks);
  return names;
}

TEST(ThreadName, LongNamesAreCutToWhatLinuxKeeps) {
  std::string seen;
  std::thread([&] {
    NameThisThread("pgconn-a-name-longer-than-fifteen");
    seen = CurrentThreadName();
  }).join();
  EXPECT_EQ(seen, "pgconn-a-name-l");
}

TEST(ThreadName, PollsRunOnThreadsNamedForIt) {
  std::promise<std::string> name;
  auto seen = name.get_future();
  std::atomic<bool> first{true};
  PollScheduler scheduler({});
  const auto id = scheduler.Add(
      Millis(1000), Millis(0),
      [&] {
        if (first.exchange(false)) name.set_value(CurrentThreadName());
        return 0;
      },
      [](const std::string&) {});
  ASSERT_EQ(seen.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  scheduler.Remove(id);
  EXPECT_EQ(seen.get(), "pgconn-poll");
  EXPECT_EQ(ThreadNamesOfThisProcess().count("pgconn-dispatch"), 1u);
}

TEST(ThreadName, ThePublisherIsNamed) {
  SnapshotStore store;
  SnapshotAssembler assembler({}, store, [] { return Families{}; });
  // The name is set as the thread starts; give it a moment on a loaded machine.
  for (int i = 0; i < 100 && ThreadNamesOfThisProcess().count("pgconn-publish") == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(ThreadNamesOfThisProcess().count("pgconn-publish"), 1u);
}

}  // namespace
}  // namespace pgconn
