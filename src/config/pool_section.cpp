// [[pool]]: one app's connection pool on a target, for saturation and capacity planning.
#include "pool_section.h"

#include <algorithm>
#include <map>
#include <string>
#include <tuple>
#include <utility>

#include "pgconn/capacity_plan.h"
#include "pgconn/database_url.h"
#include "pgconn/pool_match.h"

namespace pgconn::config {
namespace {

constexpr std::int64_t kMaxPoolSize = 10000;
constexpr std::int64_t kMaxCpus = 1024;
constexpr std::int64_t kMaxInstances = 10000;
constexpr std::int64_t kMaxReserve = 1000000;

// Everything a [[pool]] table says, type-checked but not yet validated as a whole.
struct RawPool {
  PoolConfig pool;
  std::optional<std::int64_t> size;
  std::optional<std::int64_t> cpus;
  std::optional<std::string> database_url;  // kept only until the size is read from it
};

bool IsNameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '.' || c == ':' || c == '-';
}

std::optional<std::string> NonEmptyString(TableReader& table, std::string_view key) {
  auto value = table.OptionalString(key);
  if (value && value->empty()) table.Fail(key, "must not be empty");
  return value;
}

void ReadMatchKeys(TableReader& table, PoolConfig& pool) {
  pool.application_name = NonEmptyString(table, "application_name");
  pool.user = NonEmptyString(table, "user");
  pool.database = NonEmptyString(table, "database");
  if (auto text = table.OptionalString("client_addr")) {
    pool.client_addr = ParseAddressRange(*text);
    if (!pool.client_addr) {
      table.Fail("client_addr",
                 "invalid address or CIDR \"" + *text + "\" (e.g. 10.1.2.3, 10.0.0.0/8, fd00::/8)");
    }
  }
}

RawPool ReadRawPool(TableReader& table) {
  RawPool raw;
  raw.pool.name = table.RequireString("name");
  raw.pool.target = table.RequireString("target");
  ReadMatchKeys(table, raw.pool);
  raw.size = table.OptionalInteger("size", 1, kMaxPoolSize);
  raw.cpus = table.OptionalInteger("cpus", 1, kMaxCpus);
  raw.database_url = table.OptionalString("database_url");
  if (auto v = table.OptionalInteger("instances", 0, kMaxInstances)) raw.pool.instances = *v;
  if (auto v = table.OptionalEnum<InstanceBy>("instance_by",
                                              {{"client_addr", InstanceBy::kClientAddr},
                                               {"application_name", InstanceBy::kApplicationName},
                                               {"none", InstanceBy::kNone}})) {
    raw.pool.instance_by = *v;
  }
  if (auto v = table.OptionalInteger("max_instance_series", 1, kMaxInstances)) {
    raw.pool.max_instance_series = static_cast<int>(*v);
  }
  table.HintIfUnknown("connection_limit", "use size, or database_url with ?connection_limit=N");
  return raw;
}

void CheckPoolName(const TableReader& table, const std::string& name) {
  if (name.rfind("__", 0) == 0) {
    table.Fail("name", "pool names starting with \"__\" are reserved (\"" +
                           std::string(kUnpooledPool) + "\" holds the sessions in no pool)");
  }
  if (name.empty() || !std::all_of(name.begin(), name.end(), IsNameChar)) {
    table.Fail("name", "invalid pool name \"" + name + "\" (use letters, digits and _ . : - only)");
  }
}

TargetConfig& FindTarget(const TableReader& table, Config& out, const std::string& name) {
  std::string names;
  for (auto& target : out.targets) {
    if (target.name == name) return target;
    names += (names.empty() ? "" : ", ") + target.name;
  }
  table.Fail("target", "unknown target \"" + name + "\" (defined targets: " + names + ")");
}

// The later of two keys in the file, where a conflict is reported.
std::string_view LaterKey(const TableReader& table, std::string_view a, std::string_view b) {
  const auto pa = table.PositionOf(a);
  const auto pb = table.PositionOf(b);
  return std::tie(pa.line, pa.column) < std::tie(pb.line, pb.column) ? b : a;
}

void SizeFromUrl(const TableReader& table, RawPool& raw) {
  std::string error;
  const auto info = ParseDatabaseUrl(*raw.database_url, &error);
  raw.database_url.reset();  // the URL may hold a password: drop it as soon as possible
  if (!info) table.Fail("database_url", error);
  if (info->connection_limit) {
    raw.pool.size = *info->connection_limit;
    raw.pool.size_source = "database_url connection_limit";
  } else if (raw.cpus) {
    raw.pool.size = PrismaDefaultPoolSize(*raw.cpus);
    raw.pool.size_source = "database_url without connection_limit: Prisma default, cpus " +
                           std::to_string(*raw.cpus) + " x 2 + 1";
  } else {
    table.Fail("database_url",
               "has no connection_limit: add it, or set cpus (Prisma then opens cpus x 2 + 1)");
  }
  if (info->pgbouncer) raw.pool.size_source += "; pgbouncer=true: a pool of PgBouncer clients";
}

void ResolveSize(const TableReader& table, RawPool& raw) {
  if (raw.size && (raw.database_url || raw.cpus)) {
    table.Fail(LaterKey(table, "size", raw.database_url ? "database_url" : "cpus"),
               "set only one of size, database_url and cpus (cpus may go with database_url)");
  }
  if (raw.size) {
    raw.pool.size = *raw.size;
    raw.pool.size_source = "size";
  } else if (raw.database_url) {
    SizeFromUrl(table, raw);
  } else if (raw.cpus) {
    raw.pool.size = PrismaDefaultPoolSize(*raw.cpus);
    raw.pool.size_source = "Prisma default, cpus " + std::to_string(*raw.cpus) + " x 2 + 1";
  } else {
    table.FailAtHeader("[[pool]] \"" + raw.pool.name +
                       "\" needs a pool size: set size, database_url or cpus");
  }
}

void ReadPool(TableReader& table, Config& out, std::map<std::string, unsigned>& first_lines) {
  RawPool raw = ReadRawPool(table);
  table.RejectUnknownKeys();  // a typo is a better first error than a missing size
  CheckPoolName(table, raw.pool.name);
  TargetConfig& target = FindTarget(table, out, raw.pool.target);
  const std::string key = raw.pool.target + "/" + raw.pool.name;
  const auto [it, inserted] = first_lines.emplace(key, table.PositionOf("name").line);
  if (!inserted) {
    table.Fail("name", "duplicate pool name \"" + raw.pool.name + "\" for target \"" +
                           raw.pool.target + "\" (first defined on line " +
                           std::to_string(it->second) + ")");
  }
  ResolveSize(table, raw);
  target.pools.push_back(std::move(raw.pool));
}

}  // namespace

void ReadPoolSections(const toml::node& node, const ConfigSource& source, Config& out) {
  std::map<std::string, unsigned> first_lines;  // "target/pool" -> line, for duplicates
  ReadTableArray(node, "pool", source,
                 [&](TableReader& table) { ReadPool(table, out, first_lines); });
}

void ReadReserveKey(TableReader& target, ReserveConfig& out) {
  const toml::node* node = target.Take("reserve");
  if (!node) return;
  if (const auto* integer = node->as_integer()) {
    target.OptionalInteger("reserve", 0, kMaxReserve);  // range check with the usual message
    out = ReserveConfig{integer->get(), 0};
    return;
  }
  if (!node->is_string()) {
    target.Fail("reserve", "expected an integer or a string such as \"20%\", got " +
                               std::string(TypeName(*node)));
  }
  const std::string& text = node->as_string()->get();
  const auto reserve = ParseReserve(text);
  if (!reserve) {
    target.Fail("reserve", "invalid reserve \"" + text +
                               "\" (use a count such as 10, a percentage such as \"20%\", or "
                               "both: \"10 + 20%\")");
  }
  out = *reserve;
}

}  // namespace pgconn::config
