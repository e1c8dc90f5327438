// Why a poll or a (re)connect failed, classified so operators can count and alert on it.
#pragma once

#include <array>
#include <stdexcept>
#include <string>
#include <string_view>

namespace pgconn {

enum class FailureReason {
  kConnectRefused,      // nothing listens, host unreachable, server starting/stopping
  kAuth,                // password or pg_hba rejection
  kTooManyConnections,  // SQLSTATE 53300: out of slots (server, database or role limit)
  kTimeout,             // connect timeout, statement timeout, or our own client-side deadline
  kQueryError,          // a query failed on an open session
  kOther,
  kTerminated,       // our backend was ended: pg_terminate_backend, admin shutdown
  kServerShutdown,   // the server is shutting down (fast/immediate stop, crash recovery)
  kConnectionLost,   // the socket closed without a message from the server
  kDatabaseMissing,  // the target's database does not exist (dropped, renamed)
  kRoleMissing,      // our role does not exist, or was dropped while the session lived
};

inline constexpr std::array<FailureReason, 11> kAllFailureReasons = {
    FailureReason::kConnectRefused,     FailureReason::kAuth,
    FailureReason::kTooManyConnections, FailureReason::kTimeout,
    FailureReason::kQueryError,         FailureReason::kOther,
    FailureReason::kTerminated,         FailureReason::kServerShutdown,
    FailureReason::kConnectionLost,     FailureReason::kDatabaseMissing,
    FailureReason::kRoleMissing};

// True for reasons that mean an open session died (worth one immediate reconnect).
bool IsSessionLoss(FailureReason reason);

std::string_view FailureReasonName(FailureReason reason);

// Classifies a libpq/libpqxx failure from its SQLSTATE (may be empty) and message text.
FailureReason ClassifyFailure(std::string_view sqlstate, std::string_view message);

// Thrown by a TargetSession when the session is unusable; the message never has a password.
class PollFailure : public std::runtime_error {
 public:
  PollFailure(FailureReason reason, const std::string& message)
      : std::runtime_error(message), reason_(reason) {}
  FailureReason reason() const { return reason_; }

 private:
  FailureReason reason_;
};

}  // namespace pgconn
