// Pure classification of one PostgreSQL (or PgBouncer) server log line: was it a refused
// connection or a failed authentication, and why. No I/O; the follower feeds it lines.
#pragma once

#include <string_view>
#include <vector>

namespace pgconn {

enum class LogEventKind { kNone, kRefused, kAuthFailed };

struct LogEvent {
  LogEventKind kind = LogEventKind::kNone;
  std::string_view reason;  // one of KnownRefusalReasons() / KnownAuthFailureReasons()
};

// Works on stderr lines with any log_line_prefix, csvlog and jsonlog lines (English
// messages, lc_messages = C or en_*), and PgBouncer log lines.
LogEvent ClassifyLogLine(std::string_view line);

// Every reason ClassifyLogLine can return, for zero-filling.
const std::vector<std::string_view>& KnownRefusalReasons();
const std::vector<std::string_view>& KnownAuthFailureReasons();

}  // namespace pgconn
