#include "support/test_postgres.h"

#include <dirent.h>
#include <fcntl.h>
#include <libpq-fe.h>
#include <signal.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <sstream>
#include <stdexcept>

namespace pgconn::testing {
namespace {

namespace fs = std::filesystem;

// Bump when the template's contents change so stale templates are not reused.
constexpr const char* kTemplateRecipe = "pgconn-test-template-v1";

std::string TempRoot() {
  const char* tmp = std::getenv("TMPDIR");
  return (tmp != nullptr && *tmp != '\0') ? std::string(tmp) : std::string("/tmp");
}

uint64_t Fnv1a(const std::string& text) {
  uint64_t hash = 1469598103934665603ULL;
  for (unsigned char c : text) {
    hash ^= c;
    hash *= 1099511628211ULL;
  }
  return hash;
}

std::string Hex(uint64_t value) {
  char buf[17];
  std::snprintf(buf, sizeof(buf), "%016llx", static_cast<unsigned long long>(value));
  return std::string(buf, 12);
}

std::string Quote(const std::string& value) {  // a postgresql.conf string literal
  std::string out = "'";
  for (char c : value) {
    if (c == '\'') out += '\'';
    out += c;
  }
  return out + "'";
}

// One libpq connection over a Unix socket as the superuser; closed on scope exit.
class ControlConnection {
 public:
  ControlConnection(const std::string& socket_dir, int port, const std::string& database) {
    const std::string port_text = std::to_string(port);
    const char* keys[] = {"host", "port", "user", "dbname", "application_name", "connect_timeout",
                          nullptr};
    const char* values[] = {socket_dir.c_str(),
                            port_text.c_str(),
                            kSuperuser,
                            database.c_str(),
                            kControlApplicationName,
                            "10",
                            nullptr};
    conn_ = PQconnectdbParams(keys, values, 0);
    if (conn_ == nullptr || PQstatus(conn_) != CONNECTION_OK) {
      std::string message = conn_ != nullptr ? PQerrorMessage(conn_) : "out of memory";
      PQfinish(conn_);
      conn_ = nullptr;
      throw std::runtime_error("superuser connection to " + socket_dir + ":" + port_text +
                               " failed: " + message);
    }
  }
  ~ControlConnection() { PQfinish(conn_); }
  ControlConnection(const ControlConnection&) = delete;
  ControlConnection& operator=(const ControlConnection&) = delete;

  Rows Exec(const std::string& sql, const std::vector<std::string>& params = {}) {
    std::vector<const char*> values;
    for (const auto& p : params) values.push_back(p.c_str());
    PGresult* res = PQexecParams(conn_, sql.c_str(), static_cast<int>(values.size()), nullptr,
                                 values.empty() ? nullptr : values.data(), nullptr, nullptr, 0);
    ExecStatusType status = PQresultStatus(res);
    if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK) {
      std::string message = PQresultErrorMessage(res);
      PQclear(res);
      throw std::runtime_error("SQL failed: " + sql + ": " + message);
    }
    Rows rows;
    for (int r = 0; r < PQntuples(res); ++r) {
      Row row;
      for (int c = 0; c < PQnfields(res); ++c) {
        if (PQgetisnull(res, r, c) != 0) {
          row.emplace_back(std::nullopt);
        } else {
          row.emplace_back(std::string(PQgetvalue(res, r, c)));
        }
      }
      rows.push_back(std::move(row));
    }
    PQclear(res);
    return rows;
  }

