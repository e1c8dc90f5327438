// Thin entry point: flags, config, logger, signals; everything else lives in pgconn_core.
#include <malloc.h>
#include <signal.h>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "pgconn/config.h"
#include "pgconn/exporter.h"
#include "pgconn/fd_reserve.h"
#include "pgconn/logging.h"
#include "pgconn/plan_command.h"

namespace {

constexpr const char* kDefaultConfigFile = "/etc/pgconn_exporter/pgconn_exporter.toml";

constexpr const char* kUsage = R"(usage: pgconn_exporter [flags]
       pgconn_exporter plan [--config.file=PATH] [--format=text|json]   (see plan --help)

Polls PostgreSQL connection capacity and serves it as Prometheus metrics.

  --config.file=PATH          TOML configuration (default /etc/pgconn_exporter/pgconn_exporter.toml)
  --web.listen-address=ADDR   listen address, overrides [exporter] listen_address (e.g. :10432)
  --web.config.file=PATH      exporter-toolkit web config (YAML): basic_auth_users with bcrypt
                              hashes guard every path except /healthz; TLS is refused
  --check-config              validate the configuration and exit (0 when valid)
  --once                      poll every target once, print the metrics to stdout and exit
                              (0 when every target was up)
  --version                   print the version and exit
  --help                      print this help and exit
)";

struct Flags {
  std::string config_file = kDefaultConfigFile;
  std::optional<std::string> listen_address;
  std::optional<std::string> web_config_file;
  bool check_config = false;
  bool once = false;
  bool version = false;
  bool help = false;
};

// Accepts "--name=value" and "--name value", like the Go exporters' kingpin flags.
std::optional<Flags> ParseFlags(const std::vector<std::string>& args, std::string& error) {
  Flags flags;
  for (size_t i = 0; i < args.size(); ++i) {
    std::string name = args[i];
    std::optional<std::string> value;
    if (auto eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
    }
    auto take_value = [&]() -> std::optional<std::string> {
      if (value) return value;
      if (i + 1 < args.size()) return args[++i];
      error = name + " needs a value";
      return std::nullopt;
    };
    if (name == "--config.file") {
      auto v = take_value();
      if (!v) return std::nullopt;
      flags.config_file = *v;
    } else if (name == "--web.listen-address") {
      auto v = take_value();
      if (!v) return std::nullopt;
      flags.listen_address = *v;
    } else if (name == "--web.config.file") {
      auto v = take_value();
      if (!v) return std::nullopt;
      flags.web_config_file = *v;
    } else if (name == "--check-config" && !value) {
      flags.check_config = true;
    } else if (name == "--once" && !value) {
      flags.once = true;
    } else if (name == "--version" && !value) {
      flags.version = true;
    } else if ((name == "--help" || name == "-h") && !value) {
      flags.help = true;
    } else {
      error = "unknown flag " + args[i];
      return std::nullopt;
    }
  }
  return flags;
}

std::optional<pgconn::Config> LoadConfig(const Flags& flags) {
  try {
    pgconn::Config config = pgconn::LoadConfigFile(flags.config_file);
    for (const std::string& warning : config.warnings) std::cerr << "warning: " << warning << "\n";
    if (flags.listen_address) {
      auto normalized = pgconn::NormalizeListenAddress(*flags.listen_address);
      if (!normalized) {
        std::cerr << "--web.listen-address: invalid address \"" << *flags.listen_address
                  << "\" (use HOST:PORT or :PORT; IPv4 only)\n";
        return std::nullopt;
      }
      config.exporter.listen_address = *normalized;
    }
    if (flags.web_config_file) config.web = pgconn::LoadWebConfigFile(*flags.web_config_file);
    return config;
  } catch (const pgconn::ConfigError& error) {
    std::cerr << error.what() << "\n";
    return std::nullopt;
  } catch (const pgconn::WebConfigError& error) {
    std::cerr << "--web.config.file: " << error.what() << "\n";
    return std::nullopt;
  }
}

int RunOnce(pgconn::Config config) {
  auto log = pgconn::MakeLogger(config.exporter.log_level, config.exporter.log_format);
  pgconn::Exporter exporter(std::move(config), log);
  const bool all_up = exporter.PollAllOnce();
  std::cout << exporter.store().Current()->text << std::flush;
  return all_up ? 0 : 1;
}

int Serve(pgconn::Config config) {
  // Signals are taken by sigwait below, so every thread started from here blocks them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  auto log = pgconn::MakeLogger(config.exporter.log_level, config.exporter.log_format);
  try {
    pgconn::Exporter exporter(std::move(config), log);
    exporter.Start();
    int received = 0;
    sigwait(&stop_signals, &received);
    log->info("received {}, shutting down", received == SIGINT ? "SIGINT" : "SIGTERM");
  } catch (const std::exception& error) {
    log->error("{}", error.what());
    return 1;
  }
  log->info("stopped");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  // One thread per target would otherwise get a malloc arena each (~1 MiB per target).
  mallopt(M_ARENA_MAX, 2);
  signal(SIGPIPE, SIG_IGN);  // libpq and civetweb write to sockets that may be gone
  pgconn::RaiseFdLimit();    // soft RLIMIT_NOFILE -> hard, as Go exporters do
  if (argc > 1 && std::string(argv[1]) == "plan") {
    return pgconn::RunPlanCommand({argv + 2, argv + argc}, kDefaultConfigFile);
  }
  std::string error;
  const auto flags = ParseFlags(std::vector<std::string>(argv + 1, argv + argc), error);
  if (!flags) {
    std::cerr << "pgconn_exporter: " << error << "\n\n" << kUsage;
    return 2;
  }
  if (flags->help) {
    std::cout << kUsage;
    return 0;
  }
  if (flags->version) {
    std::cout << pgconn::VersionString() << "\n";
    return 0;
  }
  auto config = LoadConfig(*flags);
  if (!config) return 1;
  if (flags->check_config) {
    std::cout << flags->config_file << ": ok (" << config->targets.size() << " target"
              << (config->targets.size() == 1 ? "" : "s") << ")\n";
    return 0;
  }
  return flags->once ? RunOnce(std::move(*config)) : Serve(std::move(*config));
}
