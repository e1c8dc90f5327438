#include "pgconn/self_process.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "text_parse.h"

namespace pgconn {
namespace {

std::optional<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::optional<int64_t> CountEntries(const std::string& dir) {
  std::error_code error;
  int64_t count = 0;
  for (auto it = std::filesystem::directory_iterator(dir, error);
       !error && it != std::filesystem::directory_iterator(); it.increment(error)) {
    ++count;
  }
  if (error) return std::nullopt;
  return count;
}

// "unlimited" leaves *out empty; false for anything but a non-negative number.
bool ParseLimitValue(std::string_view field, std::optional<int64_t>* out) {
  if (field == "unlimited") return true;
  *out = text::ParseNumber(field);
  return *out && **out >= 0;
}

}  // namespace

std::optional<ProcStat> ParseProcStat(std::string_view text) {
  // The command name may hold spaces and parentheses: fields start after the last ')'.
  const auto open = text.find('(');
  const auto close = text.rfind(')');
  if (open == std::string_view::npos || close == std::string_view::npos || close < open) {
    return std::nullopt;
  }
  std::istringstream fields{std::string(text.substr(close + 1))};
  std::string field;
  ProcStat stat;
  stat.comm = std::string(text.substr(open + 1, close - open - 1));
  // Field 3 (state) is the first after ')'; we need 4, 14, 15, 22, 23, 24.
  for (int index = 3; index <= 24; ++index) {
    if (!(fields >> field)) return std::nullopt;
    try {
      if (index == 4) stat.ppid = std::stoll(field);
      if (index == 14) stat.utime_ticks = std::stod(field);
      if (index == 15) stat.stime_ticks = std::stod(field);
      if (index == 22) stat.start_ticks = std::stod(field);
      if (index == 23) stat.vsize_bytes = std::stoll(field);
      if (index == 24) stat.rss_pages = std::stoll(field);
    } catch (const std::exception&) {
      return std::nullopt;
    }
  }
  return stat;
}

std::optional<int64_t> ParseBootTime(std::string_view proc_stat_text) {
  std::istringstream lines{std::string(proc_stat_text)};
  std::string key;
  int64_t value = 0;
  std::string line;
  while (std::getline(lines, line)) {
    std::istringstream fields(line);
    if (fields >> key && key == "btime" && fields >> value) return value;
  }
  return std::nullopt;
}

std::optional<OpenFilesLimit> ParseOpenFilesLimit(std::string_view limits_text) {
  constexpr std::string_view kPrefix = "Max open files";
  bool truncated = false;
  for (std::string_view line : text::Lines(limits_text, &truncated)) {
    if (line.substr(0, kPrefix.size()) != kPrefix) continue;
    const auto fields = text::Fields(line.substr(kPrefix.size()));
    if (fields.size() != 3 || fields[2] != "files") return std::nullopt;
    OpenFilesLimit limit;
    if (!ParseLimitValue(fields[0], &limit.soft) || !ParseLimitValue(fields[1], &limit.hard)) {
      return std::nullopt;
    }
    return limit;
  }
  return std::nullopt;
}

std::optional<int64_t> ParseMaxOpenFiles(std::string_view limits_text) {
  const auto limit = ParseOpenFilesLimit(limits_text);
  return limit ? limit->soft : std::nullopt;
}

std::optional<SelfProcess> ReadSelfProcess(const std::string& procfs_root) {
  const auto stat_text = ReadFile(procfs_root + "/self/stat");
  const auto host_stat_text = ReadFile(procfs_root + "/stat");
  const auto limits_text = ReadFile(procfs_root + "/self/limits");
  if (!stat_text || !host_stat_text || !limits_text) return std::nullopt;
  const auto stat = ParseProcStat(*stat_text);
  const auto boot = ParseBootTime(*host_stat_text);
  const auto fds = CountEntries(procfs_root + "/self/fd");
  if (!stat || !boot || !fds) return std::nullopt;
  const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  SelfProcess process;
  process.cpu_seconds = (stat->utime_ticks + stat->stime_ticks) / ticks;
  process.start_time_unix = static_cast<double>(*boot) + stat->start_ticks / ticks;
  process.resident_bytes = stat->rss_pages * sysconf(_SC_PAGESIZE);
  process.virtual_bytes = stat->vsize_bytes;
  process.open_fds = *fds;
  process.max_fds = ParseMaxOpenFiles(*limits_text);
  return process;
}

}  // namespace pgconn