 private:
  PGconn* conn_ = nullptr;
};

void Check(const ProcessResult& r, const std::string& what, const std::string& extra = "") {
  if (r.exit_code != 0) {
    throw std::runtime_error(what + " failed (exit " + std::to_string(r.exit_code) + "): " + r.out +
                             r.err + (extra.empty() ? "" : "\n" + Tail(extra)));
  }
}

std::string PgCtl() { return TestPostgres::BinDir() + "/pg_ctl"; }

void BuildTemplate(const std::string& dir) {
  std::error_code ec;
  fs::remove_all(dir, ec);
  Check(RunProcess(AsPostgresUser({TestPostgres::BinDir() + "/initdb", "-D", dir, "-U", kSuperuser,
                                   "--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8",
                                   "--locale=C", "--no-sync", "--wal-segsize=1"}),
                   "", milliseconds(120000)),
        "initdb");
  {
    std::string conf = ReadFile(dir + "/postgresql.conf");
    conf +=
        "\n# pgconn integration tests: per-instance settings\ninclude_if_exists "
        "'pgconn_test.conf'\n";
    WriteFile(dir + "/postgresql.conf", conf);
  }
  TempDir sock("pgconn-tmpl-sock-");
  ChownToPostgres(sock.path());
  const int port = 5432;  // Unix socket only, in a private directory: no conflicts
  WriteFile(dir + "/pgconn_test.conf", "listen_addresses = ''\nport = " + std::to_string(port) +
                                           "\nunix_socket_directories = " + Quote(sock.path()) +
                                           "\nfsync = off\n");
  ChownToPostgres(dir);
  const std::string log = sock.File("template.log");
  Check(RunProcess(AsPostgresUser({PgCtl(), "-D", dir, "-l", log, "-w", "-t", "60", "start"}), "",
                   milliseconds(90000)),
        "pg_ctl start (template)", ReadFile(log));
  std::string error;
  try {
    {
      ControlConnection c(sock.path(), port, "postgres");
      const std::vector<std::string> setup = {
          std::string("ALTER ROLE postgres PASSWORD '") + kSuperuserPassword + "'",
          std::string("CREATE ROLE ") + kExporterRole + " LOGIN PASSWORD '" + kExporterPassword +
              "' IN ROLE pg_monitor CONNECTION LIMIT " +
              std::to_string(kExporterRoleConnectionLimit),
          std::string("CREATE ROLE ") + kAppRoleA + " LOGIN PASSWORD '" + kAppPassword + "'",
          std::string("CREATE ROLE ") + kAppRoleB + " LOGIN PASSWORD '" + kAppPassword + "'",
          std::string("CREATE DATABASE ") + kAppDatabase + " CONNECTION LIMIT " +
              std::to_string(kAppDatabaseConnectionLimit),
          std::string("CREATE TABLE ") + kLockTable + " (id int)",
          std::string("GRANT ALL ON ") + kLockTable + " TO PUBLIC",
      };
      for (const auto& sql : setup) c.Exec(sql);
    }
    {
      ControlConnection c(sock.path(), port, kAppDatabase);
      c.Exec(std::string("CREATE TABLE ") + kLockTable + " (id int)");
      c.Exec(std::string("GRANT ALL ON ") + kLockTable + " TO PUBLIC");
      c.Exec("CHECKPOINT");
    }
  } catch (const std::exception& e) {
    error = e.what();
  }
  ProcessResult stop =
      RunProcess(AsPostgresUser({PgCtl(), "-D", dir, "-m", "fast", "-w", "-t", "60", "stop"}), "",
                 milliseconds(90000));
  if (!error.empty()) throw std::runtime_error("template setup: " + error);
  Check(stop, "pg_ctl stop (template)", ReadFile(log));
  fs::remove(dir + "/pgconn_test.conf", ec);
  fs::remove(dir + "/postmaster.opts", ec);
}

class FileLock {
 public:
  explicit FileLock(const std::string& path) {
    fd_ = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd_ < 0) throw std::runtime_error("open " + path + ": " + std::strerror(errno));
    while (flock(fd_, LOCK_EX) != 0) {
      if (errno != EINTR) throw std::runtime_error("flock " + path + ": " + std::strerror(errno));
    }
  }
  ~FileLock() { close(fd_); }
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;

 private:
  int fd_ = -1;
};

// Instances whose test process died without its destructor (a ctest timeout kills with
// SIGKILL) would keep a postmaster and a data dir forever: stop and remove them.
void ReapOrphans() {
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(TempRoot(), ec)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind("pgconn-pg-", 0) != 0) continue;
    const std::string owner_text = ReadFile(entry.path().string() + "/owner.pid");
    const long owner = std::strtol(owner_text.c_str(), nullptr, 10);
    if (owner <= 0 || kill(static_cast<pid_t>(owner), 0) == 0 || errno != ESRCH) continue;
    const std::string data = entry.path().string() + "/data";
    if (fs::exists(data + "/postmaster.pid")) {
      RunProcess(AsPostgresUser({TestPostgres::BinDir() + "/pg_ctl", "-D", data, "-m", "immediate",
                                 "-w", "-t", "20", "stop"}),
                 "", milliseconds(30000));
    }
    fs::remove_all(entry.path(), ec);
  }
}

}  // namespace

std::string TestPostgres::BinDir() {
  const char* env = std::getenv("PGCONN_PG_BINDIR");
  return (env != nullptr && *env != '\0') ? std::string(env)
                                          : std::string("/usr/lib/postgresql/15/bin");
}

