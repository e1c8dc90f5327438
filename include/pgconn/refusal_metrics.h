// What a target's server log follower has counted, and its pure mapping to families.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>

#include "pgconn/log_classifier.h"
#include "pgconn/log_follower.h"
#include "pgconn/render.h"

namespace pgconn {

struct ServerLogStatus {
  std::string path;
  LogFollowerStats follower;
  std::map<std::string, uint64_t, std::less<>> refused;        // by reason
  std::map<std::string, uint64_t, std::less<>> auth_failures;  // by reason
};

// Counts one classified line into the status; false when the line was neither.
bool CountLogEvent(const LogEvent& event, ServerLogStatus& status);

Families MapServerLog(const std::string& target, const ServerLogStatus& status);

// A [[pgbouncer]] log: the refusals only (pgbouncer_max_client_conn among them), labelled
// `pgbouncer` instead of `target`.
Families MapPgbouncerLog(const std::string& pgbouncer, const ServerLogStatus& status);

}  // namespace pgconn
