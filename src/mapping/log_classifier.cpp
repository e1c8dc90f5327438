#include "pgconn/log_classifier.h"

#include <array>
#include <optional>

namespace pgconn {
namespace {

struct Pattern {
  std::string_view prefix;  // the message starts with this
  LogEventKind kind;
  std::string_view reason;
};

// Message texts of PostgreSQL 12-18 (postmaster.c, postinit.c, proc.c, auth.c, miscinit.c).
constexpr std::array<Pattern, 23> kPatterns = {{
    {"sorry, too many clients already", LogEventKind::kRefused, "too_many_clients"},
    // "...for non-replication superuser connections" (12-15), "...for roles with the SUPERUSER
    // attribute" and "...with privileges of the \"pg_use_reserved_connections\" role" (16+).
    {"remaining connection slots are reserved for", LogEventKind::kRefused, "reserved_slots"},
    {"too many connections for role", LogEventKind::kRefused, "role_limit"},
    {"too many connections for database", LogEventKind::kRefused, "database_limit"},
    {"number of requested standby connections exceeds", LogEventKind::kRefused, "wal_senders"},
    {"the database system is starting up", LogEventKind::kRefused, "not_accepting"},
    {"the database system is shutting down", LogEventKind::kRefused, "not_accepting"},
    {"the database system is in recovery mode", LogEventKind::kRefused, "not_accepting"},
    {"the database system is not yet accepting connections", LogEventKind::kRefused,
     "not_accepting"},
    {"the database system is not accepting connections", LogEventKind::kRefused, "not_accepting"},
    {"password authentication failed for user", LogEventKind::kAuthFailed, "password"},
    {"Ident authentication failed for user", LogEventKind::kAuthFailed, "ident"},
    {"Peer authentication failed for user", LogEventKind::kAuthFailed, "peer"},
    {"GSSAPI authentication failed for user", LogEventKind::kAuthFailed, "gssapi"},
    {"SSPI authentication failed for user", LogEventKind::kAuthFailed, "sspi"},
    {"PAM authentication failed for user", LogEventKind::kAuthFailed, "pam"},
    {"BSD authentication failed for user", LogEventKind::kAuthFailed, "bsd"},
    {"LDAP authentication failed for user", LogEventKind::kAuthFailed, "ldap"},
    {"certificate authentication failed for user", LogEventKind::kAuthFailed, "cert"},
    {"RADIUS authentication failed for user", LogEventKind::kAuthFailed, "radius"},
    {"pg_hba.conf rejects connection", LogEventKind::kAuthFailed, "hba_reject"},
    {"no pg_hba.conf entry for", LogEventKind::kAuthFailed, "no_hba_entry"},
    {"authentication failed for user", LogEventKind::kAuthFailed, "other"},
}};

// PgBouncer logs one "closing because: ..." line per client it turns away (log_disconnections,
// on by default); its "pooler error:" twin is not counted, so nothing counts twice.
constexpr std::string_view kPgbouncerMaxClientConn =
    "closing because: no more connections allowed (max_client_conn)";

bool StartsWith(std::string_view text, std::string_view prefix) {
  return text.size() >= prefix.size() && text.compare(0, prefix.size(), prefix) == 0;
}

// jsonlog: {"timestamp":...,"error_severity":"FATAL","state_code":"53300","message":"..."}
std::optional<std::string_view> JsonMessage(std::string_view line) {
  if (line.find("\"error_severity\":\"FATAL\"") == std::string_view::npos) return std::nullopt;
  constexpr std::string_view kKey = "\"message\":\"";
  const size_t at = line.find(kKey);
  if (at == std::string_view::npos) return std::nullopt;
  return line.substr(at + kKey.size());
}

// csvlog: ...,virtual_xid,xid,FATAL,53300,"message",...
std::optional<std::string_view> CsvMessage(std::string_view line) {
  constexpr std::string_view kSeverity = ",FATAL,";
  for (size_t at = line.find(kSeverity); at != std::string_view::npos;
       at = line.find(kSeverity, at + 1)) {
    const size_t quote = at + kSeverity.size() + 5;  // SQLSTATE is five characters
    if (quote + 2 <= line.size() && line[quote] == ',' && line[quote + 1] == '"') {
      return line.substr(quote + 2);
    }
  }
  return std::nullopt;
}

bool IsSeverity(std::string_view word) {
  static constexpr std::array<std::string_view, 15> kSeverities = {
      "DEBUG1",  "DEBUG2", "DEBUG3", "DEBUG4", "DEBUG5", "LOG",       "INFO",   "NOTICE",
      "WARNING", "ERROR",  "FATAL",  "PANIC",  "DETAIL", "STATEMENT", "CONTEXT"};
  for (auto severity : kSeverities) {
    if (word == severity) return true;
  }
  return word == "HINT" || word == "QUERY" || word == "LOCATION";
}

// stderr: any log_line_prefix, then "SEVERITY:  message". The first severity marker decides,
// so a LOG line quoting "FATAL:  ..." in a statement is not a refusal.
std::optional<std::string_view> StderrMessage(std::string_view line) {
  for (size_t at = line.find(":  "); at != std::string_view::npos; at = line.find(":  ", at + 1)) {
    size_t start = at;
    while (start > 0 && ((line[start - 1] >= 'A' && line[start - 1] <= 'Z') ||
                         (line[start - 1] >= '0' && line[start - 1] <= '9'))) {
      --start;
    }
    const std::string_view word = line.substr(start, at - start);
    if (!IsSeverity(word)) continue;
    if (word != "FATAL") return std::nullopt;
    return line.substr(at + 3);
  }
  return std::nullopt;
}

std::optional<std::string_view> FatalMessage(std::string_view line) {
  if (!line.empty() && line.front() == '{') return JsonMessage(line);
  if (auto message = StderrMessage(line)) return message;
  return CsvMessage(line);
}

LogEvent ClassifyMessage(std::string_view message) {
  for (const auto& pattern : kPatterns) {
    if (StartsWith(message, pattern.prefix)) return {pattern.kind, pattern.reason};
  }
  // role "x" does not exist / role "x" is not permitted to log in (quotes escaped in jsonlog).
  if (StartsWith(message, "role ")) {
    const std::string_view head = message.substr(0, 512);
    if (head.find("\" does not exist") != std::string_view::npos) {
      return {LogEventKind::kAuthFailed, "unknown_role"};
    }
    if (head.find("\" is not permitted to log in") != std::string_view::npos) {
      return {LogEventKind::kAuthFailed, "login_not_permitted"};
    }
  }
  return {};
}

}  // namespace

LogEvent ClassifyLogLine(std::string_view line) {
  if (auto message = FatalMessage(line)) return ClassifyMessage(*message);
  if (line.find(kPgbouncerMaxClientConn) != std::string_view::npos) {
    return {LogEventKind::kRefused, "pgbouncer_max_client_conn"};
  }
  return {};
}

const std::vector<std::string_view>& KnownRefusalReasons() {
  static const std::vector<std::string_view> kReasons = {
      "too_many_clients", "reserved_slots",           "role_limit", "database_limit", "wal_senders",
      "not_accepting",    "pgbouncer_max_client_conn"};
  return kReasons;
}

const std::vector<std::string_view>& KnownAuthFailureReasons() {
  static const std::vector<std::string_view> kReasons = {"password",     "ident",
                                                         "peer",         "gssapi",
                                                         "sspi",         "pam",
                                                         "bsd",          "ldap",
                                                         "cert",         "radius",
                                                         "hba_reject",   "no_hba_entry",
                                                         "unknown_role", "login_not_permitted",
                                                         "other"};
  return kReasons;
}

}  // namespace pgconn
