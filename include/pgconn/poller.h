// One periodic worker per target. A slow or dead target only ever delays its own thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <random>
#include <thread>

#include "pgconn/config.h"
#include "pgconn/poll_loop.h"
#include "pgconn/target_metrics.h"
#include "pgconn/target_session.h"

namespace spdlog {
class logger;
}

namespace pgconn {

// Delay before the next attempt after `failures` consecutive failures (>= 1):
// interval doubling per failure, capped at max(interval, min(60s, 8 x interval)),
// scaled by `jitter` (expected in [0.8, 1.2]).
Millis BackoffDelay(Millis interval, int failures, double jitter);

class TargetPoller {
 public:
  using Publish = std::function<void(const TargetConfig&, const TargetStatus&)>;

  TargetPoller(TargetConfig target, std::unique_ptr<TargetSession> session, Millis interval,
               Publish publish, std::shared_ptr<spdlog::logger> log);
  ~TargetPoller();  // stops and joins the thread, closes the session
  TargetPoller(const TargetPoller&) = delete;
  TargetPoller& operator=(const TargetPoller&) = delete;

  // One poll (connecting first if needed); returns and publishes the new status.
  const TargetStatus& PollOnce();
  // Polls on the interval in a thread of its own until destruction, the first poll after
  // `first_delay` (staggering many targets' first connects).
  void Start(Millis first_delay = Millis(0));
  // Asks the thread to stop without waiting, so many pollers can wind down together.
  void RequestStop();
  const TargetConfig& target() const { return target_; }

 private:
  void Record(const TargetSample& sample);
  void RecordFailure(FailureReason reason, const std::string& message);
  void LogTransition(bool was_up);

  TargetConfig target_;
  std::unique_ptr<TargetSession> session_;
  Publish publish_;
  std::shared_ptr<spdlog::logger> log_;
  TargetStatus status_;
  int consecutive_failures_ = 0;
  PollLoop loop_;  // the schedule shared with the PgBouncer pollers; last, so it stops first
};

}  // namespace pgconn
