// Thin entry point: flags, config, logger, signals; everything else lives in pgconn_core.
// Flags are CLI11's: "--flag=value" and "--flag value" like the Go exporters' kingpin flags,
// and a generated --help.
#include <malloc.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <iostream>
#include <string>

#include "pgconn/config.h"
#include "pgconn/config_overrides.h"
#include "pgconn/exporter.h"
#include "pgconn/fd_reserve.h"
#include "pgconn/logging.h"
#include "pgconn/plan_command.h"

namespace {

constexpr const char* kDefaultConfigFile = "/etc/pgconn_exporter/pgconn_exporter.toml";

// One contract for every mode: serve, --once, plan and --check-config.
constexpr int kExitOk = 0;
constexpr int kExitRuntime = 1;
constexpr int kExitUsage = 2;
constexpr int kExitNotPolled = 3;

constexpr const char* kExitCodes = R"(
Exit status (serve, --once, plan, --check-config alike):
  0  ok
  1  runtime failure (e.g. the listen port cannot be bound), or a plan that does not fit
  2  usage or configuration error (unknown flag, bad flag value, invalid config file)
  3  a target could not be polled (--once, plan)
SIGHUP (or POST /-/reload with --web.enable-lifecycle) reloads the config file and the web
config; SIGTERM and SIGINT stop the exporter (exit 0).
)";

struct Flags {
  std::string config_file = kDefaultConfigFile;
  bool config_file_given = false;
  std::string listen_address, telemetry_path, web_config_file, log_level, log_format;
  pgconn::ConfigOverrides overrides;
  bool check_config = false;
  bool once = false;
  bool enable_lifecycle = false;
  bool plan = false;
  std::string plan_format = "text";
};

void AddFlags(CLI::App& app, Flags& flags) {
  app.add_option("--config.file", flags.config_file, "TOML configuration")
      ->type_name("PATH")
      ->capture_default_str();
  app.add_option("--web.listen-address", flags.listen_address,
                 "overrides [exporter] listen_address (HOST:PORT or :PORT, IPv4)")
      ->type_name("ADDR");
  app.add_option("--web.telemetry-path", flags.telemetry_path,
                 "overrides [exporter] telemetry_path (e.g. /metrics)")
      ->type_name("PATH");
  app.add_option("--web.config.file", flags.web_config_file,
                 "exporter-toolkit web config (YAML): basic_auth_users with bcrypt hashes guard "
                 "every path except /healthz; TLS is refused")
      ->type_name("PATH");
  app.add_flag("--web.enable-lifecycle", flags.enable_lifecycle,
               "answer POST /-/reload (re-reads the config); without it that path answers 403");
  app.add_option("--log.level", flags.log_level, "overrides [exporter] log_level")
      ->check(CLI::IsMember({"debug", "info", "warn", "error"}));
  app.add_option("--log.format", flags.log_format,
                 "overrides [exporter] log_format (logfmt is another name for text)")
      ->check(CLI::IsMember({"text", "logfmt", "json"}));
  app.add_flag("--check-config", flags.check_config,
               "validate the configuration and exit; missing password sources only warn");
  app.add_flag("--once", flags.once,
               "poll every target once, print the metrics to stdout and exit (3 when a target "
               "could not be polled)");
}

void AddPlanCommand(CLI::App& app, Flags& flags) {
  CLI::App* plan = app.add_subcommand("plan", pgconn::kPlanDescription);
  plan->add_option("--format", flags.plan_format, "output format")
      ->check(CLI::IsMember({"text", "json"}))
      ->capture_default_str();
  plan->fallthrough();  // --config.file and the other flags work after "plan" too
  plan->footer(kExitCodes);
  plan->callback([&flags] { flags.plan = true; });
}

// Moves the flags that override config keys into ConfigOverrides (CLI11 checked the values).
void CollectOverrides(const CLI::App& app, Flags& flags) {
  flags.config_file_given = app.count("--config.file") > 0;
  auto& o = flags.overrides;
  if (app.count("--web.listen-address") > 0) o.listen_address = flags.listen_address;
  if (app.count("--web.telemetry-path") > 0) o.telemetry_path = flags.telemetry_path;
  if (app.count("--web.config.file") > 0) o.web_config_file = flags.web_config_file;
  if (app.count("--log.level") > 0) o.log_level = pgconn::ParseLogLevel(flags.log_level);
  if (app.count("--log.format") > 0) o.log_format = pgconn::ParseLogFormat(flags.log_format);
}

