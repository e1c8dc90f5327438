#include "pgconn/poll_loop.h"

#include <chrono>

namespace pgconn {
namespace {

using SteadyClock = std::chrono::steady_clock;

double UnixNow() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace

void PollHealth::RecordSuccess() {
  up = true;
  last_failure.reset();
  last_error.clear();
  last_success_unix = UnixNow();
  consecutive_failures = 0;
}

void PollHealth::RecordFailure(FailureReason reason, const std::string& message) {
  up = false;
  last_failure = reason;
  last_error = message;
  ++error_counts[static_cast<size_t>(reason)];
  ++consecutive_failures;
}

void RunGuardedPoll(PollHealth& health, const std::function<void()>& poll) {
  const auto started = SteadyClock::now();
  try {
    poll();
  } catch (const PollFailure& failure) {
    health.RecordFailure(failure.reason(), failure.what());
  } catch (const std::exception& error) {
    health.RecordFailure(FailureReason::kOther, error.what());
  }
  health.polled = true;
  health.poll_duration_seconds =
      std::chrono::duration<double>(SteadyClock::now() - started).count();
}

PollLoop::PollLoop(Millis interval, Poll poll, Crash on_crash, PollScheduler* scheduler)
    : interval_(interval),
      poll_(std::move(poll)),
      on_crash_(std::move(on_crash)),
      own_scheduler_(scheduler == nullptr
                         ? std::make_unique<PollScheduler>(PollScheduler::Options{1})
                         : nullptr),
      scheduler_(scheduler == nullptr ? own_scheduler_.get() : scheduler) {}

PollLoop::~PollLoop() { Stop(); }

void PollLoop::Stop() {
  std::optional<PollScheduler::JobId> job;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
    job = job_;
  }
  if (job) scheduler_->Remove(*job);
}

void PollLoop::RequestStop() {
  std::optional<PollScheduler::JobId> job;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
    job = job_;
  }
  if (job) scheduler_->Cancel(*job);
}

void PollLoop::Start(Millis first_delay) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (stopping_ || job_) return;
  job_ = scheduler_->Add(interval_, first_delay, poll_, on_crash_);
}

}  // namespace pgconn
