#include "support/test_pgbouncer.h"

#include <libpq-fe.h>
#include <signal.h>

#include <stdexcept>

namespace pgconn::testing {
namespace {

std::string Ini(const TestPostgres& postgres, const PgbouncerOptions& o, const TempDir& dir,
                int port) {
  const std::string server = "host=127.0.0.1 port=" + std::to_string(postgres.port());
  std::string ini = "[databases]\npostgres = " + server + " dbname=postgres\n" +
                    "appdb = " + server + " dbname=" + kAppDatabase + "\n\n[pgbouncer]\n" +
                    "listen_addr = 127.0.0.1\nlisten_port = " + std::to_string(port) +
                    "\nunix_socket_dir =\nauth_type = md5\nauth_file = " + dir.File("users.txt") +
                    "\nstats_users = " + kExporterRole + ", " + kSuperuser +
                    "\npool_mode = " + o.pool_mode +
                    "\ndefault_pool_size = " + std::to_string(o.default_pool_size) +
                    "\nreserve_pool_size = " + std::to_string(o.reserve_pool_size) +
                    "\nmax_client_conn = " + std::to_string(o.max_client_conn) +
                    "\nlogfile = " + dir.File("pgbouncer.log") +
                    "\npidfile = " + dir.File("pgbouncer.pid") + "\n";
  for (const auto& line : o.extra_settings) ini += line + "\n";
  return ini;
}

std::string Users() {
  std::string users;
  for (const auto& [user, password] :
       {std::pair<const char*, const char*>{kExporterRole, kExporterPassword},
        {kSuperuser, kSuperuserPassword},
        {kAppRoleA, kAppPassword},
        {kAppRoleB, kAppPassword}}) {
    users += std::string("\"") + user + "\" \"" + password + "\"\n";
  }
  return users;
}

}  // namespace

TestPgbouncer::TestPgbouncer(const TestPostgres& postgres, PgbouncerOptions options)
    : dir_(std::make_unique<TempDir>("pgconn-pgbouncer-")), port_(PickFreePort()) {
  WriteFile(dir_->File("pgbouncer.ini"), Ini(postgres, options, *dir_, port_));
  WriteFile(dir_->File("users.txt"), Users());
  ChownToPostgres(dir_->path());
  // -d: PgBouncer daemonizes once it listens; it refuses to run as root.
  const ProcessResult r =
      RunProcess(AsPostgresUser({"/usr/sbin/pgbouncer", "-d", dir_->File("pgbouncer.ini")}), "",
                 milliseconds(30000));
  if (r.exit_code != 0 || !WaitFor([this] { return Pid() > 0; }, milliseconds(10000))) {
    throw std::runtime_error("pgbouncer did not start: " + r.err + r.out + Tail(Log()));
  }
}

TestPgbouncer::~TestPgbouncer() { Stop(); }

pid_t TestPgbouncer::Pid() const {
  const std::string text = ReadFile(dir_->File("pgbouncer.pid"));
  return text.empty() ? -1 : static_cast<pid_t>(std::stol(text));
}

void TestPgbouncer::Stop() {
  const pid_t pid = Pid();
  if (pid <= 0) return;
  kill(pid, SIGTERM);  // immediate shutdown
  if (!WaitFor([pid] { return kill(pid, 0) != 0; }, milliseconds(10000))) kill(pid, SIGKILL);
  std::remove(dir_->File("pgbouncer.pid").c_str());
}

void TestPgbouncer::Signal(int signal) const {
  if (const pid_t pid = Pid(); pid > 0) kill(pid, signal);
}

std::string TestPgbouncer::Log() const { return ReadFile(dir_->File("pgbouncer.log")); }

std::string TestPgbouncer::LogPath() const { return dir_->File("pgbouncer.log"); }

std::string TestPgbouncer::Dsn(const std::string& user, const std::string& database) const {
  return "host=127.0.0.1 port=" + std::to_string(port_) + " dbname=" + database + " user=" + user;
}

Rows TestPgbouncer::ConsoleSql(const std::string& sql) const {
  const std::string conninfo = Dsn(kSuperuser) + " password=" + kSuperuserPassword +
                               " application_name=pgconn_test_control connect_timeout=5";
  PGconn* conn = PQconnectdb(conninfo.c_str());
  std::unique_ptr<PGconn, decltype(&PQfinish)> guard(conn, &PQfinish);
  if (PQstatus(conn) != CONNECTION_OK) {
    throw std::runtime_error(std::string("pgbouncer console: ") + PQerrorMessage(conn));
  }
  std::unique_ptr<PGresult, decltype(&PQclear)> result(PQexec(conn, sql.c_str()), &PQclear);
  if (PQresultStatus(result.get()) != PGRES_TUPLES_OK) {
    throw std::runtime_error(sql + ": " + PQresultErrorMessage(result.get()));
  }
  Rows rows;
  for (int r = 0; r < PQntuples(result.get()); ++r) {
    Row row;
    for (int c = 0; c < PQnfields(result.get()); ++c) {
      if (PQgetisnull(result.get(), r, c)) {
        row.emplace_back(std::nullopt);
      } else {
        row.emplace_back(PQgetvalue(result.get(), r, c));
      }
    }
    rows.push_back(std::move(row));
  }
  return rows;
}

}  // namespace pgconn::testing
