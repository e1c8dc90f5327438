#include "churn_queries.h"

#include <cstdio>
#include <map>
#include <tuple>

#include "queries.h"

namespace pgconn {

namespace {

void ReplaceAll(std::string& text, const std::string& placeholder, const std::string& value) {
  for (size_t at = text.find(placeholder); at != std::string::npos;
       at = text.find(placeholder, at + value.size())) {
    text.replace(at, placeholder.size(), value);
  }
}

// One `churn_le_<i>` column per age bound; backend_start >= now() - bound is age <= bound
// without computing the age (an extract per row and bound) on every row.
std::string BucketColumns() {
  std::string columns;
  for (size_t i = 0; i < kConnectionAgeBuckets.size(); ++i) {
    const auto bound = static_cast<int64_t>(kConnectionAgeBuckets[i]);
    columns += "\n       count(*) FILTER (WHERE {client} AND backend_start >= now() - interval '" +
               std::to_string(bound) + " seconds') AS churn_le_" + std::to_string(i) + ",";
  }
  return columns;
}

}  // namespace

std::string ActivityWithChurnQuery() {
  std::string columns = queries::kActivityChurnColumns;
  ReplaceAll(columns, "{buckets}", BucketColumns());
  ReplaceAll(columns, "{client}", queries::kChurnClient);
  std::string sql = queries::kActivity;
  sql.insert(sql.find("\nFROM pg_stat_activity"), columns);
  return sql;
}

std::string SinceParameter(std::optional<double> since_unix) {
  if (!since_unix) return "infinity";
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.6f", *since_unix);
  return buffer;
}

std::vector<ChurnGroup> ReadChurnFromActivity(const Rows& rows, std::optional<double>& server_now) {
  std::map<std::tuple<std::string, std::string, std::string>, ChurnGroup> groups;
  for (int row = 0; row < rows.size(); ++row) {
    server_now = rows.Double(row, "server_now");
    const int64_t sessions = rows.Int(row, "churn_sessions");
    if (sessions == 0) continue;  // no other client backend in this group
    ChurnGroup& group = groups[{rows.Text(row, "database"), rows.Text(row, "usename"),
                                rows.Text(row, "application")}];
    group.sessions += sessions;
    group.new_sessions += rows.Int(row, "churn_new");
    for (size_t i = 0; i < group.age_buckets.size(); ++i) {
      group.age_buckets[i] += rows.Int(row, ("churn_le_" + std::to_string(i)).c_str());
    }
    group.age_sum_seconds += rows.Double(row, "churn_age_sum");
  }
  std::vector<ChurnGroup> out;
  out.reserve(groups.size());
  for (auto& [key, group] : groups) {
    std::tie(group.database, group.user, group.application) = key;
    out.push_back(std::move(group));
  }
  return out;
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
