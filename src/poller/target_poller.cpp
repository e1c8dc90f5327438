#include <spdlog/spdlog.h>

#include <algorithm>

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
      publish_(std::move(publish)),
      log_(std::move(log)),
      loop_(
          interval,
          [this] {
            PollOnce();
            return consecutive_failures_;
          },
          [this](const std::string& why) {
            log_->critical("target {}: poller stopped: {}", target_.name, why);
          }) {
  status_.last_error = "not polled yet";
}

TargetPoller::~TargetPoller() {
  loop_.Stop();
  session_->Close();
}

void TargetPoller::RequestStop() { loop_.RequestStop(); }

void TargetPoller::Start(Millis first_delay) { loop_.Start(first_delay); }

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

}  // namespace pgconn
