// What every poller shares: the health bookkeeping of a persistent session (up, failure
// reasons, error counts) and the thread that polls on the interval and backs off while down.
#pragma once

#include <array>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>

#include "pgconn/config.h"
#include "pgconn/failure.h"

namespace pgconn {

struct PollHealth {
  bool up = false;
  bool polled = false;  // false until the first poll finished
  std::optional<FailureReason> last_failure;
  std::string last_error = "not polled yet";  // redacted
  double poll_duration_seconds = 0;
  std::optional<double> last_success_unix;
  std::array<uint64_t, kAllFailureReasons.size()> error_counts{};
  int consecutive_failures = 0;

  void RecordSuccess();
  void RecordFailure(FailureReason reason, const std::string& message);
};

// Runs `poll` once, turning PollFailure and any other exception into a recorded failure,
// and times it. `poll` returns normally on success or records a partial failure itself.
void RunGuardedPoll(PollHealth& health, const std::function<void()>& poll);

// Delay before the next attempt; defined in target_poller.cpp (declared in poller.h too).
Millis BackoffDelay(Millis interval, int failures, double jitter);

// Owns one polling thread: `poll` runs after `first_delay`, then on the interval while it
// returns 0 consecutive failures, else after BackoffDelay. Joined on destruction.
class PollLoop {
 public:
  using Poll = std::function<int()>;  // one poll; returns the consecutive failures after it
  using Crash = std::function<void(const std::string&)>;

  PollLoop(Millis interval, Poll poll, Crash on_crash);
  ~PollLoop();
  PollLoop(const PollLoop&) = delete;
  PollLoop& operator=(const PollLoop&) = delete;

  void Start(Millis first_delay);
  void RequestStop();  // returns at once; the destructor joins
  void Stop();         // RequestStop, then join

 private:
  void Run(Millis first_delay);
  bool WaitUntil(std::chrono::steady_clock::time_point when);  // true when stopping

  Millis interval_;
  Poll poll_;
  Crash on_crash_;
  std::mt19937 random_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace pgconn
