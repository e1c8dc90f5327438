// A real Debian PgBouncer for integration tests, in front of a TestPostgres: 127.0.0.1 on a
// free port, transaction pooling, a small pool, stats_users = the exporter's role and the
// superuser (for the test's own console queries). The
// config is otherwise PgBouncer's default (no ignore_startup_parameters).
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "support/process.h"
#include "support/test_postgres.h"

namespace pgconn::testing {

struct PgbouncerOptions {
  int default_pool_size = 2;
  int reserve_pool_size = 0;
  int max_client_conn = 100;
  std::string pool_mode = "transaction";
  std::vector<std::string> extra_settings;  // "name = value" lines for [pgbouncer]
};

class TestPgbouncer {
 public:
  TestPgbouncer(const TestPostgres& postgres, PgbouncerOptions options = {});  // starts
  ~TestPgbouncer();  // SIGTERM, then SIGKILL
  TestPgbouncer(const TestPgbouncer&) = delete;
  TestPgbouncer& operator=(const TestPgbouncer&) = delete;

  int port() const { return port_; }
  void Stop();
  void Signal(int signal) const;  // e.g. SIGSTOP / SIGCONT to freeze and thaw it
  std::string Log() const;
  std::string LogPath() const;  // the `logfile` PgBouncer writes, for [[pgbouncer]] log

  // "host=127.0.0.1 port=N dbname=DB user=USER" (no password); dbname=pgbouncer: the console.
  std::string Dsn(const std::string& user = kExporterRole,
                  const std::string& database = "pgbouncer") const;

  // Runs a console command (SHOW ...) as the superuser; rows as text.
  Rows ConsoleSql(const std::string& sql) const;

 private:
  pid_t Pid() const;

  std::unique_ptr<TempDir> dir_;
  int port_ = 0;
};

}  // namespace pgconn::testing
