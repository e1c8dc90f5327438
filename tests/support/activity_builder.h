// One pg_stat_activity GROUP BY row for the pure mapping tests.
#pragma once

#include <cstdint>
#include <string>
#include <utility>

#include "pgconn/sample.h"

namespace pgconn::testing {

struct GroupKey {
  std::string backend_type = "client backend";
  std::string database;
  std::string user;
  std::string application;
  std::string state;
  std::string client_addr;
};

// `others` sessions that are not the exporter's, plus `self` (0 or 1) that is.
inline ActivityGroup MakeGroup(GroupKey key, int64_t others, int64_t self = 0) {
  ActivityGroup group;
  group.backend_type = std::move(key.backend_type);
  group.database = std::move(key.database);
  group.user = std::move(key.user);
  group.application = std::move(key.application);
  group.state = std::move(key.state);
  group.client_addr = std::move(key.client_addr);
  group.others = others;
  group.sessions = others + self;
  return group;
}

}  // namespace pgconn::testing
