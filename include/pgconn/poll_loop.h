// What every poller shares: the health bookkeeping of a persistent session (up, failure
// reasons, error counts) and the schedule that polls on the interval and backs off while down.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "pgconn/config.h"
#include "pgconn/failure.h"
#include "pgconn/poll_scheduler.h"

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

// One poller's schedule: `poll` runs after `first_delay`, then on the interval while it returns
// 0 consecutive failures, else after BackoffDelay. The polls run on `scheduler`'s pool (shared
// by the exporter's pollers); without one, on a private pool of one worker. Stopped (waiting
// for a running poll) on destruction.
class PollLoop {
 public:
  using Poll = std::function<int()>;  // one poll; returns the consecutive failures after it
  using Crash = std::function<void(const std::string&)>;

  PollLoop(Millis interval, Poll poll, Crash on_crash, PollScheduler* scheduler = nullptr);
  ~PollLoop();
  PollLoop(const PollLoop&) = delete;
  PollLoop& operator=(const PollLoop&) = delete;

  void Start(Millis first_delay);
  void RequestStop();  // returns at once; the poll does not start again
  void Stop();         // RequestStop, then wait for a running poll

 private:
  Millis interval_;
  Poll poll_;
  Crash on_crash_;
  std::unique_ptr<PollScheduler> own_scheduler_;  // only without a shared one
  PollScheduler* scheduler_;
  std::mutex mutex_;
  std::optional<PollScheduler::JobId> job_;
  bool stopping_ = false;
};

}  // namespace pgconn
