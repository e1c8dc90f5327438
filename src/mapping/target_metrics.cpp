#include "pgconn/target_metrics.h"

#include <algorithm>
#include <map>
#include <set>

#include "pgconn/churn_metrics.h"
#include "pgconn/conninfo.h"
#include "pgconn/family_builder.h"
#include "pgconn/fault_metrics.h"
#include "pgconn/pool_metrics.h"
#include "pgconn/target_extras.h"

namespace pgconn {
namespace {

using prometheus::MetricType;

constexpr const char* kAvailableHelp =
    "How many more ordinary-role connections the server accepts now (usable minus client "
    "backends, floored at 0).";

bool IsClient(const ActivityGroup& group) { return group.backend_type == kClientBackend; }

bool IsIdleInTransaction(const std::string& state) {
  return state.rfind("idle in transaction", 0) == 0;
}

Labels With(const Labels& base, std::string name, std::string value) {
  Labels labels = base;
  labels.emplace_back(std::move(name), std::move(value));
  return labels;
}

const std::string& GroupField(const ActivityGroup& group, const std::string& label) {
  if (label == "database") return group.database;
  if (label == "user") return group.user;
  if (label == "application") return group.application;
  return group.state;
}

void AddCapacity(Families& out, const Labels& base, const Capacity& capacity) {
  AddGauge(out, "pgconn_max_connections", "Server setting max_connections.", base,
           static_cast<double>(capacity.max_connections));
  FamilyBuilder reserved("pgconn_reserved_connections",
                         "Connection slots reserved by kind: superuser "
                         "(superuser_reserved_connections), reserved (reserved_connections, "
                         "PostgreSQL 16+) and provider (a provider's setting, named in label "
                         "setting, e.g. rds.rds_superuser_reserved_connections).");
  reserved.Add(With(base, "kind", "superuser"), static_cast<double>(capacity.superuser_reserved));
  if (capacity.reserved) {
    reserved.Add(With(base, "kind", "reserved"), static_cast<double>(*capacity.reserved));
  }
  for (const auto& provider : capacity.provider_reserved) {
    reserved.Add(With(With(base, "kind", "provider"), "setting", provider.setting),
                 static_cast<double>(provider.slots));
  }
  out.push_back(std::move(reserved).Build());
  AddGauge(out, "pgconn_usable_connections",
           "Connection slots ordinary roles can use: max_connections minus all reserved slots.",
           base, static_cast<double>(capacity.usable));
  AddGauge(out, "pgconn_client_connections",
           "Client backend sessions, the exporter's own included.", base,
           static_cast<double>(capacity.client_connections));
  AddGauge(out, "pgconn_available_connections", kAvailableHelp, base,
           static_cast<double>(capacity.available));
  AddGauge(out, "pgconn_utilization_ratio",
           "Client backends over usable connections; 1 means ordinary roles are refused.", base,
           capacity.utilization_ratio);
}

void AddStates(Families& out, const Labels& base, const std::vector<ActivityGroup>& groups) {
  std::map<std::string, int64_t> by_state;
  for (const auto& state : KnownSessionStates()) by_state[state] = 0;
  for (const auto& group : groups) {
    if (IsClient(group) && group.others > 0) by_state[group.state] += group.others;
  }
  FamilyBuilder family("pgconn_client_connections_by_state",
                       "Client backend sessions by state, the exporter's own excluded; known "
                       "states are always present. Complete only while "
                       "pgconn_target_visibility_complete is 1.");
  for (const auto& [state, sessions] : by_state) {
    family.Add(With(base, "state", state), static_cast<double>(sessions));
  }
  out.push_back(std::move(family).Build());
}

void AddConnectionGroups(Families& out, const Labels& base, const TargetConfig& target,
                         const std::vector<ActivityGroup>& groups) {
  FamilyBuilder family("pgconn_connections",
                       "Client backend sessions by group, the exporter's own excluded; rare "
                       "groups beyond max_connection_series are folded into \"__other__\".");
  for (const auto& series :
       FoldConnectionSeries(groups, target.connection_labels, target.max_connection_series)) {
    Labels labels = base;
    for (size_t i = 0; i < series.label_values.size(); ++i) {
      labels.emplace_back(target.connection_labels[i], series.label_values[i]);
    }
    family.Add(labels, static_cast<double>(series.sessions));
  }
  if (!family.empty()) out.push_back(std::move(family).Build());
}

template <typename Limit>
void AddPerName(Families& out, const Labels& base, const std::string& label,
                const std::map<std::string, int64_t>& counts,
                const std::optional<std::vector<Limit>>& limits, const std::string& count_name,
                const std::string& count_help, const std::string& limit_name,
                const std::string& limit_help) {
  std::map<std::string, int64_t> all = counts;
  FamilyBuilder limit_family(limit_name, limit_help);
  for (const auto& limit : limits.value_or(std::vector<Limit>{})) {
    all.emplace(limit.name, 0);
    if (limit.connection_limit >= 0) {
      limit_family.Add(With(base, label, limit.name), static_cast<double>(limit.connection_limit));
    }
  }
  FamilyBuilder count_family(count_name, count_help);
  for (const auto& [name, sessions] : all) {
    count_family.Add(With(base, label, name), static_cast<double>(sessions));
  }
  if (!count_family.empty()) out.push_back(std::move(count_family).Build());
  if (!limit_family.empty()) out.push_back(std::move(limit_family).Build());
}

void AddDatabasesAndRoles(Families& out, const Labels& base, const TargetSample& sample) {
  std::map<std::string, int64_t> per_database;
  std::map<std::string, int64_t> per_role;
  for (const auto& group : *sample.activity) {
    if (!IsClient(group)) continue;
    per_database[group.database] += group.sessions;
    per_role[group.user] += group.sessions;
  }
  AddPerName(out, base, "database", per_database, sample.databases, "pgconn_database_connections",
             "Client backends connected to each database, the exporter's own included.",
             "pgconn_database_connection_limit",
             "Per-database connection limit (datconnlimit), only where one is set.");
  AddPerName(out, base, "role", per_role, sample.roles, "pgconn_role_connections",
             "Client backends of each login role, the exporter's own included.",
             "pgconn_role_connection_limit",
             "Per-role connection limit (rolconnlimit), only where one is set.");
}

void AddBackends(Families& out, const Labels& base, const std::vector<ActivityGroup>& groups) {
  std::map<std::string, int64_t> by_type;
  for (const auto& group : groups) {
    if (!IsClient(group)) by_type[group.backend_type] += group.sessions;
  }
  FamilyBuilder family("pgconn_backends",
                       "Non-client backends (autovacuum, walsender, background workers...) by "
                       "backend_type; they have slots of their own outside max_connections.");
  for (const auto& [type, sessions] : by_type) {
    family.Add(With(base, "backend_type", type), static_cast<double>(sessions));
  }
  if (!family.empty()) out.push_back(std::move(family).Build());
}

void AddAges(Families& out, const Labels& base, const std::vector<ActivityGroup>& groups) {
  double oldest_xact = 0, oldest_idle_xact = 0, longest_query = 0;
  int64_t lock_waiting = 0;
  for (const auto& group : groups) {
    if (!IsClient(group) || group.others == 0) continue;
    oldest_xact = std::max(oldest_xact, group.oldest_xact_seconds);
    longest_query = std::max(longest_query, group.longest_query_seconds);
    if (IsIdleInTransaction(group.state)) {
      oldest_idle_xact = std::max(oldest_idle_xact, group.oldest_state_change_seconds);
    }
    lock_waiting += group.lock_waiting;
  }
  AddGauge(out, "pgconn_oldest_transaction_seconds",
           "Age of the oldest open transaction of a client backend (0 when none).", base,
           oldest_xact);
  AddGauge(out, "pgconn_oldest_idle_in_transaction_seconds",
           "Longest time a client backend has sat idle in transaction (0 when none).", base,
           oldest_idle_xact);
  AddGauge(out, "pgconn_longest_query_seconds",
           "Run time of the longest active query of a client backend (0 when none).", base,
           longest_query);
  AddGauge(out, "pgconn_lock_waiting_connections", "Client backends waiting on a heavyweight lock.",
           base, static_cast<double>(lock_waiting));
}

void AddCollectorOutcomes(Families& out, const Labels& base, const TargetSample& sample) {
  FamilyBuilder success("pgconn_collector_success",
                        "1 when the collector's query succeeded in the last poll.");
  FamilyBuilder duration("pgconn_collector_duration_seconds",
                         "Time the collector's query took in the last poll.");
  for (const auto& outcome : sample.collectors) {
    success.Add(With(base, "collector", outcome.name), outcome.success ? 1 : 0);
    duration.Add(With(base, "collector", outcome.name), outcome.duration_seconds);
  }
  if (!success.empty()) {
    out.push_back(std::move(success).Build());
    out.push_back(std::move(duration).Build());
  }
}

void AddHealth(Families& out, const Labels& base, const TargetStatus& status) {
  AddGauge(out, "pgconn_up", "1 when the last poll of the target succeeded, else 0.", base,
           status.up ? 1 : 0);
  if (status.polled) {
    AddGauge(out, "pgconn_poll_duration_seconds", "Time the last poll took.", base,
             status.poll_duration_seconds);
  }
  FamilyBuilder errors("pgconn_poll_errors_total",
                       "Failed polls and connects by reason since the exporter started.",
                       MetricType::Counter);
  for (size_t i = 0; i < kAllFailureReasons.size(); ++i) {
    errors.Add(With(base, "reason", std::string(FailureReasonName(kAllFailureReasons[i]))),
               static_cast<double>(status.error_counts[i]));
  }
  out.push_back(std::move(errors).Build());
  if (status.last_success_unix) {
    AddGauge(out, "pgconn_last_poll_success_timestamp_seconds",
             "Unix time of the last successful poll.", base, *status.last_success_unix);
  }
}

}  // namespace

const std::vector<std::string>& KnownSessionStates() {
  static const std::vector<std::string> kStates = {"active",
                                                   "idle",
                                                   "idle in transaction",
                                                   "idle in transaction (aborted)",
                                                   "fastpath function call",
                                                   "disabled"};
  return kStates;
}

std::optional<Capacity> ComputeCapacity(const TargetSample& sample) {
  if (!sample.settings || !sample.activity) return std::nullopt;
  const ServerSettings& settings = *sample.settings;
  Capacity capacity;
  capacity.max_connections = settings.max_connections;
  capacity.superuser_reserved = settings.superuser_reserved_connections;
  capacity.reserved = settings.reserved_connections;
  capacity.provider_reserved = ProviderReserves(sample);
  capacity.usable = std::max<int64_t>(
      0, settings.max_connections - settings.superuser_reserved_connections -
             settings.reserved_connections.value_or(0) - capacity.ProviderReservedTotal());
  for (const auto& group : *sample.activity) {
    if (IsClient(group)) capacity.client_connections += group.sessions;
  }
  capacity.available = std::max<int64_t>(0, capacity.usable - capacity.client_connections);
  if (capacity.usable > 0) {
    capacity.utilization_ratio =
        static_cast<double>(capacity.client_connections) / static_cast<double>(capacity.usable);
  } else {
    capacity.utilization_ratio = 1;
  }
  return capacity;
}

std::vector<ConnectionSeries> FoldConnectionSeries(const std::vector<ActivityGroup>& groups,
                                                   const std::vector<std::string>& labels,
                                                   int max_series) {
  std::map<std::vector<std::string>, int64_t> aggregated;
  for (const auto& group : groups) {
    if (!IsClient(group) || group.others == 0) continue;
    std::vector<std::string> key;
    for (const auto& label : labels) key.push_back(GroupField(group, label));
    aggregated[key] += group.others;
  }
  std::vector<ConnectionSeries> series;
  for (auto& [key, sessions] : aggregated) series.push_back({key, sessions});
  if (static_cast<int>(series.size()) <= max_series) return series;
  // Keep the largest groups; ties break on label values so the output is stable.
  std::stable_sort(series.begin(), series.end(),
                   [](const auto& a, const auto& b) { return a.sessions > b.sessions; });
  std::map<std::vector<std::string>, int64_t> folded;
  for (size_t i = static_cast<size_t>(max_series); i < series.size(); ++i) {
    std::vector<std::string> key = series[i].label_values;
    for (size_t l = 0; l < labels.size(); ++l) {
      if (labels[l] != "state") key[l] = kOtherLabelValue;
    }
    folded[key] += series[i].sessions;
  }
  series.resize(static_cast<size_t>(max_series));
  std::sort(series.begin(), series.end(),
            [](const auto& a, const auto& b) { return a.label_values < b.label_values; });
  for (auto& [key, sessions] : folded) series.push_back({key, sessions});
  return series;
}

Families MapTarget(const TargetConfig& target, const TargetStatus& status) {
  Families out;
  const Labels base = {{"target", target.name}};
  AddHealth(out, base, status);
  AddFaultFamilies(out, base, status);
  std::optional<Capacity> capacity;
  if (status.up && status.sample) capacity = ComputeCapacity(*status.sample);
  if (capacity) {
    const TargetSample& sample = *status.sample;
    AddCapacity(out, base, *capacity);
    AddStates(out, base, *sample.activity);
    AddConnectionGroups(out, base, target, *sample.activity);
    AddDatabasesAndRoles(out, base, sample);
    AddBackends(out, base, *sample.activity);
    AddAges(out, base, *sample.activity);
    AddPoolFamilies(out, base, target, sample, *capacity);
  }
  if (status.up && status.sample)
    AddVisibility(out, base, *status.sample);
  else if (status.last_failure == FailureReason::kTooManyConnections) {
    // A refusal for lack of slots is itself a measurement: nothing is available.
    AddGauge(out, "pgconn_available_connections", kAvailableHelp, base, 0);
  }
  if (status.sample) AddCollectorOutcomes(out, base, *status.sample);
  AddChurnFamilies(out, base, target, status);
  return out;
}

TargetSummary SummarizeTarget(const TargetConfig& target, const TargetStatus& status) {
  TargetSummary summary;
  summary.name = target.name;
  summary.dsn_redacted = RedactDsn(target.dsn);
  summary.up = status.up;
  summary.last_success_unix = status.last_success_unix;
  summary.last_error = status.up ? "" : status.last_error;
  if (status.up && status.sample) {
    if (auto capacity = ComputeCapacity(*status.sample)) {
      summary.client_connections = capacity->client_connections;
      summary.usable_connections = capacity->usable;
      summary.max_connections = capacity->max_connections;
    }
  }
  AddSummaryDetails(summary, target, status);
  return summary;
}

}  // namespace pgconn
