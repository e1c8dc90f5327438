// [exporter] procfs and [[process]]: which local processes have their fds and sockets watched.
#include <regex.h>

#include <algorithm>
#include <map>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include "sections.h"

namespace pgconn::config {
namespace {

// The label prefix of the PostgreSQL servers found without a [[process]] entry.
constexpr std::string_view kReservedPrefix = "postgres:";
constexpr std::string_view kMatchKeysList =
    "pid_file, exe, cmdline, postmaster_pid_file, postgres_data_dir";

struct MatchKey {
  std::string_view key;
  ProcessMatch match;
};
constexpr MatchKey kMatchKeys[] = {
    {"pid_file", ProcessMatch::kPidFile},
    {"exe", ProcessMatch::kExe},
    {"cmdline", ProcessMatch::kCmdline},
    {"postmaster_pid_file", ProcessMatch::kPostmasterPidFile},
    {"postgres_data_dir", ProcessMatch::kPostgresDataDir},
};

bool IsNameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '.' || c == ':' || c == '-';
}

bool IsPostgresMatch(ProcessMatch match) {
  return match == ProcessMatch::kPostmasterPidFile || match == ProcessMatch::kPostgresDataDir;
}

void CheckName(const TableReader& process, const std::string& name,
               std::map<std::string, unsigned>& first_lines) {
  if (name.empty() || !std::all_of(name.begin(), name.end(), IsNameChar)) {
    process.Fail("name",
                 "invalid process name \"" + name + "\" (use letters, digits and _ . : - only)");
  }
  if (name.rfind(kReservedPrefix, 0) == 0) {
    process.Fail("name",
                 "names starting with \"postgres:\" are reserved for the local "
                 "PostgreSQL servers the exporter finds by itself");
  }
  const auto [it, inserted] = first_lines.emplace(name, process.PositionOf("name").line);
  if (!inserted) {
    process.Fail("name", "duplicate process name \"" + name + "\" (first defined on line " +
                             std::to_string(it->second) + ")");
  }
}

// POSIX extended syntax, as the scanner compiles it; "" when `pattern` compiles.
std::string RegexError(const std::string& pattern) {
  regex_t regex;
  const int code = regcomp(&regex, pattern.c_str(), REG_EXTENDED | REG_NOSUB);
  if (code == 0) {
    regfree(&regex);
    return "";
  }
  char message[256];
  regerror(code, &regex, message, sizeof(message));
  return message;
}

bool Before(const toml::source_position& a, const toml::source_position& b) {
  return std::tie(a.line, a.column) < std::tie(b.line, b.column);
}

// Exactly one way to find the processes; a second one is reported where it is written.
std::pair<const MatchKey*, std::string> ReadMatch(TableReader& process) {
  std::vector<std::pair<const MatchKey*, std::string>> found;
  for (const MatchKey& key : kMatchKeys) {
    if (auto value = process.OptionalString(key.key)) found.emplace_back(&key, std::move(*value));
  }
  if (found.empty()) process.FailAtHeader("set one of " + std::string(kMatchKeysList));
  if (found.size() > 1) {
    auto later = std::max_element(found.begin(), found.end(), [&](const auto& a, const auto& b) {
      return Before(process.PositionOf(a.first->key), process.PositionOf(b.first->key));
    });
    process.Fail(later->first->key, "set only one of " + std::string(kMatchKeysList));
  }
  if (found[0].second.empty()) process.Fail(found[0].first->key, "must not be empty");
  return found[0];
}

std::string CheckedValue(const TableReader& process, const MatchKey& key, std::string value) {
  switch (key.match) {
    case ProcessMatch::kExe:
      if (value.find('/') != std::string::npos) {
        process.Fail(key.key,
                     "is the executable's file name (the basename of /proc/PID/exe), "
                     "without a directory");
      }
      return value;
    case ProcessMatch::kCmdline:
      if (const std::string error = RegexError(value); !error.empty()) {
        process.Fail(key.key, "invalid regular expression: " + error);
      }
      return value;
    default:
      return process.source().ResolvePath(value);
  }
}

void CheckTarget(const TableReader& process, const ProcessConfig& config, const Config& out) {
  if (!IsPostgresMatch(config.match)) {
    process.Fail("target",
                 "only a PostgreSQL server (postmaster_pid_file or postgres_data_dir) "
                 "belongs to a target");
  }
  const auto& targets = out.targets;
  if (std::none_of(targets.begin(), targets.end(),
                   [&](const TargetConfig& t) { return t.name == config.target; })) {
    process.Fail("target",
                 "unknown target \"" + config.target + "\" (no [[target]] has that name)");
  }
  for (const ProcessConfig& other : out.processes) {
    if (other.target == config.target) {
      process.Fail("target", "target \"" + config.target + "\" already has its server in " +
                                 "[[process]] \"" + other.name + "\"");
    }
  }
}

void ReadProcess(TableReader& process, std::map<std::string, unsigned>& first_lines, Config& out) {
  ProcessConfig config;
  config.name = process.RequireString("name");
  CheckName(process, config.name, first_lines);
  auto [key, value] = ReadMatch(process);
  config.match = key->match;
  config.value = CheckedValue(process, *key, std::move(value));
  if (auto target = process.OptionalString("target")) {
    config.target = std::move(*target);
    CheckTarget(process, config, out);
  }
  out.processes.push_back(std::move(config));
}

}  // namespace

void ReadExporterProcfsKey(TableReader& exporter, ExporterConfig& out) {
  if (auto procfs = exporter.OptionalString("procfs")) {
    if (procfs->empty()) exporter.Fail("procfs", "must not be empty");
    out.procfs = exporter.source().ResolvePath(*procfs);
  }
}

void ReadProcessSections(const toml::node& node, const ConfigSource& source, Config& out) {
  std::map<std::string, unsigned> first_lines;  // process name -> line, for duplicate errors
  ReadTableArray(node, "process", source,
                 [&](TableReader& process) { ReadProcess(process, first_lines, out); });
}

}  // namespace pgconn::config
