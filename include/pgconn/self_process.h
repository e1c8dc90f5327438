// The exporter's own process_* metrics, read from /proc/self (prometheus-cpp has none).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "pgconn/render.h"

namespace pgconn {

struct SelfProcess {
  double cpu_seconds = 0;
  double start_time_unix = 0;
  int64_t resident_bytes = 0;
  int64_t virtual_bytes = 0;
  int64_t open_fds = 0;
  std::optional<int64_t> max_fds;  // nullopt when unlimited
};

// Parsers over file contents, so tests feed fixtures. nullopt on malformed input.
struct ProcStat {
  double utime_ticks = 0, stime_ticks = 0, start_ticks = 0;
  int64_t vsize_bytes = 0, rss_pages = 0;
  int64_t ppid = 0;
  std::string comm;  // the command name between the parentheses
};
std::optional<ProcStat> ParseProcStat(std::string_view text);
std::optional<int64_t> ParseBootTime(std::string_view proc_stat_text);  // "btime" of /proc/stat
// Soft "Max open files" of /proc/PID/limits; nullopt for unlimited or malformed.
std::optional<int64_t> ParseMaxOpenFiles(std::string_view limits_text);
// Both "Max open files" limits; nullopt soft/hard means unlimited, a nullopt result malformed.
struct OpenFilesLimit {
  std::optional<int64_t> soft;
  std::optional<int64_t> hard;
};
std::optional<OpenFilesLimit> ParseOpenFilesLimit(std::string_view limits_text);

// Reads procfs_root/self/...; nullopt when procfs is unreadable.
std::optional<SelfProcess> ReadSelfProcess(const std::string& procfs_root);

Families MapSelfProcess(const SelfProcess& process);
Families MapBuildInfo(const std::string& version, const std::string& revision);

}  // namespace pgconn
