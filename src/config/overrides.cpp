// Command-line values over the file's: validated as strictly as the keys they replace.
#include <string>

#include "listen_address.h"
#include "pgconn/config_overrides.h"
#include "sections.h"

namespace pgconn {

std::optional<LogLevel> ParseLogLevel(std::string_view name) {
  if (name == "debug") return LogLevel::kDebug;
  if (name == "info") return LogLevel::kInfo;
  if (name == "warn") return LogLevel::kWarn;
  if (name == "error") return LogLevel::kError;
  return std::nullopt;
}

std::optional<LogFormat> ParseLogFormat(std::string_view name) {
  if (name == "text" || name == "logfmt") return LogFormat::kText;
  if (name == "json") return LogFormat::kJson;
  return std::nullopt;
}

void ApplyOverrides(const ConfigOverrides& overrides, Config& config) {
  if (overrides.listen_address) {
    const config::ListenAddressCheck check = config::CheckListenAddress(*overrides.listen_address);
    if (!check.error.empty()) {
      throw ConfigError("--web.listen-address: " + check.error);
    }
    config.exporter.listen_address = check.address;
  }
  if (overrides.telemetry_path) {
    const std::string error = config::TelemetryPathError(*overrides.telemetry_path);
    if (!error.empty()) throw ConfigError("--web.telemetry-path: " + error);
    config.exporter.telemetry_path = *overrides.telemetry_path;
  }
  if (overrides.log_level) config.exporter.log_level = *overrides.log_level;
  if (overrides.log_format) config.exporter.log_format = *overrides.log_format;
  if (overrides.web_config_file) {
    try {
      config.web = LoadWebConfigFile(*overrides.web_config_file);
    } catch (const WebConfigError& error) {
      throw WebConfigError(std::string("--web.config.file: ") + error.what());
    }
  }
}

Config LoadConfigWithOverrides(const std::string& path, const ConfigOverrides& overrides,
                               const LoadOptions& options) {
  Config config = LoadConfigFile(path, options);
  ApplyOverrides(overrides, config);
  return config;
}

}  // namespace pgconn