int TestPostgres::ServerMajor() {
  static const int major = [] {
    ProcessResult version = RunProcess({BinDir() + "/postgres", "--version"});
    Check(version, "postgres --version");
    // "postgres (PostgreSQL) 18.4" (or "... 15.14 (Debian 15.14-0+deb12u1)").
    const std::size_t at = version.out.find(") ");
    const int parsed = at == std::string::npos ? 0 : std::atoi(version.out.c_str() + at + 2);
    if (parsed < 10) throw std::runtime_error("cannot read the major version: " + version.out);
    return parsed;
  }();
  return major;
}

std::string TestPostgres::TemplateDir() {
  static const std::string dir = [] {
    ProcessResult version = RunProcess({BinDir() + "/postgres", "--version"});
    Check(version, "postgres --version");
    const std::string key = std::string(kTemplateRecipe) + "|" + BinDir() + "|" + version.out;
    const std::string final_dir =
        TempRoot() + "/pgconn-test-template-" + std::to_string(geteuid()) + "-" + Hex(Fnv1a(key));
    if (fs::exists(final_dir + "/PG_VERSION")) return final_dir;
    FileLock lock(final_dir + ".lock");  // serializes parallel test processes
    if (fs::exists(final_dir + "/PG_VERSION")) return final_dir;
    const std::string tmp = final_dir + ".tmp." + std::to_string(getpid());
    try {
      BuildTemplate(tmp);
    } catch (...) {
      std::error_code ec;
      fs::remove_all(tmp, ec);
      throw;
    }
    std::error_code ec;
    fs::remove_all(final_dir, ec);  // a partial leftover without PG_VERSION
    if (rename(tmp.c_str(), final_dir.c_str()) != 0) {
      const std::string message = std::strerror(errno);
      fs::remove_all(tmp, ec);
      throw std::runtime_error("rename " + tmp + " -> " + final_dir + ": " + message);
    }
    return final_dir;
  }();
  return dir;
}

TestPostgres::TestPostgres(PostgresOptions options) : options_(std::move(options)) {
  static const bool reaped = [] {
    ReapOrphans();
    return true;
  }();
  (void)reaped;
  const std::string templ = TemplateDir();
  root_ = std::make_unique<TempDir>("pgconn-pg-");
  WriteFile(root_->File("owner.pid"), std::to_string(getpid()) + "\n");
  data_dir_ = root_->File("data");
  socket_dir_ = root_->File("sock");
  log_path_ = root_->File("postgres.log");
  Check(RunProcess({"cp", "-a", templ, data_dir_}), "cp -a template");
  fs::create_directory(socket_dir_);
  ChownToPostgres(root_->path());
  std::string error;
  for (int attempt = 0; attempt < 5; ++attempt) {
    port_ = PickFreePort();
    WriteSettings();
    if (TryStart(&error)) return;
    if (error.find("Address already in use") == std::string::npos &&
        error.find("could not create any TCP/IP sockets") == std::string::npos) {
      break;
    }
  }
  throw std::runtime_error("PostgreSQL did not start: " + error);
}

TestPostgres::~TestPostgres() {
  try {
    if (running_ || PostmasterPid() > 0) {
      ContinueAllBackends();
      ProcessResult r = RunProcess(
          AsPostgresUser({PgCtl(), "-D", data_dir_, "-m", "immediate", "-w", "-t", "30", "stop"}),
          "", milliseconds(40000));
      pid_t pm = PostmasterPid();
      if (r.exit_code != 0 && pm > 0) kill(pm, SIGKILL);
    }
  } catch (...) {
    // Never throw from a destructor; the temp dir is removed below either way.
  }
}

void TestPostgres::WriteSettings() const {
  std::ostringstream conf;
  conf << "listen_addresses = '127.0.0.1'\n"
       << "port = " << port_ << "\n"
       << "unix_socket_directories = " << Quote(socket_dir_) << "\n"
       << "max_connections = " << options_.max_connections << "\n"
       << "superuser_reserved_connections = " << options_.superuser_reserved_connections << "\n"
       << "shared_buffers = '16MB'\n"
       << "fsync = off\n"
       << "synchronous_commit = off\n"
       << "full_page_writes = off\n"
       << "max_wal_senders = 0\n"
       << "wal_level = minimal\n";
  if (ServerMajor() >= 14) {
    // A backend whose client vanished mid-query (a crashed test) ends within a second.
    conf << "client_connection_check_interval = '1s'\n";
  }
  for (const auto& setting : options_.extra_settings) conf << setting << "\n";
  const std::string path = data_dir_ + "/pgconn_test.conf";
  WriteFile(path, conf.str());
  ChownToPostgres(path);
}

