#include "pgconn/failure.h"

#include <algorithm>
#include <cctype>
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
  }
  return "other";
}

FailureReason ClassifyFailure(std::string_view sqlstate, std::string_view message) {
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
                            "the database system is", "server closed the connection",
                            "no such file or directory"})) {
    return FailureReason::kConnectRefused;
  }
  if (!sqlstate.empty()) return FailureReason::kQueryError;
  return FailureReason::kOther;
}

}  // namespace pgconn
