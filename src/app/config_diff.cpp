// What a reload changes, decided from the two configs alone (no I/O, no threads).
#include "pgconn/config_diff.h"

#include <tuple>

namespace pgconn {
namespace {

// Every field is compared: a field added to these structs must be added here too
// (tests/unit/config_diff_test.cpp notices a size change).
bool SameRange(const std::optional<AddressRange>& a, const std::optional<AddressRange>& b) {
  if (a.has_value() != b.has_value()) return false;
  if (!a) return true;
  return std::tie(a->text, a->family, a->bytes, a->prefix_length) ==
         std::tie(b->text, b->family, b->bytes, b->prefix_length);
}

bool SamePool(const PoolConfig& a, const PoolConfig& b) {
  return std::tie(a.name, a.target, a.application_name, a.user, a.database, a.size, a.size_source,
                  a.instances, a.instance_by, a.max_instance_series) ==
             std::tie(b.name, b.target, b.application_name, b.user, b.database, b.size,
                      b.size_source, b.instances, b.instance_by, b.max_instance_series) &&
         SameRange(a.client_addr, b.client_addr);
}

bool SamePools(const std::vector<PoolConfig>& a, const std::vector<PoolConfig>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (!SamePool(a[i], b[i])) return false;
  }
  return true;
}

// What the session (and the server_log watcher) is built from: a change needs a restart.
bool SameSession(const TargetConfig& a, const TargetConfig& b) {
  return std::tie(a.dsn, a.password, a.password_source, a.connect_timeout, a.query_timeout,
                  a.server_log, a.reserved_settings, a.via_pgbouncer) ==
         std::tie(b.dsn, b.password, b.password_source, b.connect_timeout, b.query_timeout,
                  b.server_log, b.reserved_settings, b.via_pgbouncer);
}

// What only the mapping reads: a change re-renders the last result.
bool SameMapping(const TargetConfig& a, const TargetConfig& b) {
  return std::tie(a.connection_labels, a.max_connection_series, a.reserve.connections,
                  a.reserve.percent_hundredths, a.by_client_addr) ==
             std::tie(b.connection_labels, b.max_connection_series, b.reserve.connections,
                      b.reserve.percent_hundredths, b.by_client_addr) &&
         SamePools(a.pools, b.pools);
}

bool SamePgbouncers(const std::vector<PgbouncerConfig>& a, const std::vector<PgbouncerConfig>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].name() != b[i].name() || a[i].target != b[i].target || a[i].log != b[i].log ||
        !SameSession(a[i].console, b[i].console)) {
      return false;
    }
  }
  return true;
}

bool SameProcess(const ProcessConfig& a, const ProcessConfig& b) {
  return std::tie(a.name, a.match, a.value, a.target) ==
         std::tie(b.name, b.match, b.value, b.target);
}

// The /proc watcher is built from [[process]], procfs and where each target is.
bool SameProcessWatch(const Config& a, const Config& b) {
  if (a.exporter.procfs != b.exporter.procfs || a.processes.size() != b.processes.size() ||
      a.targets.size() != b.targets.size()) {
    return false;
  }
  for (size_t i = 0; i < a.processes.size(); ++i) {
    if (!SameProcess(a.processes[i], b.processes[i])) return false;
  }
  for (size_t i = 0; i < a.targets.size(); ++i) {
    if (a.targets[i].name != b.targets[i].name || a.targets[i].dsn != b.targets[i].dsn) {
      return false;
    }
  }
  return true;
}

}  // namespace

const char* ChangeKindName(ChangeKind kind) {
  switch (kind) {
    case ChangeKind::kUnchanged:
      return "unchanged";
    case ChangeKind::kUpdated:
      return "updated";
    case ChangeKind::kRestarted:
      return "restarted";
    case ChangeKind::kAdded:
      return "added";
    case ChangeKind::kRemoved:
      return "removed";
  }
  return "unknown";
}

ChangeKind ClassifyTarget(const TargetConfig& before, const TargetConfig& after,
                          Millis poll_interval_before, Millis poll_interval_after) {
  if (!SameSession(before, after) || poll_interval_before != poll_interval_after) {
    return ChangeKind::kRestarted;
  }
  return SameMapping(before, after) ? ChangeKind::kUnchanged : ChangeKind::kUpdated;
}

ConfigDiff DiffConfigs(const Config& before, const Config& after) {
  ConfigDiff diff;
  const Millis old_interval = before.exporter.poll_interval;
  const Millis new_interval = after.exporter.poll_interval;
  diff.targets =
      DiffByName(before.targets, after.targets, [&](const TargetConfig& a, const TargetConfig& b) {
        return ClassifyTarget(a, b, old_interval, new_interval);
      });
  diff.processes_changed = !SameProcessWatch(before, after);
  diff.pgbouncers_changed = !SamePgbouncers(before.pgbouncers, after.pgbouncers) ||
                            before.exporter.poll_interval != after.exporter.poll_interval;
  diff.logging_changed = before.exporter.log_level != after.exporter.log_level ||
                         before.exporter.log_format != after.exporter.log_format;
  diff.web_changed = before.web.basic_auth_users != after.web.basic_auth_users;
  if (before.exporter.listen_address != after.exporter.listen_address) {
    diff.need_restart.emplace_back("listen_address");
  }
  if (before.exporter.telemetry_path != after.exporter.telemetry_path) {
    diff.need_restart.emplace_back("telemetry_path");
  }
  if (before.exporter.poller_threads != after.exporter.poller_threads) {
    diff.need_restart.emplace_back("poller_threads");  // the pool is sized once
  }
  return diff;
}

std::string SummarizeChanges(const std::vector<NamedChange<TargetConfig>>& changes) {
  std::string out;
  for (ChangeKind kind : {ChangeKind::kAdded, ChangeKind::kRemoved, ChangeKind::kRestarted,
                          ChangeKind::kUpdated, ChangeKind::kUnchanged}) {
    size_t count = 0;
    for (const auto& change : changes) count += change.kind == kind ? 1 : 0;
    if (count == 0) continue;
    out += (out.empty() ? "" : ", ") + std::to_string(count) + " " + ChangeKindName(kind);
  }
  return out.empty() ? "no targets" : out;
}

}  // namespace pgconn
