// One periodic worker per [[pgbouncer]]: the same PollHealth and PollLoop (failure reasons,
// backoff, the exporter's scheduler) as the target pollers, one persistent console session.
#pragma once

#include <functional>
#include <memory>

#include "pgconn/config.h"
#include "pgconn/pgbouncer_metrics.h"
#include "pgconn/pgbouncer_session.h"
#include "pgconn/poll_loop.h"

namespace spdlog {
class logger;
}

namespace pgconn {

class PgbouncerPoller {
 public:
  using Publish = std::function<void(const PgbouncerConfig&, const PgbouncerStatus&)>;

  PgbouncerPoller(PgbouncerConfig pgbouncer, std::unique_ptr<PgbouncerSession> session,
                  Millis interval, Publish publish, std::shared_ptr<spdlog::logger> log,
                  PollScheduler* scheduler = nullptr);  // nullptr: a private worker
  ~PgbouncerPoller();  // stops (waiting for a running poll), closes the session
  PgbouncerPoller(const PgbouncerPoller&) = delete;
  PgbouncerPoller& operator=(const PgbouncerPoller&) = delete;

  const PgbouncerStatus& PollOnce();
  void Start(Millis first_delay = Millis(0));
  void RequestStop();
  const PgbouncerConfig& config() const { return config_; }

 private:
  void Record(PgbouncerSample sample);
  void LogTransition(bool was_up);

  PgbouncerConfig config_;
  std::unique_ptr<PgbouncerSession> session_;
  Publish publish_;
  std::shared_ptr<spdlog::logger> log_;
  PgbouncerStatus status_;
  PollLoop loop_;  // last: its thread stops before the members it uses go
};

}  // namespace pgconn
