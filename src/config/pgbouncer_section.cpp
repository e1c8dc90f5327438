// [[pgbouncer]]: one PgBouncer admin console to watch, optionally tied to the [[target]]
// (PostgreSQL server) it pools for.
#include <algorithm>
#include <map>
#include <string>

#include "sections.h"

namespace pgconn::config {
namespace {

void ReadPgbouncer(TableReader& table, std::map<std::string, unsigned>& first_lines, Config& out) {
  PgbouncerConfig config;
  if (auto target = table.OptionalString("target")) {
    const bool known = std::any_of(out.targets.begin(), out.targets.end(),
                                   [&](const TargetConfig& t) { return t.name == *target; });
    if (!known) table.Fail("target", "no [[target]] named \"" + *target + "\"");
    config.target = *target;
  }
  if (auto path = table.OptionalString("log")) {  // before ReadConsoleKeys' unknown-key check
    if (path->empty()) table.Fail("log", "must not be empty");
    config.log = table.source().ResolvePath(*path);
  }
  ReadConsoleKeys(table, first_lines, config.console);
  config.console.via_pgbouncer = true;  // the console rejects `options` by default
  out.pgbouncers.push_back(std::move(config));
}

}  // namespace

void ReadPgbouncerSections(const toml::node& node, const ConfigSource& source, Config& out) {
  std::map<std::string, unsigned> first_lines;  // pgbouncer name -> line, for duplicate errors
  ReadTableArray(node, "pgbouncer", source,
                 [&](TableReader& table) { ReadPgbouncer(table, first_lines, out); });
}

}  // namespace pgconn::config
