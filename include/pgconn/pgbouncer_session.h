// The PgBouncer edge: one persistent session to one admin console, with plain libpq and the
// simple query protocol (libpqxx 6.4 refuses the console). Only src/sources implements it.
#pragma once

#include <memory>

#include "pgconn/config.h"
#include "pgconn/deadline_watchdog.h"
#include "pgconn/failure.h"
#include "pgconn/pgbouncer_sample.h"

namespace pgconn {

class PgbouncerSession {
 public:
  virtual ~PgbouncerSession() = default;
  virtual bool IsOpen() const = 0;
  // Opens the session; throws PollFailure (classified) when PgBouncer refuses or is away.
  virtual void Open() = 0;
  // Runs every SHOW; a failed one is a collector outcome, a lost session throws PollFailure.
  virtual PgbouncerSample Poll() = 0;
  virtual void Close() = 0;
};

std::unique_ptr<PgbouncerSession> MakePgbouncerSession(const PgbouncerConfig& pgbouncer,
                                                       DeadlineWatchdog& watchdog);

}  // namespace pgconn
