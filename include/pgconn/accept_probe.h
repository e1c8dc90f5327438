// "Can a new client connect right now?" without taking a connection slot: connect to the
// postmaster and send a GSSENCRequest (the SSLRequest's sibling, PostgreSQL 12+). The
// postmaster must accept and fork a child, and the child must read the packet and answer
// 'G' or 'N'; then we close, before any startup packet, so no backend is ever set up,
// nothing shows in pg_stat_activity, and nothing is logged (only "connection received" with
// log_connections = on).
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "pgconn/config.h"

namespace pgconn {

struct AcceptProbeResult {
  bool accepting = false;
  double duration_seconds = 0;
  std::string error;  // why not accepting; empty when accepting
};

// Where the probe connects: a TCP host (name or address) and port, or a Unix socket path.
struct AcceptEndpoint {
  std::string host;         // empty for a Unix socket
  std::string socket_path;  // "<dir>/.s.PGSQL.<port>" for a Unix socket host
  std::string port = "5432";
};

// The first server of the target's DSN (libpq's defaults where it says nothing); nullopt when
// the DSN does not parse.
std::optional<AcceptEndpoint> AcceptEndpointFor(const TargetConfig& target);

// Connects, sends a GSSENCRequest and waits for the one-byte answer, all within `timeout`.
AcceptProbeResult ProbeAccept(const AcceptEndpoint& endpoint, std::chrono::milliseconds timeout);

// Targets on one server (a database per tenant) share its answer: an endpoint probed less
// than `max_age` ago is not probed again, so the postmaster forks one probe child per
// `max_age` instead of one per target and poll. Thread-safe; probes run outside the lock.
class SharedAcceptProbe {
 public:
  using ProbeFn =
      std::function<AcceptProbeResult(const AcceptEndpoint&, std::chrono::milliseconds)>;

  explicit SharedAcceptProbe(ProbeFn probe = ProbeAccept) : probe_(std::move(probe)) {}

  AcceptProbeResult Probe(const AcceptEndpoint& endpoint, std::chrono::milliseconds timeout,
                          std::chrono::milliseconds max_age);

 private:
  struct Answer {
    std::chrono::steady_clock::time_point at;
    AcceptProbeResult result;
  };

  ProbeFn probe_;
  std::mutex mutex_;
  std::map<std::string, Answer> answers_;  // by endpoint
};

}  // namespace pgconn
