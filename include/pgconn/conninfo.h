// Connection strings: built for libpq, redacted for people.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "pgconn/config.h"

namespace pgconn {

// The conninfo the exporter connects with: the target's DSN (key=value or URL) plus the
// password, timeouts, application_name and read-only session options.
// Throws std::invalid_argument (without the password) when the DSN does not parse.
std::string BuildConninfo(const TargetConfig& target);

// Any DSN as key=value text with the password replaced; "<unparseable dsn>" when libpq
// cannot parse it. Safe for logs, labels and the landing page.
std::string RedactDsn(std::string_view dsn);

// libpq's parse error for a DSN, or nullopt when it parses.
std::optional<std::string> DsnParseError(std::string_view dsn);

// True when the DSN carries a password (password= or user:password@ in a URL).
bool DsnHasPassword(std::string_view dsn);

}  // namespace pgconn
