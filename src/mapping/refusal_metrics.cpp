#include "pgconn/refusal_metrics.h"

#include "pgconn/family_builder.h"

namespace pgconn {
namespace {

using prometheus::MetricType;

void AddByReason(Families& out, const std::string& target, const std::string& name,
                 const std::string& help, const std::vector<std::string_view>& known,
                 const std::map<std::string, uint64_t, std::less<>>& counts) {
  FamilyBuilder family(name, help, MetricType::Counter);
  std::map<std::string, uint64_t> all(counts.begin(), counts.end());
  for (auto reason : known) all.emplace(std::string(reason), 0);  // zero-fill
  for (const auto& [reason, count] : all) {
    family.Add({{"target", target}, {"reason", reason}}, static_cast<double>(count));
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
  AddByReason(out, target, "pgconn_refused_connections_total",
              "Connection attempts the server refused, by reason, counted from its log "
              "(server_log) since the exporter started.",
              KnownRefusalReasons(), status.refused);
  AddByReason(out, target, "pgconn_authentication_failures_total",
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

}  // namespace pgconn