bool TestPostgres::TryStart(std::string* error) {
  const std::size_t log_before = ReadFile(log_path_).size();
  ProcessResult r = RunProcess(
      AsPostgresUser({PgCtl(), "-D", data_dir_, "-l", log_path_, "-w", "-t", "60", "start"}), "",
      milliseconds(90000));
  if (r.exit_code == 0) {
    running_ = true;
    return true;
  }
  const std::string log = ReadFile(log_path_);
  *error = r.out + r.err + "\n" + Tail(log.substr(std::min(log_before, log.size())));
  // pg_ctl may time out with the postmaster still starting; do not leave it behind.
  RunProcess(AsPostgresUser({PgCtl(), "-D", data_dir_, "-m", "immediate", "-w", "stop"}), "",
             milliseconds(30000));
  return false;
}

void TestPostgres::Start() {
  if (running_) return;
  std::string error;
  if (!TryStart(&error)) throw std::runtime_error("PostgreSQL did not restart: " + error);
}

void TestPostgres::Stop(const std::string& mode) {
  if (!running_) return;
  ContinueAllBackends();
  ProcessResult r =
      RunProcess(AsPostgresUser({PgCtl(), "-D", data_dir_, "-m", mode, "-w", "-t", "60", "stop"}),
                 "", milliseconds(90000));
  Check(r, "pg_ctl stop", Log());
  running_ = false;
}

void TestPostgres::Restart() {
  Stop();
  Start();
}

pid_t TestPostgres::PostmasterPid() const {
  std::string text = ReadFile(data_dir_ + "/postmaster.pid");
  if (text.empty()) return -1;
  long pid = std::strtol(text.c_str(), nullptr, 10);
  if (pid <= 0 || kill(static_cast<pid_t>(pid), 0) != 0) return -1;
  return static_cast<pid_t>(pid);
}

std::string TestPostgres::Log() const { return ReadFile(log_path_); }

Rows TestPostgres::SuperuserSql(const std::string& sql, const std::string& database) const {
  ControlConnection c(socket_dir_, port_, database);
  return c.Exec(sql);
}

std::string TestPostgres::SuperuserScalar(const std::string& sql,
                                          const std::string& database) const {
  Rows rows = SuperuserSql(sql, database);
  if (rows.size() != 1 || rows[0].size() != 1 || !rows[0][0]) {
    throw std::runtime_error("expected one non-NULL value from: " + sql);
  }
  return *rows[0][0];
}

std::vector<pid_t> TestPostgres::BackendPidsOf(const std::string& application_name) const {
  ControlConnection c(socket_dir_, port_, "postgres");
  Rows rows = c.Exec(
      "SELECT pid FROM pg_stat_activity WHERE backend_type = 'client backend' "
      "AND application_name = $1 ORDER BY backend_start",
      {application_name});
  std::vector<pid_t> pids;
  for (const auto& row : rows) pids.push_back(static_cast<pid_t>(std::stol(row.at(0).value())));
  return pids;
}

std::optional<pid_t> TestPostgres::BackendPidOf(const std::string& application_name) const {
  std::vector<pid_t> pids = BackendPidsOf(application_name);
  if (pids.empty()) return std::nullopt;
  return pids.front();
}

void TestPostgres::ContinueAllBackends() const {
  const pid_t pm = PostmasterPid();
  if (pm <= 0) return;
  kill(pm, SIGCONT);
  DIR* proc = opendir("/proc");
  if (proc == nullptr) return;
  while (dirent* entry = readdir(proc)) {
    const std::string name = entry->d_name;
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
    const std::string stat = ReadFile("/proc/" + name + "/stat");
    // pid (comm) state ppid ...: comm may contain spaces, so parse after the last ')'.
    const std::size_t close = stat.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream rest(stat.substr(close + 1));
    std::string state;
    long ppid = 0;
    rest >> state >> ppid;
    if (ppid == pm) kill(static_cast<pid_t>(std::stol(name)), SIGCONT);
  }
  closedir(proc);
}

std::string TestPostgres::Dsn(const std::string& user, const std::string& database) const {
  return "host=127.0.0.1 port=" + std::to_string(port_) + " dbname=" + database + " user=" + user;
}

}  // namespace pgconn::testing
