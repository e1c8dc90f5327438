// The shared poll pool: cadence, backoff, removal while a poll runs, isolation from a blocked
// poll, growth and shrinking. Real clock with generous margins (the machine is shared).
#include "pgconn/poll_scheduler.h"

#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <thread>
#include <vector>

namespace pgconn {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// Records when each poll started; returns the scripted failure count. Tests declare it before
// the scheduler: a poll still running when a test ends uses it until the scheduler joins.
class Recorder {
 public:
  explicit Recorder(int failures_each = 0) : failures_each_(failures_each) {}
  PollScheduler::Poll Poll(Millis busy = Millis(0)) {
    return [this, busy] {
      {
        std::lock_guard<std::mutex> lock(mutex_);
        starts_.push_back(Clock::now());
      }
      std::this_thread::sleep_for(busy);
      failures_ += failures_each_;
      return failures_;
    };
  }
  std::vector<Clock::time_point> starts() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return starts_;
  }
  size_t count() const { return starts().size(); }

 private:
  mutable std::mutex mutex_;
  std::vector<Clock::time_point> starts_;
  int failures_each_;
  int failures_ = 0;
};

PollScheduler::Crash NoCrash() {
  return [](const std::string& why) { ADD_FAILURE() << "crash: " << why; };
}

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

TEST(PollSchedulerTest, KeepsTheIntervalCadence) {
  Recorder recorder;
  PollScheduler scheduler({});
  const auto id = scheduler.Add(Millis(100), Millis(0), recorder.Poll(), NoCrash());
  std::this_thread::sleep_for(milliseconds(1050));
  scheduler.Remove(id);
  const auto starts = recorder.starts();
  // 11 polls at 0, 100, ..., 1000 ms; a loaded machine may lose one or two, never burst.
  EXPECT_GE(starts.size(), 8u);
  EXPECT_LE(starts.size(), 12u);
  const double span = Seconds(starts.back() - starts.front());
  EXPECT_NEAR(span / static_cast<double>(starts.size() - 1), 0.1, 0.03);
}

TEST(PollSchedulerTest, FirstDelayPostponesTheFirstPoll) {
  Recorder recorder;
  PollScheduler scheduler({});
  const auto added = Clock::now();
  scheduler.Add(Millis(10000), Millis(300), recorder.Poll(), NoCrash());
  std::this_thread::sleep_for(milliseconds(150));
  EXPECT_EQ(recorder.count(), 0u);
  std::this_thread::sleep_for(milliseconds(600));
  ASSERT_EQ(recorder.count(), 1u);
  EXPECT_GE(Seconds(recorder.starts()[0] - added), 0.29);
}

TEST(PollSchedulerTest, BacksOffAfterConsecutiveFailures) {
  Recorder recorder(1);  // every poll fails
  PollScheduler scheduler({});
  const auto id = scheduler.Add(Millis(100), Millis(0), recorder.Poll(), NoCrash());
  std::this_thread::sleep_for(milliseconds(2500));
  scheduler.Remove(id);
  const auto starts = recorder.starts();
  ASSERT_GE(starts.size(), 9u);
  // Fast retries (<= interval) first, then BackoffDelay doubles: after 8 failures >= 320 ms.
  EXPECT_LT(Seconds(starts[1] - starts[0]), 0.3);
  EXPECT_GE(Seconds(starts[8] - starts[7]), 0.3);
  EXPECT_LT(starts.size(), 20u);  // no backoff would poll 25 times
}

TEST(PollSchedulerTest, RemoveWaitsForTheRunningPollAndStopsTheJob) {
  PollScheduler scheduler({});
  std::atomic<bool> started{false};
  std::atomic<bool> finished{false};
  std::atomic<int> runs{0};
  const auto id = scheduler.Add(
      Millis(50), Millis(0),
      [&] {
        ++runs;
        started = true;
        std::this_thread::sleep_for(milliseconds(300));
        finished = true;
        return 0;
      },
      NoCrash());
  while (!started) std::this_thread::sleep_for(milliseconds(5));
  scheduler.Remove(id);
  EXPECT_TRUE(finished);  // Remove returned only after the running poll did
  const int after_remove = runs;
  std::this_thread::sleep_for(milliseconds(300));
  EXPECT_EQ(runs, after_remove);
  EXPECT_EQ(scheduler.stats().jobs, 0u);
}

TEST(PollSchedulerTest, CancelledJobNeverStarts) {
  Recorder recorder;
  PollScheduler scheduler({});
  const auto id = scheduler.Add(Millis(50), Millis(100), recorder.Poll(), NoCrash());
  scheduler.Cancel(id);
  std::this_thread::sleep_for(milliseconds(300));
  EXPECT_EQ(recorder.count(), 0u);
}

