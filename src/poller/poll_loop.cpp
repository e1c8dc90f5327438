#include "pgconn/poll_loop.h"

#include <algorithm>

#include "pgconn/clock_math.h"

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

PollLoop::PollLoop(Millis interval, Poll poll, Crash on_crash)
    : interval_(interval),
      poll_(std::move(poll)),
      on_crash_(std::move(on_crash)),
      random_(std::random_device{}()) {}

PollLoop::~PollLoop() { Stop(); }

void PollLoop::Stop() {
  RequestStop();
  if (thread_.joinable()) thread_.join();
}

void PollLoop::RequestStop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
}

void PollLoop::Start(Millis first_delay) {
  thread_ = std::thread([this, first_delay] {
    try {
      Run(first_delay);
    } catch (const std::exception& error) {
      on_crash_(error.what());
    } catch (...) {
      on_crash_("unknown exception");
    }
  });
}

bool PollLoop::WaitUntil(SteadyClock::time_point when) {
  std::unique_lock<std::mutex> lock(mutex_);
  return wake_.wait_until(lock, when, [this] { return stopping_; });
}

void PollLoop::Run(Millis first_delay) {
  std::uniform_real_distribution<double> jitter(0.8, 1.2);
  auto next = SaturatingAdd<SteadyClock>(SteadyClock::now(), first_delay);
  if (WaitUntil(next)) return;
  while (true) {
    const int failures = poll_();
    if (failures == 0) {
      // Keep the cadence; after a long poll, start the next one now instead of bursting.
      next = std::max(SaturatingAdd<SteadyClock>(next, interval_), SteadyClock::now());
    } else {
      next = SaturatingAdd<SteadyClock>(SteadyClock::now(),
                                        BackoffDelay(interval_, failures, jitter(random_)));
    }
    if (WaitUntil(next)) return;
  }
}

}  // namespace pgconn
