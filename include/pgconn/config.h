// The validated configuration: parsed once from TOML, then passed down by value or const&.
#pragma once

#include <chrono>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace pgconn {

using Millis = std::chrono::milliseconds;

enum class LogLevel { kDebug, kInfo, kWarn, kError };
enum class LogFormat { kText, kJson };

struct ExporterConfig {
  std::string listen_address = "0.0.0.0:10432";  // normalized: always HOST:PORT, IPv4
  std::string telemetry_path = "/metrics";
  Millis poll_interval{15000};
  LogLevel log_level = LogLevel::kInfo;
  LogFormat log_format = LogFormat::kText;
};

// Labels of pgconn_connections that a target keeps; the others are summed away.
inline const std::vector<std::string>& AllConnectionLabels() {
  static const std::vector<std::string> kLabels = {"database", "user", "application", "state"};
  return kLabels;
}

struct TargetConfig {
  std::string name;
  std::string dsn;              // as written: key=value conninfo or postgres(ql):// URL
  std::string password;         // resolved from password_file / password_env; never logged
  std::string password_source;  // "password_file /path" or "password_env NAME", for messages
  Millis connect_timeout{3000};
  Millis query_timeout{2000};
  std::vector<std::string> connection_labels = AllConnectionLabels();
  int max_connection_series = 100;  // cap on pgconn_connections series before folding
};

struct Config {
  std::string source_path;
  ExporterConfig exporter;
  std::vector<TargetConfig> targets;
};

// Thrown for every invalid configuration; what() is "file:line:column: message".
class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

Config ParseConfig(std::string_view toml_text, const std::string& source_path);
Config LoadConfigFile(const std::string& path);

// "15s", "500ms", "1m30s", "2h" (Go time.Duration style, no negatives).
std::optional<Millis> ParseDuration(std::string_view text);

// Inverse of ParseDuration for messages and logs: 1500ms -> "1.5s", 90s -> "1m30s", 0 -> "0s".
std::string FormatDuration(Millis duration);

// ":10432" -> "0.0.0.0:10432"; rejects what civetweb cannot bind (IPv6, missing port).
std::optional<std::string> NormalizeListenAddress(std::string_view text);

}  // namespace pgconn
