#include <spdlog/spdlog.h>

#include <algorithm>

#include "pgconn/clock_math.h"
#include "pgconn/conninfo.h"
#include "pgconn/poller.h"

namespace pgconn {
namespace {

using SteadyClock = std::chrono::steady_clock;

double UnixNow() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// Essential collectors: without them no capacity figure can be computed.
bool EssentialsOk(const TargetSample& sample) { return sample.settings && sample.activity; }

std::string FailedCollectors(const TargetSample& sample) {
  std::string names;
  for (const auto& outcome : sample.collectors) {
    if (outcome.success) continue;
    if (!names.empty()) names += "; ";
    names += outcome.name + ": " + outcome.error;
  }
  return names;
}

}  // namespace

Millis BackoffDelay(Millis interval, int failures, double jitter) {
  const Millis cap = std::max(interval, std::min(Millis(60000), interval * 8));
  Millis delay = interval;
  for (int i = 1; i < failures && delay < cap; ++i) delay *= 2;
  delay = std::min(delay, cap);
  return Millis(static_cast<int64_t>(static_cast<double>(delay.count()) * jitter));
}

TargetPoller::TargetPoller(TargetConfig target, std::unique_ptr<TargetSession> session,
                           Millis interval, Publish publish, std::shared_ptr<spdlog::logger> log)
    : target_(std::move(target)),
      session_(std::move(session)),
      interval_(interval),
      publish_(std::move(publish)),
      log_(std::move(log)),
      random_(std::random_device{}()) {
  status_.last_error = "not polled yet";
}

TargetPoller::~TargetPoller() {
  RequestStop();
  if (thread_.joinable()) thread_.join();
  session_->Close();
}

void TargetPoller::RequestStop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
}

void TargetPoller::Start(Millis first_delay) {
  thread_ = std::thread([this, first_delay] {
    try {
      Run(first_delay);
    } catch (const std::exception& error) {
      log_->critical("target {}: poller stopped: {}", target_.name, error.what());
    } catch (...) {
      log_->critical("target {}: poller stopped by an unknown exception", target_.name);
    }
  });
}

const TargetStatus& TargetPoller::PollOnce() {
  const bool was_up = status_.up;
  const auto started = SteadyClock::now();
  try {
    if (!session_->IsOpen()) session_->Open();
    Record(session_->Poll());
  } catch (const PollFailure& failure) {
    RecordFailure(failure.reason(), failure.what());
  } catch (const std::exception& error) {
    RecordFailure(FailureReason::kOther, error.what());
  }
  status_.polled = true;
  status_.poll_duration_seconds =
      std::chrono::duration<double>(SteadyClock::now() - started).count();
  LogTransition(was_up);
  try {
    publish_(target_, status_);
  } catch (const std::exception& error) {
    log_->error("target {}: publishing the poll result failed: {}", target_.name, error.what());
  }
  return status_;
}

void TargetPoller::Record(const TargetSample& sample) {
  for (const auto& outcome : sample.collectors) {
    if (!outcome.success) ++status_.error_counts[static_cast<size_t>(FailureReason::kQueryError)];
  }
  if (!EssentialsOk(sample)) {
    status_.up = false;
    status_.sample = sample;
    status_.last_failure = FailureReason::kQueryError;
    status_.last_error = FailedCollectors(sample);
    ++consecutive_failures_;
    return;
  }
  status_.up = true;
  status_.sample = sample;
  status_.last_failure.reset();
  status_.last_error.clear();
  status_.last_success_unix = UnixNow();
  consecutive_failures_ = 0;
  const std::string failed = FailedCollectors(sample);
  if (!failed.empty()) log_->warn("target {}: collectors failed: {}", target_.name, failed);
}

void TargetPoller::RecordFailure(FailureReason reason, const std::string& message) {
  status_.up = false;
  status_.sample.reset();
  status_.last_failure = reason;
  status_.last_error = message;
  ++status_.error_counts[static_cast<size_t>(reason)];
  ++consecutive_failures_;
  log_->debug("target {}: poll failed ({}): {}", target_.name, FailureReasonName(reason), message);
}

void TargetPoller::LogTransition(bool was_up) {
  if (status_.up && !was_up) {
    log_->info("target {} is up ({})", target_.name, RedactDsn(target_.dsn));
  } else if (!status_.up && (was_up || consecutive_failures_ == 1)) {
    log_->warn("target {} is down ({}): {}", target_.name,
               FailureReasonName(status_.last_failure.value_or(FailureReason::kOther)),
               status_.last_error);
  }
}

void TargetPoller::Run(Millis first_delay) {
  std::uniform_real_distribution<double> jitter(0.8, 1.2);
  auto next = SaturatingAdd<SteadyClock>(SteadyClock::now(), first_delay);
  {
    std::unique_lock<std::mutex> lock(mutex_);
    if (wake_.wait_until(lock, next, [this] { return stopping_; })) return;
  }
  while (true) {
    PollOnce();
    if (status_.up) {
      // Keep the cadence; after a long poll, start the next one now instead of bursting.
      next = std::max(SaturatingAdd<SteadyClock>(next, interval_), SteadyClock::now());
    } else {
      next = SaturatingAdd<SteadyClock>(
          SteadyClock::now(), BackoffDelay(interval_, consecutive_failures_, jitter(random_)));
    }
    std::unique_lock<std::mutex> lock(mutex_);
    if (wake_.wait_until(lock, next, [this] { return stopping_; })) return;
  }
}

}  // namespace pgconn
