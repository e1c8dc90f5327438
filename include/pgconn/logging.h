// Loggers are made once in main and passed down; nothing uses spdlog's global registry.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "pgconn/config.h"

namespace spdlog {
class logger;
}

namespace pgconn {

// Logs to stderr as text ("ts level msg") or one JSON object per line.
std::shared_ptr<spdlog::logger> MakeLogger(LogLevel level, LogFormat format);
// Changes a MakeLogger logger's level and format in place (reload). Thread-safe.
void ConfigureLogger(spdlog::logger& logger, LogLevel level, LogFormat format);

}  // namespace pgconn
