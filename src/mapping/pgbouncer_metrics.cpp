#include "pgconn/pgbouncer_metrics.h"

#include <algorithm>
#include <cstdlib>
#include <map>
#include <set>

#include "pgconn/family_builder.h"

namespace pgconn {
namespace {

using prometheus::MetricType;
constexpr const char* kAdminDatabase = "pgbouncer";

Labels With(Labels labels, std::initializer_list<std::pair<std::string, std::string>> more) {
  labels.insert(labels.end(), more.begin(), more.end());
  return labels;
}

int64_t ConfigInt(const PgbouncerSample& sample, const std::string& key) {
  if (!sample.config) return 0;
  auto it = sample.config->find(key);
  return it == sample.config->end() ? 0 : std::strtoll(it->second.c_str(), nullptr, 10);
}

int64_t CapAt(int64_t value, int64_t cap) { return cap > 0 ? std::min(value, cap) : value; }

void AddHealth(Families& out, const Labels& base, const PollHealth& health) {
  AddGauge(out, "pgconn_pgbouncer_up", "1 when the last poll of the PgBouncer console succeeded.",
           base, health.up ? 1 : 0);
  if (health.polled) {
    AddGauge(out, "pgconn_pgbouncer_poll_duration_seconds", "Time the last console poll took.",
             base, health.poll_duration_seconds);
  }
  FamilyBuilder errors("pgconn_pgbouncer_poll_errors_total",
                       "Failed console polls and connects by reason since the exporter started.",
                       MetricType::Counter);
  for (size_t i = 0; i < kAllFailureReasons.size(); ++i) {
    errors.Add(With(base, {{"reason", std::string(FailureReasonName(kAllFailureReasons[i]))}}),
               static_cast<double>(health.error_counts[i]));
  }
  out.push_back(std::move(errors).Build());
  if (health.last_success_unix) {
    AddGauge(out, "pgconn_pgbouncer_last_poll_success_timestamp_seconds",
             "Unix time of the last successful console poll.", base, *health.last_success_unix);
  }
}

void AddPools(Families& out, const Labels& base, const PgbouncerSample& sample) {
  FamilyBuilder clients("pgconn_pgbouncer_clients", "Client connections of a pool by state.");
  FamilyBuilder servers("pgconn_pgbouncer_servers", "Server connections of a pool by state.");
  FamilyBuilder wait("pgconn_pgbouncer_max_wait_seconds",
                     "How long the oldest waiting client of the pool has waited.");
  FamilyBuilder saturated("pgconn_pgbouncer_pool_saturated",
                          "1 when clients wait and all pool_size server connections are in use.");
  FamilyBuilder info("pgconn_pgbouncer_pool_info", "Pool mode of the pool, as a label; always 1.");
  for (const auto& p : *sample.pools) {
    const Labels pool = With(base, {{"database", p.database}, {"user", p.user}});
    const std::pair<const char*, int64_t> client_states[] = {
        {"active", p.cl_active},
        {"waiting", p.cl_waiting},
        {"active_cancel_req", p.cl_active_cancel_req},
        {"waiting_cancel_req", p.cl_waiting_cancel_req}};
    for (const auto& [state, n] : client_states) {
      clients.Add(With(pool, {{"state", state}}), static_cast<double>(n));
    }
    const std::pair<const char*, int64_t> server_states[] = {
        {"active", p.sv_active},
        {"idle", p.sv_idle},
        {"used", p.sv_used},
        {"tested", p.sv_tested},
        {"login", p.sv_login},
        {"active_cancel", p.sv_active_cancel},
        {"being_canceled", p.sv_being_canceled}};
    for (const auto& [state, n] : server_states) {
      servers.Add(With(pool, {{"state", state}}), static_cast<double>(n));
    }
    wait.Add(pool, p.max_wait_seconds);
    saturated.Add(pool, PoolSaturated(p, PoolLimitsFor(sample, p.database).pool_size) ? 1 : 0);
    info.Add(With(pool, {{"pool_mode", p.pool_mode}}), 1);
  }
  for (auto* family : {&clients, &servers, &wait, &saturated, &info}) {
    if (!family->empty()) out.push_back(std::move(*family).Build());
  }
}

void AddPoolSizes(Families& out, const Labels& base, const PgbouncerSample& sample) {
  std::set<std::string> names;
  if (sample.databases) {
    for (const auto& d : *sample.databases) names.insert(d.name);
  }
  if (sample.pools) {
    for (const auto& p : *sample.pools) names.insert(p.database);
  }
  FamilyBuilder size("pgconn_pgbouncer_pool_size",
                     "Server connections per user pool of the database (pool_size, else "
                     "default_pool_size).");
  FamilyBuilder reserve("pgconn_pgbouncer_reserve_pool_size",
                        "Extra server connections a pool may open when clients wait too long.");
  for (const auto& name : names) {
    const PgbouncerPoolLimits limits = PoolLimitsFor(sample, name);
    size.Add(With(base, {{"database", name}}), static_cast<double>(limits.pool_size));
    reserve.Add(With(base, {{"database", name}}), static_cast<double>(limits.reserve_pool));
  }
  if (!size.empty()) {
    out.push_back(std::move(size).Build());
    out.push_back(std::move(reserve).Build());
  }
}

void AddClientLimit(Families& out, const Labels& base, const PgbouncerSample& sample) {
  if (!sample.lists || !sample.config) return;
  auto used = sample.lists->find("used_clients");
  const int64_t max = ConfigInt(sample, "max_client_conn");
  if (used == sample.lists->end() || max <= 0) return;
  AddGauge(out, "pgconn_pgbouncer_client_connections",
           "Client connections PgBouncer holds (SHOW LISTS used_clients).", base,
           static_cast<double>(used->second));
  AddGauge(out, "pgconn_pgbouncer_max_client_connections",
           "Setting max_client_conn: beyond it PgBouncer refuses clients.", base,
           static_cast<double>(max));
  AddGauge(out, "pgconn_pgbouncer_client_connections_ratio",
           "Client connections over max_client_conn.", base,
           static_cast<double>(used->second) / static_cast<double>(max));
}

void AddStats(Families& out, const Labels& base, const std::vector<PgbouncerStats>& stats) {
  struct Counter {
    const char* name;
    const char* help;
    double PgbouncerStats::*seconds;
    int64_t PgbouncerStats::*count;
  };
  const Counter counters[] = {
      {"pgconn_pgbouncer_transactions_total", "Transactions pooled (total_xact_count).", nullptr,
       &PgbouncerStats::xact_count},
      {"pgconn_pgbouncer_queries_total", "Queries pooled (total_query_count).", nullptr,
       &PgbouncerStats::query_count},
      {"pgconn_pgbouncer_received_bytes_total", "Bytes received from clients.", nullptr,
       &PgbouncerStats::received_bytes},
      {"pgconn_pgbouncer_sent_bytes_total", "Bytes sent to clients.", nullptr,
       &PgbouncerStats::sent_bytes},
      {"pgconn_pgbouncer_transaction_seconds_total",
       "Time spent in transactions with a server connection.", &PgbouncerStats::xact_seconds,
       nullptr},
      {"pgconn_pgbouncer_query_seconds_total", "Time spent in queries on a server connection.",
       &PgbouncerStats::query_seconds, nullptr},
      {"pgconn_pgbouncer_wait_seconds_total",
       "Time clients spent waiting for a server connection; rate() is the mean queue length.",
       &PgbouncerStats::wait_seconds, nullptr},
  };
  for (const auto& counter : counters) {
    FamilyBuilder family(counter.name, counter.help, MetricType::Counter);
    for (const auto& s : stats) {
      const double value =
          counter.seconds ? s.*(counter.seconds) : static_cast<double>(s.*(counter.count));
      family.Add(With(base, {{"database", s.database}}), value);
    }
    if (!family.empty()) out.push_back(std::move(family).Build());
  }
}

void AddCollectorOutcomes(Families& out, const Labels& base, const PgbouncerSample& sample) {
  FamilyBuilder success("pgconn_pgbouncer_collector_success",
                        "1 when the SHOW command succeeded in the last poll.");
  for (const auto& outcome : sample.collectors) {
    success.Add(With(base, {{"collector", outcome.name}}), outcome.success ? 1 : 0);
  }
  if (!success.empty()) out.push_back(std::move(success).Build());
}

}  // namespace

PgbouncerPoolLimits PoolLimitsFor(const PgbouncerSample& sample, const std::string& database) {
  if (sample.databases) {
    for (const auto& d : *sample.databases) {
      if (d.name == database) return {d.pool_size, d.reserve_pool};
    }
  }
  return {ConfigInt(sample, "default_pool_size"), ConfigInt(sample, "reserve_pool_size")};
}

int64_t ServersInUse(const PgbouncerPool& p) {
  return p.sv_active + p.sv_active_cancel + p.sv_being_canceled + p.sv_used + p.sv_tested +
         p.sv_login;
}

bool PoolSaturated(const PgbouncerPool& pool, int64_t pool_size) {
  return pool.cl_waiting > 0 && ServersInUse(pool) >= pool_size;
}

std::optional<int64_t> ServerConnectionBudget(const PgbouncerSample& sample) {
  if (!sample.databases || !sample.config) return std::nullopt;
  std::map<std::string, std::set<std::string>> users;  // database -> users with a pool
  if (sample.pools) {
    for (const auto& p : *sample.pools) users[p.database].insert(p.user);
  }
  const int64_t max_db = ConfigInt(sample, "max_db_connections");
  const int64_t max_user = ConfigInt(sample, "max_user_connections");
  std::map<std::string, int64_t> per_user;
  int64_t by_database = 0;
  for (const auto& d : *sample.databases) {
    if (d.name == kAdminDatabase) continue;
    const int64_t per_pool = d.pool_size + d.reserve_pool;
    std::set<std::string> pool_users = users[d.name];
    if (!d.force_user.empty()) pool_users = {d.force_user};
    if (pool_users.empty()) pool_users = {""};  // no client yet: count one pool
    for (const auto& user : pool_users) per_user[user] += per_pool;
    const int64_t all = per_pool * static_cast<int64_t>(pool_users.size());
    by_database += CapAt(all, d.max_connections > 0 ? d.max_connections : max_db);
  }
  int64_t by_user = 0;
  for (const auto& [user, n] : per_user) by_user += CapAt(n, max_user);
  return std::min(by_database, by_user);
}

Families MapPgbouncer(const PgbouncerConfig& pgbouncer, const PgbouncerStatus& status) {
  Families out;
  const Labels base = {{"pgbouncer", pgbouncer.name()}};
  AddHealth(out, base, status.health);
  if (!status.health.up || !status.sample) return out;
  const PgbouncerSample& sample = *status.sample;
  if (sample.pools) AddPools(out, base, sample);
  AddPoolSizes(out, base, sample);
  AddClientLimit(out, base, sample);
  if (sample.stats) AddStats(out, base, *sample.stats);
  const auto budget = ServerConnectionBudget(sample);
  if (!pgbouncer.target.empty() && budget) {
    AddGauge(out, "pgconn_pgbouncer_server_connection_budget",
             "Server connections this PgBouncer may open to its target: pool_size + "
             "reserve_pool per pool, capped by max_db_connections / max_user_connections.",
             With(base, {{"target", pgbouncer.target}}), static_cast<double>(*budget));
  }
  AddCollectorOutcomes(out, base, sample);
  return out;
}

namespace {

PgbouncerPoolSummary SummarizePool(const PgbouncerSample& sample, const PgbouncerPool& p) {
  const int64_t pool_size = PoolLimitsFor(sample, p.database).pool_size;
  return {p.database,
          p.user,
          p.cl_active,
          p.cl_waiting,
          p.max_wait_seconds,
          ServersInUse(p),
          p.sv_idle,
          pool_size,
          PoolSaturated(p, pool_size)};
}

}  // namespace

PgbouncerSummary SummarizePgbouncer(const PgbouncerConfig& pgbouncer,
                                    const PgbouncerStatus& status) {
  PgbouncerSummary summary;
  summary.name = pgbouncer.name();
  summary.up = status.health.up;
  if (!status.health.up) {
    if (status.health.last_failure) {
      summary.failure_reason = std::string(FailureReasonName(*status.health.last_failure));
    }
    summary.last_error = status.health.last_error;
    return summary;
  }
  if (!status.sample) return summary;
  const PgbouncerSample& sample = *status.sample;
  if (sample.lists) {
    if (auto used = sample.lists->find("used_clients"); used != sample.lists->end()) {
      summary.client_connections = used->second;
    }
  }
  if (sample.config && sample.config->count("max_client_conn")) {
    summary.max_client_connections = ConfigInt(sample, "max_client_conn");
  }
  if (!sample.pools) return summary;
  for (const auto& p : *sample.pools) {
    if (p.database != kAdminDatabase) summary.pools.push_back(SummarizePool(sample, p));
  }
  return summary;
}

}  // namespace pgconn
