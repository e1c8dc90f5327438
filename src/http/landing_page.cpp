#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <optional>
#include <string>
#include <string_view>

#include "pgconn/http_server.h"

namespace pgconn {

namespace {

// Everything that comes from data goes through here: names, DSNs and errors are untrusted.
std::string Escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string FormatUtc(double unix_seconds) {
  const auto seconds = static_cast<std::time_t>(std::floor(unix_seconds));
  std::tm tm{};
  if (gmtime_r(&seconds, &tm) == nullptr) return "invalid time";
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buffer;
}

std::string LastSuccess(const std::optional<double>& unix_seconds) {
  return unix_seconds ? FormatUtc(*unix_seconds) : "never";
}

std::string OrNa(const std::optional<int64_t>& value) {
  return value ? std::to_string(*value) : "n/a";
}

// The used/usable bar; used can exceed usable when superusers take reserved slots.
std::string UsageCell(const TargetSummary& target) {
  if (!target.client_connections || !target.usable_connections || *target.usable_connections <= 0) {
    return "n/a";
  }
  const double used = static_cast<double>(*target.client_connections);
  const long percent = std::lround(100.0 * used / static_cast<double>(*target.usable_connections));
  const long width = percent < 0 ? 0 : (percent > 100 ? 100 : percent);
  const char* level = percent >= 90 ? "crit" : (percent >= 75 ? "warn" : "ok");
  return "<div class=\"bar\"><div class=\"fill " + std::string(level) +
         "\" style=\"width:" + std::to_string(width) + "%\"></div></div>" +
         std::to_string(*target.client_connections) + " / " +
         std::to_string(*target.usable_connections) + " (" + std::to_string(percent) + "%)";
}

std::string Cell(const std::string& html) { return "<td>" + html + "</td>"; }

std::string Age(double seconds) {
  const long s = std::lround(std::max(0.0, seconds));
  if (s < 120) return std::to_string(s) + " s";
  if (s < 7200) return std::to_string(s / 60) + " min";
  return std::to_string(s / 3600) + " h";
}

std::string StatusCell(const TargetSummary& target) {
  if (target.up) return "<span class=\"up\">up</span>";
  std::string html = "<span class=\"down\">down</span>";
  if (!target.failure_reason.empty()) html += "<br>" + Escape(target.failure_reason);
  return html;
}

// Figures kept from the last successful poll while the target is refused or down.
std::string FiguresNote(const TargetSummary& target, double now_unix) {
  if (!target.figures_stale) return "";
  std::string note = "<br><span class=\"stale\">last known";
  if (target.figures_at_unix && now_unix > 0) {
    note += ", " + Age(now_unix - *target.figures_at_unix) + " old";
  }
  return note + "</span>";
}

std::string CapacityCell(const TargetSummary& target) {
  std::string html = "max_connections " + OrNa(target.max_connections);
  for (const auto& [setting, slots] : target.reserved_slots) {
    html += "<br>- " + Escape(setting) + " " + std::to_string(slots);
  }
  return html;
}

std::string PoolsCell(const TargetSummary& target) {
  std::string html;
  for (const auto& pool : target.pools) {
    html += (html.empty() ? "" : "<br>") + Escape(pool.name) + ": " + std::to_string(pool.busy) +
            " busy / " + std::to_string(pool.open) + " open (size " +
            std::to_string(pool.capacity) + ")";
  }
  return html.empty() ? "-" : html;
}

std::string VisibilityCell(const TargetSummary& target) {
  if (!target.visibility_complete) return "n/a";
  return *target.visibility_complete ? "complete"
                                     : "<span class=\"down\">incomplete</span> (grant pg_monitor)";
}

std::string TargetRow(const TargetSummary& target, double now_unix) {
  const std::string note = FiguresNote(target, now_unix);
  return "<tr>" + Cell(Escape(target.name)) +
         Cell("<code>" + Escape(target.dsn_redacted) + "</code>") + Cell(StatusCell(target)) +
         Cell(UsageCell(target) + note) + Cell(OrNa(target.available_connections) + note) +
         Cell(CapacityCell(target)) + Cell(OrNa(target.backend_processes)) +
         Cell(PoolsCell(target)) + Cell(VisibilityCell(target)) +
         Cell(LastSuccess(target.last_success_unix)) + Cell(Escape(target.last_error)) + "</tr>\n";
}

constexpr std::string_view kHead = R"(<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>pgconn_exporter</title>
<meta http-equiv="refresh" content="15">
<style>
body{font-family:sans-serif;margin:2em}
table{border-collapse:collapse}
th,td{border:1px solid #ccc;padding:.3em .6em;text-align:left;vertical-align:top}
.bar{width:12em;height:.8em;background:#eee;border:1px solid #999}
.fill{height:100%}
.ok{background:#3a3}.warn{background:#e90}.crit{background:#d22}
.up{color:#3a3}.down{color:#d22;font-weight:bold}.stale{color:#777;font-size:.9em}
</style>
</head>
<body>
<h1>pgconn_exporter</h1>
)";

std::string Links(const HttpOptions& options) {
  const std::string path = Escape(options.telemetry_path);
  return "<p>Version " + Escape(options.version) + "</p>\n<ul>\n<li><a href=\"" + path + "\">" +
         path + "</a></li>\n<li><a href=\"/healthz\">/healthz</a></li>\n</ul>\n";
}

std::string TargetTable(const Snapshot& snapshot) {
  std::string html =
      "<table>\n<tr><th>Target</th><th>DSN</th><th>Status</th><th>Used / usable</th>"
      "<th>Available now</th><th>Slots</th><th>Backends (/proc)</th><th>Pools</th>"
      "<th>Visibility</th><th>Last successful poll (UTC)</th><th>Last error</th></tr>\n";
  for (const auto& target : snapshot.targets) html += TargetRow(target, snapshot.built_at_unix);
  return html + "</table>\n";
}

std::string PgbouncerStatusCell(const PgbouncerSummary& bouncer) {
  if (bouncer.up) return "<span class=\"up\">up</span>";
  std::string html = "<span class=\"down\">down</span>";
  if (!bouncer.failure_reason.empty()) html += "<br>" + Escape(bouncer.failure_reason);
  if (!bouncer.last_error.empty()) html += "<br>" + Escape(bouncer.last_error);
  return html;
}

std::string ClientLimitCell(const PgbouncerSummary& bouncer) {
  return OrNa(bouncer.client_connections) + " / " + OrNa(bouncer.max_client_connections);
}

std::string Seconds(double seconds) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.2f", seconds);
  return buffer;
}

std::string PgbouncerPoolCells(const PgbouncerPoolSummary& pool) {
  return Cell(Escape(pool.database) + " / " + Escape(pool.user)) +
         Cell(std::to_string(pool.clients_active)) + Cell(std::to_string(pool.clients_waiting)) +
         Cell(Seconds(pool.max_wait_seconds)) +
         Cell(std::to_string(pool.servers_in_use) + " / " + std::to_string(pool.servers_idle) +
              " / " + std::to_string(pool.pool_size)) +
         Cell(pool.saturated ? "<span class=\"down\">saturated</span>" : "no");
}

// One row per pool; the PgBouncer's own cells span its pools.
std::string PgbouncerRows(const PgbouncerSummary& bouncer) {
  const size_t rows = std::max<size_t>(1, bouncer.pools.size());
  const std::string span = rows > 1 ? " rowspan=\"" + std::to_string(rows) + "\"" : "";
  std::string html = "<tr><td" + span + ">" + Escape(bouncer.name) + "</td><td" + span + ">" +
                     PgbouncerStatusCell(bouncer) + "</td><td" + span + ">" +
                     ClientLimitCell(bouncer) + "</td>";
  if (bouncer.pools.empty()) return html + "<td colspan=\"6\">-</td></tr>\n";
  for (size_t i = 0; i < bouncer.pools.size(); ++i) {
    html += (i == 0 ? "" : "<tr>") + PgbouncerPoolCells(bouncer.pools[i]) + "</tr>\n";
  }
  return html;
}

std::string PgbouncerTable(const Snapshot& snapshot) {
  if (snapshot.pgbouncers.empty()) return "";
  std::string html =
      "<h2>PgBouncer</h2>\n<table>\n<tr><th>PgBouncer</th><th>Status</th>"
      "<th>Clients / max_client_conn</th><th>Pool (database / user)</th><th>Clients active</th>"
      "<th>Clients waiting</th><th>Max wait (s)</th><th>Servers in use / idle / pool_size</th>"
      "<th>Saturated</th></tr>\n";
  for (const auto& bouncer : snapshot.pgbouncers) html += PgbouncerRows(bouncer);
  return html + "</table>\n";
}

}  // namespace

std::string RenderLandingPage(const Snapshot& snapshot, const HttpOptions& options) {
  std::string html(kHead);
  html += Links(options);
  html += TargetTable(snapshot);
  html += PgbouncerTable(snapshot);
  const std::optional<double> built_at =
      snapshot.built_at_unix > 0 ? std::optional<double>(snapshot.built_at_unix) : std::nullopt;
  html += "<p>Snapshot built: " + LastSuccess(built_at) + "</p>\n</body>\n</html>\n";
  return html;
}

}  // namespace pgconn
