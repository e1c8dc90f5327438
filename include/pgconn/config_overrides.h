// Flags that override config keys (--web.listen-address, --log.level, ...), applied on every
// load of the file, at start and on each reload.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "pgconn/config.h"

namespace pgconn {

struct ConfigOverrides {  // nullopt keeps the file's value
  std::optional<std::string> listen_address;
  std::optional<std::string> telemetry_path;
  std::optional<std::string> web_config_file;  // read on every load, like the TOML
  std::optional<LogLevel> log_level;
  std::optional<LogFormat> log_format;
};

// "debug" / "info" / "warn" / "error"; nullopt for anything else.
std::optional<LogLevel> ParseLogLevel(std::string_view name);
// "text" / "json", and "logfmt" as another name for text (the flag Prometheus exporters take).
std::optional<LogFormat> ParseLogFormat(std::string_view name);

// Validates and applies the overrides; throws ConfigError ("--flag: ...") or WebConfigError.
void ApplyOverrides(const ConfigOverrides& overrides, Config& config);

// LoadConfigFile, then ApplyOverrides: what the exporter runs on, at start and on reload.
Config LoadConfigWithOverrides(const std::string& path, const ConfigOverrides& overrides,
                               const LoadOptions& options = {});

}  // namespace pgconn
