#include "pgconn/database_url.h"

#include <algorithm>
#include <cctype>

namespace pgconn {
namespace {

constexpr std::int64_t kMaxConnectionLimit = 1000000;

int Hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// application/x-www-form-urlencoded decoding, as Prisma's URL parser applies to the query.
std::string FormDecode(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const bool escape =
        text[i] == '%' && i + 2 < text.size() && Hex(text[i + 1]) >= 0 && Hex(text[i + 2]) >= 0;
    if (escape) {
      out += static_cast<char>(Hex(text[i + 1]) * 16 + Hex(text[i + 2]));
      i += 2;
    } else {
      out += text[i] == '+' ? ' ' : text[i];
    }
  }
  return out;
}

bool AllDigits(std::string_view text) {
  return !text.empty() &&
         std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool HasControlChars(std::string_view text) {
  return std::any_of(text.begin(), text.end(),
                     [](char c) { return std::iscntrl(static_cast<unsigned char>(c)) != 0; });
}

// The part after "scheme://", or nullopt when the scheme is not PostgreSQL's.
std::optional<std::string_view> StripScheme(std::string_view url) {
  for (std::string_view scheme : {"postgresql://", "postgres://"}) {
    if (url.size() >= scheme.size() &&
        std::equal(scheme.begin(), scheme.end(), url.begin(), [](char a, char b) {
          return a == std::tolower(static_cast<unsigned char>(b));
        })) {
      return url.substr(scheme.size());
    }
  }
  return std::nullopt;
}

// Checks host[:port] of the authority (user info already removed); "" when fine.
std::string CheckHostPort(std::string_view host_port) {
  std::string_view port;
  if (!host_port.empty() && host_port.front() == '[') {
    const std::size_t close = host_port.find(']');
    if (close == std::string_view::npos) return "unterminated [IPv6] host";
    const std::string_view rest = host_port.substr(close + 1);
    if (!rest.empty() && rest.front() != ':') return "unexpected text after the [IPv6] host";
    port = rest.empty() ? rest : rest.substr(1);
  } else if (const std::size_t colon = host_port.rfind(':'); colon != std::string_view::npos) {
    port = host_port.substr(colon + 1);
  }
  if (host_port.find_first_of(" <>\"{}|\\^`") != std::string_view::npos) {
    return "invalid character in the host";
  }
  if (port.empty()) return "";
  if (!AllDigits(port) || port.size() > 5 || std::stol(std::string(port)) > 65535) {
    return "invalid port";
  }
  return "";
}

// Finds connection_limit in the query string; the last one wins, as in Prisma.
std::string ReadQuery(std::string_view query, DatabaseUrlInfo& info) {
  while (!query.empty()) {
    const std::string_view pair = query.substr(0, query.find('&'));
    query.remove_prefix(std::min(query.size(), pair.size() + 1));
    const std::size_t eq = pair.find('=');
    if (FormDecode(pair.substr(0, eq)) == "pgbouncer" && eq != std::string_view::npos) {
      info.pgbouncer = FormDecode(pair.substr(eq + 1)) == "true";  // as Prisma reads it
    }
    if (FormDecode(pair.substr(0, eq)) != "connection_limit") continue;
    const std::string value =
        eq == std::string_view::npos ? std::string() : FormDecode(pair.substr(eq + 1));
    if (!AllDigits(value) || value.size() > 7) {
      return "connection_limit must be a positive integer";
    }
    const std::int64_t limit = std::stoll(value);
    if (limit < 1 || limit > kMaxConnectionLimit) {
      return "connection_limit must be between 1 and " + std::to_string(kMaxConnectionLimit);
    }
    info.connection_limit = limit;
  }
  return "";
}

}  // namespace

std::optional<DatabaseUrlInfo> ParseDatabaseUrl(std::string_view url, std::string* error) {
  auto fail = [&](std::string message) -> std::optional<DatabaseUrlInfo> {
    *error = std::move(message);
    return std::nullopt;
  };
  if (HasControlChars(url)) return fail("invalid URL: control characters");
  const auto rest = StripScheme(url);
  if (!rest) return fail("invalid URL: expected postgresql:// or postgres://");
  std::string_view remaining = rest->substr(0, rest->find('#'));
  const std::size_t authority_end = remaining.find_first_of("/?");
  std::string_view authority = remaining.substr(0, authority_end);
  // User info ends at the last '@': a password may contain an unencoded '@'.
  if (const std::size_t at = authority.rfind('@'); at != std::string_view::npos) {
    authority.remove_prefix(at + 1);
  }
  if (std::string problem = CheckHostPort(authority); !problem.empty()) {
    return fail("invalid URL: " + problem);
  }
  DatabaseUrlInfo info;
  const std::size_t question = remaining.find('?');
  if (question != std::string_view::npos) {
    if (std::string problem = ReadQuery(remaining.substr(question + 1), info); !problem.empty()) {
      return fail(problem);
    }
  }
  return info;
}

}  // namespace pgconn
