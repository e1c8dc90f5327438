#include "support/exporter_process.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <stdexcept>
#include <thread>

#include "support/test_postgres.h"

namespace pgconn::testing {
namespace {

std::map<std::string, std::string> WithPassword(std::map<std::string, std::string> env) {
  env.emplace(kPasswordEnv, kExporterPassword);
  return env;
}

std::string TomlString(const std::string& value) {
  std::string out = "\"";
  for (char c : value) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

}  // namespace

std::string ExporterBinary() {
  const char* env = std::getenv("PGCONN_EXPORTER_BIN_OVERRIDE");
  std::string path =
      (env != nullptr && *env != '\0') ? std::string(env) : std::string(PGCONN_EXPORTER_BIN);
  if (access(path.c_str(), X_OK) != 0) {
    throw std::runtime_error("pgconn_exporter binary missing or not executable: " + path);
  }
  return path;
}

std::string ExporterToml(const std::string& poll_interval, const std::string& extra_lines) {
  return "[exporter]\npoll_interval = " + TomlString(poll_interval) + "\nlog_level = \"debug\"\n" +
         extra_lines + "\n";
}

std::string TargetToml(const std::string& name, const std::string& dsn,
                       const std::string& extra_lines) {
  std::string toml = "\n[[target]]\nname = " + TomlString(name) + "\ndsn = " + TomlString(dsn) +
                     "\npassword_env = " + TomlString(kPasswordEnv) + "\n";
  if (extra_lines.find("query_timeout") == std::string::npos) toml += "query_timeout = \"2s\"\n";
  if (extra_lines.find("connect_timeout") == std::string::npos) {
    toml += "connect_timeout = \"2s\"\n";
  }
  return toml + extra_lines + "\n";
}

ExporterProcess::ExporterProcess(const std::string& config_toml, ExporterOptions options) {
  dir_ = std::make_unique<TempDir>("pgconn-exporter-");
  config_path_ = dir_->File("pgconn_exporter.toml");
  log_path_ = dir_->File("exporter.log");
  WriteFile(config_path_, config_toml);
  const auto env = WithPassword(options.env);

  std::string failure;
  for (int attempt = 0; attempt < 3; ++attempt) {
    port_ = PickFreePort();
    std::vector<std::string> argv = {ExporterBinary(), "--config.file", config_path_,
                                     "--web.listen-address", "127.0.0.1:" + std::to_string(port_)};
    argv.insert(argv.end(), options.extra_args.begin(), options.extra_args.end());
    const std::size_t log_before = Log().size();
    pid_ = SpawnProcess(argv, log_path_, env);
    reaped_ = false;
    int exit_code = -1;
    const bool healthy = WaitFor(
        [&] {
          int rc = WaitPid(pid_, std::chrono::milliseconds(0));
          if (rc != -1) {
            exit_code = rc;
            reaped_ = true;
            return true;
          }
          try {
            return HttpGet("127.0.0.1", port_, "/healthz", {}, std::chrono::milliseconds(500))
                       .status == 200;
          } catch (const std::exception&) {
            return false;
          }
        },
        options.healthy_timeout, std::chrono::milliseconds(50));
    if (healthy && !reaped_) return;
    const std::string log = Log().substr(log_before);
    if (!reaped_) {
      kill(pid_, SIGKILL);
      WaitPid(pid_, std::chrono::milliseconds(5000));
      reaped_ = true;
      failure = "exporter not healthy after " + std::to_string(options.healthy_timeout.count()) +
                " ms; log:\n" + Tail(log);
      break;
    }
    failure =
        "exporter exited with " + std::to_string(exit_code) + " before serving; log:\n" + Tail(log);
    // Another process may have taken the port between PickFreePort and bind: try another.
    if (log.find("bind") == std::string::npos && log.find("in use") == std::string::npos) break;
  }
  throw std::runtime_error(failure);
}

ExporterProcess::~ExporterProcess() {
  if (reaped_ || pid_ <= 0) return;
  int rc = WaitPid(pid_, std::chrono::milliseconds(0));
  if (rc == -1) {
    kill(pid_, SIGKILL);
    WaitPid(pid_, std::chrono::milliseconds(10000));
  } else if (rc >= 128) {
    ADD_FAILURE() << "pgconn_exporter died with signal " << (rc - 128) << "; log:\n" << Tail(Log());
  }
  reaped_ = true;
}

std::string ExporterProcess::Log() const { return ReadFile(log_path_); }

HttpResponse ExporterProcess::Get(const std::string& path,
                                  const std::map<std::string, std::string>& headers,
                                  std::chrono::milliseconds timeout) const {
  return HttpGet("127.0.0.1", port_, path, headers, timeout);
}

std::string ExporterProcess::ScrapeText() const {
  HttpResponse r;
  try {
    r = Get("/metrics");
  } catch (const std::exception& e) {
    throw std::runtime_error(std::string(e.what()) + "\nexporter log:\n" + Tail(Log()));
  }
  if (r.status != 200) {
    throw std::runtime_error("GET /metrics answered " + std::to_string(r.status) + ": " +
                             Tail(r.body, 500));
  }
  return r.body;
}

Metrics ExporterProcess::Scrape() const { return ParseMetrics(ScrapeText()); }

bool ExporterProcess::ScrapeUntil(const std::function<bool(const Metrics&)>& predicate,
                                  std::chrono::milliseconds timeout, Metrics* last,
                                  std::chrono::milliseconds interval) const {
  Metrics metrics;
  const bool ok = WaitFor(
      [&] {
        metrics = Scrape();
        return predicate(metrics);
      },
      timeout, interval);
  if (last != nullptr) *last = std::move(metrics);
  return ok;
}

bool ExporterProcess::Running() {
  if (reaped_) return false;
  int rc = WaitPid(pid_, std::chrono::milliseconds(0));
  if (rc == -1) return true;
  reaped_ = true;
  return false;
}

int ExporterProcess::Stop(int signal, std::chrono::milliseconds timeout) {
  if (reaped_) return -1;
  kill(pid_, signal);
  int rc = WaitPid(pid_, timeout);
  if (rc == -1) {
    kill(pid_, SIGKILL);
    WaitPid(pid_, std::chrono::milliseconds(10000));
    reaped_ = true;
    ADD_FAILURE() << "pgconn_exporter did not exit within " << timeout.count() << " ms of signal "
                  << signal << "; killed. Log:\n"
                  << Tail(Log());
    return -1;
  }
  reaped_ = true;
  return rc;
}

ProcessResult RunExporter(const std::vector<std::string>& args,
                          const std::map<std::string, std::string>& env,
                          std::chrono::milliseconds timeout) {
  std::vector<std::string> argv = {ExporterBinary()};
  argv.insert(argv.end(), args.begin(), args.end());
  return RunProcess(argv, "", timeout, WithPassword(env));
}

ProcessResult RunOnce(const std::string& config_toml, const std::vector<std::string>& extra_args,
                      const std::map<std::string, std::string>& env) {
  TempDir dir("pgconn-once-");
  const std::string path = dir.File("once.toml");
  WriteFile(path, config_toml);
  std::vector<std::string> args = {"--config.file", path, "--once"};
  args.insert(args.end(), extra_args.begin(), extra_args.end());
  return RunExporter(args, env);
}

ProcessResult RunCheckConfigFile(const std::string& path,
                                 const std::map<std::string, std::string>& env) {
  return RunExporter({"--config.file", path, "--check-config"}, env);
}

ProcessResult RunCheckConfig(const std::string& config_toml, std::string* path,
                             const std::map<std::string, std::string>& env) {
  TempDir dir("pgconn-check-");
  const std::string file = dir.File("check.toml");
  WriteFile(file, config_toml);
  if (path != nullptr) *path = file;
  return RunCheckConfigFile(file, env);
}

}  // namespace pgconn::testing
