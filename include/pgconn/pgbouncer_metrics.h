// Pure mapping from one PgBouncer's poll state to metric families. No I/O here.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "pgconn/config.h"
#include "pgconn/pgbouncer_sample.h"
#include "pgconn/poll_loop.h"
#include "pgconn/render.h"
#include "pgconn/snapshot.h"

namespace pgconn {

// The poller's view of one PgBouncer after its latest poll.
struct PgbouncerStatus {
  PollHealth health;
  std::optional<PgbouncerSample> sample;  // only when up
};

struct PgbouncerPoolLimits {
  int64_t pool_size = 0;
  int64_t reserve_pool = 0;
};

// SHOW DATABASES for `database`, else default_pool_size / reserve_pool_size from SHOW CONFIG.
PgbouncerPoolLimits PoolLimitsFor(const PgbouncerSample& sample, const std::string& database);

// Server connections of a pool that are taken (every state but idle).
int64_t ServersInUse(const PgbouncerPool& pool);

// Clients wait and every one of the pool_size server connections is in use.
bool PoolSaturated(const PgbouncerPool& pool, int64_t pool_size);

// Server connections this PgBouncer may open: per database, (pool_size + reserve_pool) per
// user pool (at least one), capped by the database's max_db_connections and by
// max_user_connections per user; summed. The admin database "pgbouncer" opens none.
std::optional<int64_t> ServerConnectionBudget(const PgbouncerSample& sample);

// The landing page's view: status, per-pool queue and servers, clients vs max_client_conn.
PgbouncerSummary SummarizePgbouncer(const PgbouncerConfig& pgbouncer,
                                    const PgbouncerStatus& status);

Families MapPgbouncer(const PgbouncerConfig& pgbouncer, const PgbouncerStatus& status);

}  // namespace pgconn
