// Issue 14: reading the churn queries' results; the session keeps only the previous poll's
// server time between polls (it survives reconnects, so an outage's new sessions still count).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "pg_rows.h"
#include "pgconn/sample.h"

namespace pgconn {

std::vector<DatabaseSessions> ReadDatabaseSessions(const Rows& rows);

// queries::kActivity with the churn aggregates added (issue 15: one pg_stat_activity read per
// poll), its parameter (the previous poll's server time; none: nothing counts as new), and
// the churn groups summed from its rows; `server_now` receives the server's clock for the
// next poll's parameter.
std::string ActivityWithChurnQuery();
std::string SinceParameter(std::optional<double> since_unix);
std::vector<ChurnGroup> ReadChurnFromActivity(const Rows& rows, std::optional<double>& server_now);

}  // namespace pgconn
