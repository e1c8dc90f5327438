#include "pgconn/failure.h"

#include <algorithm>
#include <cctype>
#include <optional>
#include <string>

namespace pgconn {
namespace {

bool Contains(std::string_view haystack, std::string_view needle) {
  auto it = std::search(haystack.begin(), haystack.end(), needle.begin(), needle.end(),
                        [](char a, char b) { return std::tolower(a) == std::tolower(b); });
  return it != haystack.end();
}

bool ContainsAny(std::string_view haystack, std::initializer_list<std::string_view> needles) {
  return std::any_of(needles.begin(), needles.end(),
                     [&](std::string_view needle) { return Contains(haystack, needle); });
}

}  // namespace

std::string_view FailureReasonName(FailureReason reason) {
  switch (reason) {
    case FailureReason::kConnectRefused:
      return "connect_refused";
    case FailureReason::kAuth:
      return "auth";
    case FailureReason::kTooManyConnections:
      return "too_many_connections";
    case FailureReason::kTimeout:
      return "timeout";
    case FailureReason::kQueryError:
      return "query_error";
    case FailureReason::kOther:
      return "other";
    case FailureReason::kTerminated:
      return "terminated";
    case FailureReason::kServerShutdown:
      return "server_shutdown";
    case FailureReason::kConnectionLost:
      return "connection_lost";
    case FailureReason::kDatabaseMissing:
      return "database_missing";
    case FailureReason::kRoleMissing:
      return "role_missing";
  }
  return "other";
}

bool IsSessionLoss(FailureReason reason) {
  return reason == FailureReason::kTerminated || reason == FailureReason::kServerShutdown ||
         reason == FailureReason::kConnectionLost || reason == FailureReason::kTimeout;
}

namespace {

// Refusals and endings that name their cause; checked before the generic patterns below.
std::optional<FailureReason> ClassifyNamedCause(std::string_view sqlstate,
                                                std::string_view message) {
  if (sqlstate == "57P01" || sqlstate == "57P05" ||
      ContainsAny(message, {"terminating connection due to administrator",
                            "terminating connection due to idle"})) {
    return FailureReason::kTerminated;
  }
  if (sqlstate == "57P02" || sqlstate == "57P03" ||
      ContainsAny(message, {"the database system is shutting down",
                            "terminating connection due to unexpected postmaster exit",
                            "terminating connection because of crash of another",
                            "the database system is in recovery mode"})) {
    return FailureReason::kServerShutdown;
  }
  if (sqlstate == "3D000" ||
      (Contains(message, "database \"") && Contains(message, "does not exist"))) {
    return FailureReason::kDatabaseMissing;
  }
  if ((Contains(message, "role \"") && Contains(message, "does not exist")) ||
      Contains(message, "is not permitted to log in")) {
    return FailureReason::kRoleMissing;
  }
  if (ContainsAny(message, {"server closed the connection unexpectedly", "connection reset",
                            "broken pipe", "no connection to the server", "not connected",
                            "lost synchronization", "could not receive data from server"})) {
    return FailureReason::kConnectionLost;
  }
  return std::nullopt;
}

}  // namespace

FailureReason ClassifyFailure(std::string_view sqlstate, std::string_view message) {
  if (auto named = ClassifyNamedCause(sqlstate, message)) return *named;
  if (sqlstate == "53300" ||
      ContainsAny(message, {"too many clients", "remaining connection slots are reserved",
                            "too many connections for"})) {
    return FailureReason::kTooManyConnections;
  }
  if (sqlstate == "57014" || sqlstate == "55P03" ||
      ContainsAny(message, {"timeout expired", "statement timeout", "deadline exceeded",
                            "canceling statement due to"})) {
    return FailureReason::kTimeout;
  }
  if (sqlstate.rfind("28", 0) == 0 ||
      ContainsAny(message,
                  {"password authentication failed", "no pg_hba.conf entry",
                   "authentication failed", "no password supplied", "password is required"})) {
    return FailureReason::kAuth;
  }
  if (ContainsAny(message, {"connection refused", "could not connect", "no route to host",
                            "could not translate host name", "network is unreachable",
                            "the database system is", "no such file or directory"})) {
    return FailureReason::kConnectRefused;
  }
  if (!sqlstate.empty()) return FailureReason::kQueryError;
  return FailureReason::kOther;
}

}  // namespace pgconn
