// The validated configuration: parsed once from TOML, then passed down by value or const&.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "pgconn/web_config.h"

namespace pgconn {

using Millis = std::chrono::milliseconds;

enum class LogLevel { kDebug, kInfo, kWarn, kError };
enum class LogFormat { kText, kJson };

// [exporter] shard = "index/count": poll only the targets whose name hashes to `index`.
struct ShardConfig {
  std::uint32_t index = 0;
  std::uint32_t count = 1;
};

struct ExporterConfig {
  std::string listen_address = "0.0.0.0:10432";  // normalized: always HOST:PORT, IPv4
  std::string telemetry_path = "/metrics";
  Millis poll_interval{15000};
  LogLevel log_level = LogLevel::kInfo;
  LogFormat log_format = LogFormat::kText;
  std::optional<ShardConfig> shard;  // nullopt: poll every target
  std::string procfs = "/proc";      // procfs root, like node_exporter's --path.procfs
  // Cap of the shared poll pool; it grows to it only while due polls wait for a thread.
  int poller_threads = 100;
};

// Labels of pgconn_connections that a target keeps; the others are summed away.
inline const std::vector<std::string>& AllConnectionLabels() {
  static const std::vector<std::string> kLabels = {"database", "user", "application", "state"};
  return kLabels;
}

// How a pool tells one app instance's sessions from another's.
enum class InstanceBy { kNone, kClientAddr, kApplicationName };

// An address or CIDR block (IPv4 or IPv6), parsed once at load time.
struct AddressRange {
  std::string text;  // as written, for messages
  int family = 0;    // AF_INET or AF_INET6
  std::array<unsigned char, 16> bytes{};
  int prefix_length = 0;
};

// [[pool]]: one app's connection pool on a target. A session belongs to the first pool (in
// file order) whose every configured match key holds.
struct PoolConfig {
  std::string name;
  std::string target;
  std::optional<std::string> application_name;  // exact, or a shell glob (* ? [...])
  std::optional<std::string> user;
  std::optional<std::string> database;
  std::optional<AddressRange> client_addr;
  std::int64_t size = 0;    // connections per instance
  std::string size_source;  // how size was found, for people; never contains the URL
  std::int64_t instances = 1;
  InstanceBy instance_by = InstanceBy::kNone;
  int max_instance_series = 50;  // instance series kept before folding into "__other__"
};

// Connections kept free for admin tools, monitoring and backups: an absolute count plus a
// buffer in percent of everything planned ("10 + 20%": (pools + 10) * 1.2, rounded up).
struct ReserveConfig {
  std::int64_t connections = 0;
  std::int64_t percent_hundredths = 0;  // 20% = 2000, so arithmetic stays exact
  bool configured() const { return connections > 0 || percent_hundredths > 0; }
};

struct TargetConfig {
  std::string name;
  std::string dsn;              // as written: key=value conninfo or postgres(ql):// URL
  std::string password;         // resolved from password_file / password_env; never logged
  std::string password_source;  // "password_file /path" or "password_env NAME", for messages
  Millis connect_timeout{3000};
  Millis query_timeout{2000};
  std::vector<std::string> connection_labels = AllConnectionLabels();
  int max_connection_series = 100;  // cap on pgconn_connections series before folding
  ReserveConfig reserve;
  std::vector<PoolConfig> pools;  // the [[pool]] entries bound to this target, file order
  std::string server_log;         // PostgreSQL log file followed for refusals; empty = none
  bool by_client_addr = false;    // export pgconn_client_connections_by_addr (opt-in)
  // Extra provider/fork settings that reserve slots from ordinary roles (reserved_settings).
  std::vector<std::string> reserved_settings;
  bool via_pgbouncer = false;  // a pooled database behind PgBouncer: never send `options`
};

// [[process]]: processes on this host whose fds and sockets to the targets are watched.
enum class ProcessMatch { kPidFile, kExe, kCmdline, kPostmasterPidFile, kPostgresDataDir };

struct ProcessConfig {
  std::string name;  // the `process` label
  ProcessMatch match = ProcessMatch::kPidFile;
  std::string value;   // pid file, postmaster.pid or data dir (resolved), exe name, or regex
  std::string target;  // optional: the [[target]] this PostgreSQL server serves
};

// [[pgbouncer]]: one PgBouncer admin console (dbname=pgbouncer). `console` carries name, dsn,
// password and timeouts (via_pgbouncer is always true: no `options` is sent).
struct PgbouncerConfig {
  TargetConfig console;
  std::string target;  // optional: the [[target]] (PostgreSQL server) it pools for
  const std::string& name() const { return console.name; }
  std::string log;  // PgBouncer log file followed for refusals (resolved); empty = none
};

struct Config {
  std::string source_path;
  ExporterConfig exporter;
  std::vector<TargetConfig> targets;
  std::vector<ProcessConfig> processes;
  WebConfig web;  // from --web.config.file; no users means no authentication
  // Located "path:line:column: ..." warnings: risky but usable input (a password file others
  // can read), and in --check-config a missing password source (LoadOptions).
  std::vector<std::string> warnings;
  std::vector<PgbouncerConfig> pgbouncers;  // [[pgbouncer]], file order
};

// Thrown for every invalid configuration; what() is "file:line:column: message".
class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

Config ParseConfig(std::string_view toml_text, const std::string& source_path);
Config LoadConfigFile(const std::string& path);

// --check-config: a password source that is missing here (unset password_env, unreadable
// password_file) is a warning in Config::warnings, so CI can check a config without secrets.
struct LoadOptions {
  bool secrets_optional = false;
};
Config ParseConfig(std::string_view toml_text, const std::string& source_path,
                   const LoadOptions& options);
Config LoadConfigFile(const std::string& path, const LoadOptions& options);

// "15s", "500ms", "1m30s", "2h" (Go time.Duration style, no negatives).
std::optional<Millis> ParseDuration(std::string_view text);

// Inverse of ParseDuration for messages and logs: 1500ms -> "1.5s", 90s -> "1m30s", 0 -> "0s".
std::string FormatDuration(Millis duration);

// ":10432" -> "0.0.0.0:10432"; rejects what civetweb cannot bind (IPv6, missing port).
std::optional<std::string> NormalizeListenAddress(std::string_view text);

}  // namespace pgconn
