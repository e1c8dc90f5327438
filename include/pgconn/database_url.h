// Reads an app's pool size out of its Prisma-style database URL. Only the number is kept: the
// URL (and the password in it) is never stored, logged or echoed in an error.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace pgconn {

struct DatabaseUrlInfo {
  std::optional<std::int64_t> connection_limit;  // absent: the app uses Prisma's default
  bool pgbouncer = false;  // ?pgbouncer=true: the pool is one of PgBouncer clients
};

// Accepts postgresql:// and postgres:// URLs the way Prisma reads them: the last
// connection_limit query parameter wins, keys and values are percent-decoded. On a bad URL,
// returns nullopt and sets *error to a message that quotes no part of the URL.
std::optional<DatabaseUrlInfo> ParseDatabaseUrl(std::string_view url, std::string* error);

// Prisma's pool size when the URL has no connection_limit: num_physical_cpus * 2 + 1.
constexpr std::int64_t PrismaDefaultPoolSize(std::int64_t physical_cpus) {
  return physical_cpus * 2 + 1;
}

}  // namespace pgconn
