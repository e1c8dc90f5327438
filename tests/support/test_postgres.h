// A throwaway PostgreSQL for integration tests (Debian's 15 unless PGCONN_PG_BINDIR names other
// server binaries, 12 to 18): listens on 127.0.0.1 and a free port, with its data directory
// copied from a template that initdb creates once per machine.
#pragma once

#include <sys/types.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "support/process.h"

namespace pgconn::testing {

// Roles and objects every TestPostgres has (created once in the template).
inline constexpr const char* kSuperuser = "postgres";
inline constexpr const char* kSuperuserPassword = "superuser-test-pw";
inline constexpr const char* kExporterRole = "pgconn_exporter";  // LOGIN, pg_monitor, limit 5
inline constexpr const char* kExporterPassword = "exporter-secret-pw";
inline constexpr int kExporterRoleConnectionLimit = 5;
inline constexpr const char* kAppRoleA = "app_a";
inline constexpr const char* kAppRoleB = "app_b";
inline constexpr const char* kAppPassword = "app-pw";
inline constexpr const char* kAppDatabase = "appdb";  // CONNECTION LIMIT 50
inline constexpr int kAppDatabaseConnectionLimit = 50;
inline constexpr const char* kLockTable = "t";  // in postgres and appdb, all privileges to PUBLIC
inline constexpr const char* kControlApplicationName = "pgconn_test_control";

struct PostgresOptions {
  int max_connections = 40;
  int superuser_reserved_connections = 3;
  std::vector<std::string> extra_settings;  // "name=value", written to the config file
};

using Row = std::vector<std::optional<std::string>>;
using Rows = std::vector<Row>;

class TestPostgres {
 public:
  explicit TestPostgres(PostgresOptions options = {});  // copies the template and starts
  ~TestPostgres();                                      // immediate stop, removes the dir
  TestPostgres(const TestPostgres&) = delete;
  TestPostgres& operator=(const TestPostgres&) = delete;

  int port() const { return port_; }
  const std::string& SocketDir() const { return socket_dir_; }
  const std::string& DataDir() const { return data_dir_; }
  const PostgresOptions& options() const { return options_; }
  bool running() const { return running_; }

  void Start();                                 // same port as before
  void Stop(const std::string& mode = "fast");  // pg_ctl stop -m MODE
  void Restart();

  pid_t PostmasterPid() const;  // from postmaster.pid; -1 when not running
  std::string Log() const;      // the server log so far

  // Runs one statement as the superuser over the Unix socket (a fresh connection per call,
  // closed before returning, application_name pgconn_test_control). Throws on error.
  Rows SuperuserSql(const std::string& sql, const std::string& database = "postgres") const;
  std::string SuperuserScalar(const std::string& sql,
                              const std::string& database = "postgres") const;

  // Client backends with this application_name (none -> empty / nullopt).
  std::vector<pid_t> BackendPidsOf(const std::string& application_name) const;
  std::optional<pid_t> BackendPidOf(const std::string& application_name) const;

  // Sends SIGCONT to every child of the postmaster (undoes a test's SIGSTOP).
  void ContinueAllBackends() const;

  // "host=127.0.0.1 port=N dbname=DB user=USER" (no password).
  std::string Dsn(const std::string& user = kExporterRole,
                  const std::string& database = "postgres") const;

  // The template's directory (creating it if needed); exposed for diagnostics.
  static std::string TemplateDir();
  static std::string BinDir();
  // Major version of the server binaries in BinDir() (12, ..., 18), from `postgres --version`.
  static int ServerMajor();

 private:
  void WriteSettings() const;
  bool TryStart(std::string* error);

  PostgresOptions options_;
  std::unique_ptr<TempDir> root_;
  std::string data_dir_;
  std::string socket_dir_;
  std::string log_path_;
  int port_ = 0;
  bool running_ = false;
};

}  // namespace pgconn::testing
