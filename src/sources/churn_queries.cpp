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

std::vector<ChurnGroup> ReadChurn(const pqxx::result& rows, std::optional<double>& server_now) {
  static const char* const kBucketColumns[] = {"le_1",   "le_10",   "le_60",
                                               "le_600", "le_3600", "le_86400"};
  std::vector<ChurnGroup> groups;
  for (const auto& row : rows) {
    server_now = row["server_now"].as<double>();
    if (row["database"].is_null()) continue;  // no client connected
    ChurnGroup group;
    group.database = row["database"].c_str();
    group.user = row["usename"].c_str();
    group.application = row["application"].c_str();
    group.new_sessions = row["new_sessions"].as<int64_t>();
    group.sessions = row["sessions"].as<int64_t>();
    for (size_t i = 0; i < group.age_buckets.size(); ++i) {
      group.age_buckets[i] = row[kBucketColumns[i]].as<int64_t>();
    }
    group.age_sum_seconds = row["age_sum"].as<double>();
    groups.push_back(std::move(group));
  }
  return groups;
}

std::vector<DatabaseSessions> ReadDatabaseSessions(const pqxx::result& rows) {
  std::vector<DatabaseSessions> out;
  for (const auto& row : rows) {
    DatabaseSessions database;
    database.database = row["datname"].c_str();
    database.sessions = row["sessions"].as<int64_t>(0);
    database.abandoned = row["sessions_abandoned"].as<int64_t>(0);
    database.fatal = row["sessions_fatal"].as<int64_t>(0);
    database.killed = row["sessions_killed"].as<int64_t>(0);
    database.session_seconds = row["session_seconds"].as<double>(0);
    out.push_back(std::move(database));
  }
  return out;
}

}  // namespace pgconn
