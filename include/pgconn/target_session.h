// The database edge: one persistent session to one target. Only src/sources implements it,
// so the poller and its tests run without PostgreSQL.
#pragma once

#include <memory>
#include <optional>

#include "pgconn/accept_probe.h"
#include "pgconn/config.h"
#include "pgconn/deadline_watchdog.h"
#include "pgconn/failure.h"
#include "pgconn/sample.h"

namespace pgconn {

class TargetSession {
 public:
  virtual ~TargetSession() = default;
  virtual bool IsOpen() const = 0;
  // Opens the session; throws PollFailure (classified) when the server refuses or is away.
  virtual void Open() = 0;
  // Runs every collector query. A query that fails is recorded in the sample's collector
  // outcomes; a lost session (broken connection, client-side deadline) closes the session
  // and throws PollFailure.
  virtual TargetSample Poll() = 0;
  virtual void Close() = 0;
  // Checks that the server accepts a new connection without taking a slot; nullopt when
  // this kind of session has no such probe.
  virtual std::optional<AcceptProbeResult> ProbeAccept() { return std::nullopt; }
};

// The accept probe's answer is shared with other targets on the same server for up to
// `probe_reuse` (half the poll interval: a single target still probes every poll).
std::unique_ptr<TargetSession> MakePostgresSession(const TargetConfig& target,
                                                   DeadlineWatchdog& watchdog,
                                                   SharedAcceptProbe& accept_probes,
                                                   Millis probe_reuse);

}  // namespace pgconn