// A first run without --config.file: say how to start instead of "cannot read".
bool DefaultConfigMissing(const Flags& flags) {
  if (flags.config_file_given || access(flags.config_file.c_str(), F_OK) == 0) return false;
  std::cerr << "pgconn_exporter: no configuration: " << flags.config_file
            << " does not exist.\n"
               "Start with --config.file=PATH; config/example.toml (installed as "
               "/usr/share/doc/pgconn_exporter/example.toml) documents every key.\n"
               "Run with --help for the flags.\n";
  return true;
}

int CheckConfig(const Flags& flags) {
  pgconn::LoadOptions options;
  options.secrets_optional = true;
  const pgconn::Config config =
      pgconn::LoadConfigWithOverrides(flags.config_file, flags.overrides, options);
  for (const auto& warning : config.warnings) std::cerr << "warning: " << warning << "\n";
  std::cout << flags.config_file << ": ok (" << config.targets.size() << " target"
            << (config.targets.size() == 1 ? "" : "s") << ")\n";
  return kExitOk;
}

int RunOnce(pgconn::Config config) {
  auto log = pgconn::MakeLogger(config.exporter.log_level, config.exporter.log_format);
  pgconn::Exporter exporter(std::move(config), log);
  const bool all_up = exporter.PollAllOnce();
  std::cout << exporter.store().Current()->text.Get() << std::flush;
  return all_up ? kExitOk : kExitNotPolled;
}

// Waits for signals: SIGHUP reloads, SIGTERM/SIGINT return. Never throws (Reload does not).
void WaitForStop(pgconn::Exporter& exporter, const sigset_t& signals, spdlog::logger& log) {
  while (true) {
    int received = 0;
    if (sigwait(&signals, &received) != 0) continue;
    if (received == SIGHUP) {
      log.info("received SIGHUP, reloading the configuration");
      exporter.Reload();
      continue;
    }
    log.info("received {}, shutting down", received == SIGINT ? "SIGINT" : "SIGTERM");
    return;
  }
}

int Serve(pgconn::Config config, const Flags& flags) {
  // Signals are taken by sigwait below, so every thread started from here blocks them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  auto log = pgconn::MakeLogger(config.exporter.log_level, config.exporter.log_format);
  try {
    pgconn::Exporter exporter(std::move(config), log);
    exporter.EnableReload(
        [&flags] { return pgconn::LoadConfigWithOverrides(flags.config_file, flags.overrides); },
        flags.enable_lifecycle);
    exporter.Start();
    WaitForStop(exporter, signals, *log);
  } catch (const std::exception& error) {
    log->error("{}", error.what());
    return kExitRuntime;
  }
  log->info("stopped");
  return kExitOk;
}

int Run(const Flags& flags) {
  if (DefaultConfigMissing(flags)) return kExitUsage;
  if (flags.plan)
    return pgconn::RunPlan(flags.config_file, flags.overrides, flags.plan_format == "json");
  pgconn::Config config;
  try {
    if (flags.check_config) return CheckConfig(flags);
    config = pgconn::LoadConfigWithOverrides(flags.config_file, flags.overrides);
  } catch (const std::exception& error) {  // ConfigError or WebConfigError, located
    std::cerr << error.what() << "\n";
    return kExitUsage;
  }
  return flags.once ? RunOnce(std::move(config)) : Serve(std::move(config), flags);
}

}  // namespace

int main(int argc, char** argv) {
  // One thread per target would otherwise get a malloc arena each (~1 MiB per target).
  mallopt(M_ARENA_MAX, 2);
  // Large buffers (a publish's gzip, a joined exposition) always come from mmap and go back
  // when freed; glibc's default threshold rises after each such free, and the next ones then
  // fragment the arenas (a 1,000-target fleet held ~10 MiB more).
  mallopt(M_MMAP_THRESHOLD, 256 * 1024);
  signal(SIGPIPE, SIG_IGN);  // libpq and civetweb write to sockets that may be gone
  pgconn::RaiseFdLimit();    // soft RLIMIT_NOFILE -> hard, as Go exporters do
  CLI::App app("Polls PostgreSQL connection capacity and serves it as Prometheus metrics.",
               "pgconn_exporter");
  app.set_version_flag("--version", pgconn::VersionString());
  app.footer(kExitCodes);
  Flags flags;
  AddFlags(app, flags);
  AddPlanCommand(app, flags);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    if (error.get_exit_code() == 0) return app.exit(error);  // --help, --version
    std::cerr << "pgconn_exporter: " << error.what() << "\nRun with --help for usage.\n";
    return kExitUsage;
  }
  CollectOverrides(app, flags);
  try {
    return Run(flags);
  } catch (const std::exception& error) {
    std::cerr << "pgconn_exporter: " << error.what() << "\n";
    return kExitRuntime;
  }
}
