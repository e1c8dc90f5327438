#include "pgconn/pgbouncer_poller.h"

#include <spdlog/spdlog.h>

#include "pgconn/conninfo.h"

namespace pgconn {
namespace {

std::string FailedCollectors(const PgbouncerSample& sample) {
  std::string names;
  for (const auto& outcome : sample.collectors) {
    if (outcome.success) continue;
    names += (names.empty() ? "" : "; ") + outcome.name + ": " + outcome.error;
  }
  return names;
}

}  // namespace

PgbouncerPoller::PgbouncerPoller(PgbouncerConfig pgbouncer,
                                 std::unique_ptr<PgbouncerSession> session, Millis interval,
                                 Publish publish, std::shared_ptr<spdlog::logger> log,
                                 PollScheduler* scheduler)
    : config_(std::move(pgbouncer)),
      session_(std::move(session)),
      publish_(std::move(publish)),
      log_(std::move(log)),
      loop_(
          interval, [this] { return PollOnce().health.consecutive_failures; },
          [this](const std::string& why) {
            log_->critical("pgbouncer {}: poller stopped: {}", config_.name(), why);
          },
          scheduler) {}

PgbouncerPoller::~PgbouncerPoller() {
  loop_.Stop();
  session_->Close();
}

void PgbouncerPoller::Start(Millis first_delay) { loop_.Start(first_delay); }
void PgbouncerPoller::RequestStop() { loop_.RequestStop(); }

const PgbouncerStatus& PgbouncerPoller::PollOnce() {
  const bool was_up = status_.health.up;
  RunGuardedPoll(status_.health, [this] {
    status_.sample.reset();
    if (!session_->IsOpen()) session_->Open();
    Record(session_->Poll());
  });
  LogTransition(was_up);
  try {
    publish_(config_, status_);
  } catch (const std::exception& error) {
    log_->error("pgbouncer {}: publishing the poll result failed: {}", config_.name(),
                error.what());
  }
  return status_;
}

// SHOW POOLS is essential: without it there is no queue to report.
void PgbouncerPoller::Record(PgbouncerSample sample) {
  const std::string failed = FailedCollectors(sample);
  for (const auto& outcome : sample.collectors) {
    if (!outcome.success) {
      ++status_.health.error_counts[static_cast<size_t>(FailureReason::kQueryError)];
    }
  }
  const bool essentials = sample.pools.has_value();
  status_.sample = std::move(sample);
  if (!essentials) {  // already counted per failed collector, as for targets
    status_.health.up = false;
    status_.health.last_failure = FailureReason::kQueryError;
    status_.health.last_error = failed;
    ++status_.health.consecutive_failures;
    return;
  }
  status_.health.RecordSuccess();
  if (!failed.empty()) log_->warn("pgbouncer {}: collectors failed: {}", config_.name(), failed);
}

void PgbouncerPoller::LogTransition(bool was_up) {
  const PollHealth& health = status_.health;
  if (health.up && !was_up) {
    log_->info("pgbouncer {} is up ({})", config_.name(), RedactDsn(config_.console.dsn));
  } else if (!health.up && (was_up || health.consecutive_failures == 1)) {
    log_->warn("pgbouncer {} is down ({}): {}", config_.name(),
               FailureReasonName(health.last_failure.value_or(FailureReason::kOther)),
               health.last_error);
  }
}

}  // namespace pgconn
