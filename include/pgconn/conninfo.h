// Connection strings: built for libpq, redacted for people.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pgconn/config.h"

namespace pgconn {

// The conninfo the exporter connects with: the target's DSN (key=value or URL) plus the
// password, timeouts, application_name and read-only session options.
// Throws std::invalid_argument (without the password) when the DSN does not parse.
std::string BuildConninfo(const TargetConfig& target);

// Any DSN as key=value text with the password replaced; "<unparseable dsn>" when libpq
// cannot parse it. Safe for logs, labels and the landing page.
std::string RedactDsn(std::string_view dsn);

// libpq's parse error for a DSN (redacted), or nullopt when it parses.
std::optional<std::string> DsnParseError(std::string_view dsn);

// A libpq conninfo-parser message with every quoted fragment that is not a conninfo keyword
// replaced by <redacted>: libpq quotes the text it could not parse (part of a password).
std::string RedactConninfoMessage(std::string_view message);

// What libpq would refuse only at connect time: sslmode & co. values, bad ports, host/port
// lists of different lengths. nullopt when none; the message never quotes a value.
std::optional<std::string> DsnValueError(std::string_view dsn);

// True when the DSN carries a password (password= or user:password@ in a URL).
bool DsnHasPassword(std::string_view dsn);

// One server libpq would try, as written in the DSN: comma lists split, a single port
// applied to every host. Empty strings where the DSN says nothing (libpq's defaults apply).
struct DsnHost {
  std::string host;      // name, IP address or Unix socket directory
  std::string hostaddr;  // numeric address, used instead of resolving host
  std::string port;
};
// nullopt when libpq cannot parse the DSN or its lists do not line up.
std::optional<std::vector<DsnHost>> DsnHosts(std::string_view dsn);

}  // namespace pgconn
