// Log lines a target's polls owe the operator once, not on every poll: visibility changes
// (pg_monitor granted or revoked) and reserved_settings the server does not know.
#pragma once

#include <optional>
#include <set>
#include <string>

#include "pgconn/config.h"
#include "pgconn/sample.h"

namespace spdlog {
class logger;
}

namespace pgconn {

class PollNotices {
 public:
  // Called with every sample a poll returned; logs on transitions only.
  void Observe(const TargetConfig& target, const TargetSample& sample, spdlog::logger& log);

 private:
  std::optional<bool> visibility_complete_;
  std::set<std::string> reported_unknown_;
};

}  // namespace pgconn
