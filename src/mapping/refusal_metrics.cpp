#include "pgconn/refusal_metrics.h"

#include "pgconn/family_builder.h"

namespace pgconn {
namespace {

using prometheus::MetricType;

// One HELP for both owners: the family is stitched from server_log and [[pgbouncer]] log parts.
constexpr const char* kRefusedHelp =
    "Connection attempts refused, by reason, counted from the followed log (a [[target]]'s "
    "server_log, labelled target, or a [[pgbouncer]]'s log, labelled pgbouncer) since the "
    "exporter started.";

// `label` names what owns the log: "target" (server_log) or "pgbouncer" ([[pgbouncer]] log).
void AddByReason(Families& out, const std::string& label, const std::string& owner,
                 const std::string& name, const std::string& help,
                 const std::vector<std::string_view>& known,
                 const std::map<std::string, uint64_t, std::less<>>& counts) {
  FamilyBuilder family(name, help, MetricType::Counter);
  std::map<std::string, uint64_t> all(counts.begin(), counts.end());
  for (auto reason : known) all.emplace(std::string(reason), 0);  // zero-fill
  for (const auto& [reason, count] : all) {
    family.Add({{label, owner}, {"reason", reason}}, static_cast<double>(count));
  }
  out.push_back(std::move(family).Build());
}

void AddCounter(Families& out, const std::string& target, std::string name, std::string help,
                uint64_t value) {
  out.push_back(FamilyBuilder(std::move(name), std::move(help), MetricType::Counter)
                    .Add({{"target", target}}, static_cast<double>(value))
                    .Build());
}

}  // namespace

bool CountLogEvent(const LogEvent& event, ServerLogStatus& status) {
  auto bump = [&](std::map<std::string, uint64_t, std::less<>>& counts) {
    auto it = counts.find(event.reason);
    if (it == counts.end()) it = counts.emplace(std::string(event.reason), 0).first;
    ++it->second;
  };
  if (event.kind == LogEventKind::kRefused) {
    bump(status.refused);
  } else if (event.kind == LogEventKind::kAuthFailed) {
    bump(status.auth_failures);
  } else {
    return false;
  }
  return true;
}

Families MapServerLog(const std::string& target, const ServerLogStatus& status) {
  Families out;
  AddByReason(out, "target", target, "pgconn_refused_connections_total", kRefusedHelp,
              KnownRefusalReasons(), status.refused);
  AddByReason(out, "target", target, "pgconn_authentication_failures_total",
              "Failed authentications, by reason, counted from the server log since the "
              "exporter started.",
              KnownAuthFailureReasons(), status.auth_failures);
  AddGauge(out, "pgconn_server_log_up", "1 when the server log file is open and followed.",
           {{"target", target}}, status.follower.open ? 1 : 0);
  AddCounter(out, target, "pgconn_server_log_lines_total", "Server log lines read.",
             status.follower.lines);
  AddCounter(out, target, "pgconn_server_log_truncated_lines_total",
             "Server log lines longer than the line bound, classified on their first bytes.",
             status.follower.truncated_lines);
  AddCounter(out, target, "pgconn_server_log_rotations_total",
             "Times a new file appeared at the server log path (rotation).",
             status.follower.rotations);
  return out;
}

Families MapPgbouncerLog(const std::string& pgbouncer, const ServerLogStatus& status) {
  Families out;
  AddByReason(out, "pgbouncer", pgbouncer, "pgconn_refused_connections_total", kRefusedHelp,
              KnownRefusalReasons(), status.refused);
  return out;
}

}  // namespace pgconn
