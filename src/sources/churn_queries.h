// Issue 14: reading the churn queries' results; the session keeps only the previous poll's
// server time between polls (it survives reconnects, so an outage's new sessions still count).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "pg_rows.h"
#include "pgconn/sample.h"

namespace pgconn {

// queries::kChurn with {since} filled in; no previous poll means nothing counts as new.
std::string ChurnQuery(std::optional<double> since_unix);
// Returns the groups; `server_now` receives the server's clock for the next poll's {since}.
std::vector<ChurnGroup> ReadChurn(const Rows& rows, std::optional<double>& server_now);
std::vector<DatabaseSessions> ReadDatabaseSessions(const Rows& rows);

}  // namespace pgconn
