// One periodic poller per target, run by a PollScheduler. A slow or dead target holds one
// worker until its deadline; the pool grows so it never delays the others.
#pragma once

#include <spdlog/common.h>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <thread>

#include "pgconn/config.h"
#include "pgconn/poll_loop.h"
#include "pgconn/poll_notices.h"
#include "pgconn/target_metrics.h"
#include "pgconn/target_session.h"
#include "pgconn/transition_log.h"

namespace spdlog {
class logger;
}

namespace pgconn {

// Delay before the next attempt after `failures` consecutive failures (>= 1): the first
// kFastRetries come min(interval, 5 s) apart (jitter only shortens them), then doubling per
// failure up to max(interval, min(60s, 8 x interval)), scaled by `jitter` (in [0.8, 1.2]).
inline constexpr int kFastRetries = 6;
inline constexpr Millis kFastRetryLimit{5000};
Millis BackoffDelay(Millis interval, int failures, double jitter);

class TargetPoller {
 public:
  using Publish = std::function<void(const TargetConfig&, const TargetStatus&)>;

  TargetPoller(TargetConfig target, std::unique_ptr<TargetSession> session, Millis interval,
               Publish publish, std::shared_ptr<spdlog::logger> log,
               PollScheduler* scheduler = nullptr);  // nullptr: a private worker
  ~TargetPoller();  // stops (waiting for a running poll), closes the session
  TargetPoller(const TargetPoller&) = delete;
  TargetPoller& operator=(const TargetPoller&) = delete;

  // One poll (connecting first if needed); returns and publishes the new status.
  const TargetStatus& PollOnce();
  // Polls on the interval (on the scheduler's pool) until destruction, the first poll after
  // `first_delay` (staggering many targets' first connects).
  void Start(Millis first_delay = Millis(0));
  // Asks the thread to stop without waiting, so many pollers can wind down together.
  void RequestStop();
  const TargetConfig& target() const { return target_; }

 private:
  void Record(const TargetSample& sample);
  void RecordFailure(FailureReason reason, const std::string& message);
  std::optional<PollFailure> Attempt();
  void PollWithOneRetry();
  void CheckLoginRole(const TargetSample& sample);
  void ProbeAccept();
  void LogTransition();
  // Logs `line` unless a line with `key` went out within the minute (or `force`); true if logged.
  bool LogLimited(spdlog::level::level_enum level, const std::string& key, const std::string& line,
                  bool force = false);

  TargetConfig target_;
  std::unique_ptr<TargetSession> session_;
  Publish publish_;
  std::shared_ptr<spdlog::logger> log_;
  TargetStatus status_;
  int consecutive_failures_ = 0;
  TransitionLog transition_log_;
  std::string last_state_key_;  // empty before the first poll, so its outcome is logged
  std::string last_logged_state_;
  std::string last_accept_key_;
  bool logged_refusal_ = false;
  bool login_role_valid_ = true;
  PollNotices notices_;
  PollLoop loop_;  // the schedule shared with the PgBouncer pollers; last, so it stops first
};

}  // namespace pgconn
