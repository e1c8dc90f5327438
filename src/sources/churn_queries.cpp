#include "churn_queries.h"

#include <cstdio>

#include "queries.h"

namespace pgconn {

std::string ChurnQuery(std::optional<double> since_unix) {
  std::string since = "'infinity'::timestamptz";
  if (since_unix) {
    char buffer[64];
    std::snprintf(buffer, sizeof buffer, "to_timestamp(%.6f)", *since_unix);
    since = buffer;
  }
  std::string sql = queries::kChurn;
  const std::string placeholder = "{since}";
  sql.replace(sql.find(placeholder), placeholder.size(), since);
  return sql;
}

std::vector<ChurnGroup> ReadChurn(const Rows& rows, std::optional<double>& server_now) {
  static const char* const kBucketColumns[] = {"le_1",   "le_10",   "le_60",
                                               "le_600", "le_3600", "le_86400"};
  std::vector<ChurnGroup> groups;
  for (int row = 0; row < rows.size(); ++row) {
    server_now = rows.Double(row, "server_now");
    if (rows.IsNull(row, "database")) continue;  // no client connected
    ChurnGroup group;
    group.database = rows.Text(row, "database");
    group.user = rows.Text(row, "usename");
    group.application = rows.Text(row, "application");
    group.new_sessions = rows.Int(row, "new_sessions");
    group.sessions = rows.Int(row, "sessions");
    for (size_t i = 0; i < group.age_buckets.size(); ++i) {
      group.age_buckets[i] = rows.Int(row, kBucketColumns[i]);
    }
    group.age_sum_seconds = rows.Double(row, "age_sum");
    groups.push_back(std::move(group));
  }
  return groups;
}

std::vector<DatabaseSessions> ReadDatabaseSessions(const Rows& rows) {
  std::vector<DatabaseSessions> out;
  for (int row = 0; row < rows.size(); ++row) {
    DatabaseSessions database;
    database.database = rows.Text(row, "datname");
    database.sessions = rows.IntOr(row, "sessions", 0);
    database.abandoned = rows.IntOr(row, "sessions_abandoned", 0);
    database.fatal = rows.IntOr(row, "sessions_fatal", 0);
    database.killed = rows.IntOr(row, "sessions_killed", 0);
    database.session_seconds = rows.DoubleOr(row, "session_seconds", 0);
    out.push_back(std::move(database));
  }
  return out;
}

}  // namespace pgconn
