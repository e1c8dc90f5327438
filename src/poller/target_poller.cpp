#include <spdlog/spdlog.h>

#include <algorithm>

#include "pgconn/churn_metrics.h"
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
  // The first retries come at most one interval (and at most 5 s) apart, so a server that
  // comes back is seen quickly; only a lasting outage backs off.
  const Millis fast = std::min(interval, kFastRetryLimit);
  if (failures <= kFastRetries) {
    return Millis(static_cast<int64_t>(static_cast<double>(fast.count()) * std::min(jitter, 1.0)));
  }
  const Millis cap = std::max(interval, std::min(Millis(60000), interval * 8));
  Millis delay = fast;
  for (int i = kFastRetries; i < failures && delay < cap; ++i) delay *= 2;
  delay = std::min(delay, cap);
  return Millis(static_cast<int64_t>(static_cast<double>(delay.count()) * jitter));
}

TargetPoller::TargetPoller(TargetConfig target, std::unique_ptr<TargetSession> session,
                           Millis interval, Publish publish, std::shared_ptr<spdlog::logger> log,
                           PollScheduler* scheduler)
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
          },
          scheduler) {
  status_.last_error = "not polled yet";
}

TargetPoller::~TargetPoller() {
  loop_.Stop();
  session_->Close();
}

void TargetPoller::RequestStop() { loop_.RequestStop(); }

void TargetPoller::Start(Millis first_delay) { loop_.Start(first_delay); }

const TargetStatus& TargetPoller::PollOnce() {
  const auto started = SteadyClock::now();
  PollWithOneRetry();
  status_.polled = true;
  status_.poll_duration_seconds =
      std::chrono::duration<double>(SteadyClock::now() - started).count();
  ProbeAccept();
  LogTransition();
  try {
    publish_(target_, status_);
  } catch (const std::exception& error) {
    log_->error("target {}: publishing the poll result failed: {}", target_.name, error.what());
  }
  return status_;
}

std::optional<PollFailure> TargetPoller::Attempt() {
  try {
    if (!session_->IsOpen()) session_->Open();
    Record(session_->Poll());
    return std::nullopt;
  } catch (const PollFailure& failure) {
    return failure;
  } catch (const std::exception& error) {
    return PollFailure(FailureReason::kOther, error.what());
  }
}

// A session that dies (terminated, server restarted, frozen backend) is replaced at once,
// once, before the poll counts as failed: the server may well be fine.
void TargetPoller::PollWithOneRetry() {
  const bool was_open = session_->IsOpen();
  auto failure = Attempt();
  if (failure && was_open && !session_->IsOpen() && IsSessionLoss(failure->reason())) {
    ++status_.error_counts[static_cast<size_t>(failure->reason())];
    LogLimited(spdlog::level::warn, "lost:" + std::string(FailureReasonName(failure->reason())),
               fmt::format("target {}: session lost ({}), reconnecting at once: {}", target_.name,
                           FailureReasonName(failure->reason()), failure->what()));
    failure = Attempt();
  }
  if (failure) RecordFailure(failure->reason(), failure->what());
}

void TargetPoller::ProbeAccept() {
  try {
    status_.accept_probe = session_->ProbeAccept();
  } catch (const std::exception& error) {
    status_.accept_probe = AcceptProbeResult{false, 0, error.what()};
  }
  const auto& probe = status_.accept_probe;
  const std::string key = probe ? (probe->accepting ? "accepting" : "not_accepting") : "";
  if (key == last_accept_key_) return;
  if (probe && !probe->accepting) {
    logged_refusal_ =
        LogLimited(spdlog::level::warn, key,
                   fmt::format("target {}: the server does not accept new connections: {}",
                               target_.name, probe->error));
  } else if (probe && !last_accept_key_.empty()) {
    LogLimited(spdlog::level::info, key,
               fmt::format("target {}: the server accepts new connections again", target_.name),
               logged_refusal_);
    logged_refusal_ = false;
  }
  last_accept_key_ = key;
}

bool TargetPoller::LogLimited(spdlog::level::level_enum level, const std::string& key,
                              const std::string& line, bool force) {
  auto suppressed = transition_log_.Admit(key, SteadyClock::now(), force);
  if (suppressed) log_->log(level, "{}{}", line, SuppressedNote(*suppressed));
  return suppressed.has_value();
}

void TargetPoller::Record(const TargetSample& sample) {
  AccumulateNewConnections(sample, target_.max_connection_series, status_.new_connections);
  notices_.Observe(target_, sample, *log_);
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
  CheckLoginRole(sample);
}

// A dropped role, a lost LOGIN or a passed VALID UNTIL leave the live session working, but the
// next login (after any restart or lost session) will fail: say so while there is time.
void TargetPoller::CheckLoginRole(const TargetSample& sample) {
  if (!sample.login_role) return;
  const LoginRoleCheck& role = *sample.login_role;
  const bool valid = role.exists && role.can_login && !role.expired;
  if (valid == login_role_valid_) return;
  login_role_valid_ = valid;
  if (valid) {
    LogLimited(spdlog::level::info, "login_role_valid",
               fmt::format("target {}: the exporter's role may log in again", target_.name));
    return;
  }
  const char* what = !role.exists      ? "was dropped"
                     : !role.can_login ? "lost LOGIN"
                                       : "has expired (VALID UNTIL)";
  LogLimited(spdlog::level::warn, "login_role_invalid",
             fmt::format("target {}: the exporter's role {} ({}); the current session still "
                         "works, the next login will fail",
                         target_.name, what, FailureReasonName(FailureReason::kRoleMissing)));
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

// Every change of state is logged (up, down for reason A, down for reason B...), each state
// at most once a minute so a flapping target cannot flood the log.
void TargetPoller::LogTransition() {
  const std::string key =
      status_.up
          ? "up"
          : std::string(FailureReasonName(status_.last_failure.value_or(FailureReason::kOther)));
  if (key == last_state_key_) return;
  last_state_key_ = key;
  if (status_.up) {
    // A recovery always follows a logged failure into the log.
    const bool force = !last_logged_state_.empty() && last_logged_state_ != "up";
    if (LogLimited(spdlog::level::info, key,
                   fmt::format("target {} is up ({})", target_.name, RedactDsn(target_.dsn)),
                   force)) {
      last_logged_state_ = key;
    }
  } else if (LogLimited(spdlog::level::warn, key,
                        fmt::format("target {} is down ({}): {}", target_.name, key,
                                    status_.last_error))) {
    last_logged_state_ = key;
  }
}

}  // namespace pgconn