TEST(PollSchedulerTest, ABlockedPollDoesNotDelayTheOthers) {
  Recorder frozen;
  Recorder healthy;
  PollScheduler::Options options;
  options.max_workers = 3;
  options.grow_after = Millis(20);
  PollScheduler scheduler(options);
  scheduler.Add(Millis(100), Millis(0), frozen.Poll(Millis(2000)), NoCrash());
  const auto id = scheduler.Add(Millis(100), Millis(10), healthy.Poll(), NoCrash());
  std::this_thread::sleep_for(milliseconds(1500));
  scheduler.Remove(id);
  const auto starts = healthy.starts();
  ASSERT_GE(starts.size(), 10u);  // 15 expected; one worker stays blocked all along
  double max_gap = 0;
  for (size_t i = 1; i < starts.size(); ++i) {
    max_gap = std::max(max_gap, Seconds(starts[i] - starts[i - 1]));
  }
  EXPECT_LT(max_gap, 0.5);
  EXPECT_GE(scheduler.stats().workers, 2u);
}

TEST(PollSchedulerTest, GrowsToTheCapWhileBlockedAndShrinksWhenIdle) {
  PollScheduler::Options options;
  options.max_workers = 4;
  options.grow_after = Millis(10);
  options.idle_exit = Millis(200);
  PollScheduler scheduler(options);
  std::vector<std::unique_ptr<Recorder>> recorders;
  std::vector<PollScheduler::JobId> ids;
  for (int i = 0; i < 6; ++i) {
    recorders.push_back(std::make_unique<Recorder>());
    ids.push_back(
        scheduler.Add(Millis(50), Millis(0), recorders.back()->Poll(Millis(400)), NoCrash()));
  }
  std::this_thread::sleep_for(milliseconds(300));
  EXPECT_EQ(scheduler.stats().workers, 4u);  // six blocked jobs, capped at four
  EXPECT_EQ(scheduler.stats().busy, 4u);
  for (auto id : ids) scheduler.Remove(id);
  std::this_thread::sleep_for(milliseconds(1000));
  EXPECT_EQ(scheduler.stats().workers, 1u);
  EXPECT_LE(scheduler.stats().workers_started, 6u);
}

// Each due poll wakes one idle worker, the latest idle: the others sleep on and idle out even
// while polls keep coming.
TEST(PollSchedulerTest, SurplusWorkersIdleOutWhilePollsGoOn) {
  PollScheduler::Options options;
  options.max_workers = 4;
  options.grow_after = Millis(10);
  options.idle_exit = Millis(300);
  Recorder fast;
  std::vector<std::unique_ptr<Recorder>> slow;
  PollScheduler scheduler(options);
  std::vector<PollScheduler::JobId> blocking;
  for (int i = 0; i < 4; ++i) {
    slow.push_back(std::make_unique<Recorder>());
    blocking.push_back(
        scheduler.Add(Millis(60000), Millis(0), slow.back()->Poll(Millis(300)), NoCrash()));
  }
  std::this_thread::sleep_for(milliseconds(200));
  ASSERT_EQ(scheduler.stats().workers, 4u);
  scheduler.Add(Millis(20), Millis(0), fast.Poll(), NoCrash());  // ~50 polls a second
  std::this_thread::sleep_for(milliseconds(1500));
  EXPECT_EQ(scheduler.stats().workers, 1u) << "idle workers kept awake by every poll";
  EXPECT_GE(fast.count(), 30u);
  for (auto id : blocking) scheduler.Remove(id);
}

TEST(PollSchedulerTest, ACrashingPollEndsOnlyItsOwnJob) {
  Recorder healthy;
  PollScheduler scheduler({});
  std::atomic<int> crashes{0};
  std::atomic<int> runs{0};
  scheduler.Add(
      Millis(50), Millis(0),
      [&]() -> int {
        ++runs;
        throw std::runtime_error("boom");
      },
      [&](const std::string& why) {
        EXPECT_EQ(why, "boom");
        ++crashes;
      });
  scheduler.Add(Millis(50), Millis(0), healthy.Poll(), NoCrash());
  std::this_thread::sleep_for(milliseconds(400));
  EXPECT_EQ(runs, 1);
  EXPECT_EQ(crashes, 1);
  EXPECT_GE(healthy.count(), 4u);
  EXPECT_EQ(scheduler.stats().jobs, 1u);
}

TEST(PollSchedulerTest, RemoveFromInsideItsOwnPollDoesNotDeadlock) {
  PollScheduler scheduler({});
  std::atomic<int> runs{0};
  std::atomic<PollScheduler::JobId> id{0};
  id = scheduler.Add(
      Millis(50), Millis(100),
      [&] {
        ++runs;
        scheduler.Remove(id);  // set long before: the first poll waits 100 ms
        return 0;
      },
      NoCrash());
  std::this_thread::sleep_for(milliseconds(400));
  EXPECT_EQ(runs, 1);
  EXPECT_EQ(scheduler.stats().jobs, 0u);
}

}  // namespace
}  // namespace pgconn
