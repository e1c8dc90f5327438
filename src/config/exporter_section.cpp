// [exporter]: listen address, telemetry path, poll interval, logging, poller threads.
#include <string>

#include "listen_address.h"
#include "sections.h"
#include "text_guard.h"

namespace pgconn::config {
namespace {

constexpr Millis kMinPollInterval{100};
constexpr std::int64_t kMaxPollerThreads = 1024;

std::string ReadListenAddress(TableReader& exporter, const std::string& text) {
  const ListenAddressCheck check = CheckListenAddress(text);
  if (!check.error.empty()) exporter.Fail("listen_address", check.error);
  return check.address;
}

void CheckTelemetryPath(const TableReader& exporter, const std::string& path) {
  const std::string error = TelemetryPathError(path);
  if (!error.empty()) exporter.Fail("telemetry_path", error);
}

}  // namespace

std::string TelemetryPathError(const std::string& path) {
  if (path.empty() || path[0] != '/') return "must start with '/'";
  if (HasControlByte(path, false)) return "contains a control character: " + ShowValue(path);
  if (path == "/" || path == "/healthz" || path == "/probe") {
    return ShowValue(path) +
           " is reserved (landing page / health check / probe); use e.g. /metrics";
  }
  if (path.rfind("/-/", 0) == 0) {
    return "paths under /-/ are reserved (/-/reload); use e.g. /metrics";
  }
  if (path.find_first_of("?# \t") != std::string::npos) {
    return "must not contain '?', '#' or spaces";
  }
  return "";
}

void ReadExporterCoreKeys(TableReader& exporter, ExporterConfig& out) {
  if (auto text = exporter.OptionalString("listen_address")) {
    out.listen_address = ReadListenAddress(exporter, *text);
  }
  if (auto path = exporter.OptionalString("telemetry_path")) {
    CheckTelemetryPath(exporter, *path);
    out.telemetry_path = *path;
  }
  if (auto interval = exporter.OptionalDuration("poll_interval", kMinPollInterval)) {
    out.poll_interval = *interval;
  }
  if (auto level = exporter.OptionalEnum<LogLevel>("log_level", {{"debug", LogLevel::kDebug},
                                                                 {"info", LogLevel::kInfo},
                                                                 {"warn", LogLevel::kWarn},
                                                                 {"error", LogLevel::kError}})) {
    out.log_level = *level;
  }
  if (auto format = exporter.OptionalEnum<LogFormat>(
          "log_format", {{"text", LogFormat::kText}, {"json", LogFormat::kJson}})) {
    out.log_format = *format;
  }
  if (auto threads = exporter.OptionalInteger("poller_threads", 1, kMaxPollerThreads)) {
    out.poller_threads = static_cast<int>(*threads);
  }
}

}  // namespace pgconn::config
