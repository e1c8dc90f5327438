// Config parsing for the unit tests that check a config is refused and why.
#pragma once

#include <string>

#include "pgconn/config.h"

namespace pgconn::testing {

// The smallest valid [[target]], for tests about other sections.
inline const std::string kOneTarget =
    "[[target]]\nname = \"main\"\ndsn = \"host=127.0.0.1 dbname=postgres user=mon\"\n";

// The ConfigError message parsing `toml` throws (it names `path`), or "" when it parses.
inline std::string ConfigErrorOf(const std::string& toml,
                                 const std::string& path = "/etc/pgconn/exporter.toml") {
  try {
    ParseConfig(toml, path);
  } catch (const ConfigError& error) {
    return error.what();
  }
  return "";
}

}  // namespace pgconn::testing
