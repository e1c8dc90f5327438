// [[target]]: one PostgreSQL server to watch, with its credentials resolved at load time.
#include <sys/stat.h>

#include <algorithm>
#include <climits>
#include <cstdlib>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "pgconn/conninfo.h"
#include "pgconn/reserved_settings.h"
#include "pool_section.h"
#include "read_file.h"
#include "sections.h"
#include "text_guard.h"

namespace pgconn::config {
namespace {

// libpq waits whole seconds and turns anything below 2s into 2s; below 1s is surely a typo.
constexpr Millis kMinConnectTimeout{1000};
constexpr Millis kMinQueryTimeout{1};
constexpr std::size_t kMaxPasswordBytes = 64 * 1024;
constexpr std::string_view kUsePasswordKeys =
    "put the password in a file (password_file) or an environment variable (password_env)";

bool IsNameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '.' || c == ':' || c == '-';
}

bool IsEnvName(std::string_view name) {
  if (name.empty() || (name[0] >= '0' && name[0] <= '9')) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
  });
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string PercentDecode(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const int high = i + 2 < text.size() ? HexValue(text[i + 1]) : -1;
    const int low = i + 2 < text.size() ? HexValue(text[i + 2]) : -1;
    if (text[i] == '%' && high >= 0 && low >= 0) {
      out += static_cast<char>(high * 16 + low);
      i += 2;
    } else {
      out += text[i];
    }
  }
  return out;
}

// Checked before libpq sees a URL: libpq quotes the whole URL in some of its parse errors.
bool UrlHasPassword(std::string_view dsn) {
  std::string_view rest;
  for (std::string_view scheme : {"postgresql://", "postgres://"}) {
    if (dsn.substr(0, scheme.size()) == scheme) rest = dsn.substr(scheme.size());
  }
  // libpq takes user:password@ from before the first '/'.
  const std::string_view authority = rest.substr(0, rest.find('/'));
  const std::size_t at = authority.find('@');
  if (at != std::string_view::npos && authority.substr(0, at).find(':') != std::string_view::npos) {
    return true;
  }
  const std::size_t query = rest.find('?');
  if (query == std::string_view::npos) return false;
  std::string_view params = rest.substr(query + 1);
  while (!params.empty()) {
    const std::string_view param = params.substr(0, params.find('&'));
    if (PercentDecode(param.substr(0, param.find('='))) == "password") return true;
    params.remove_prefix(std::min(params.size(), param.size() + 1));
  }
  return false;
}

void CheckName(const TableReader& target, const std::string& name,
               std::map<std::string, unsigned>& first_lines) {
  if (name.empty() || !std::all_of(name.begin(), name.end(), IsNameChar)) {
    target.Fail("name", "invalid target name " + ShowValue(name) +
                            " (use letters, digits and _ . : - only)");
  }
  const auto [it, inserted] = first_lines.emplace(name, target.PositionOf("name").line);
  if (!inserted) {
    target.Fail("name", "duplicate target name \"" + name + "\" (first defined on line " +
                            std::to_string(it->second) + ")");
  }
}

void CheckDsn(const TableReader& target, const std::string& dsn) {
  if (dsn.empty()) target.Fail("dsn", "must not be empty");
  // libpq reads a C string: a NUL would silently drop the rest.
  if (HasControlByte(dsn)) target.Fail("dsn", "contains a control character (NUL, newline, ...)");
  if (UrlHasPassword(dsn)) {
    target.Fail("dsn", "contains a password; " + std::string(kUsePasswordKeys));
  }
  if (const auto error = DsnParseError(dsn)) {
    target.Fail("dsn", "invalid connection string: " + *error);
  }
  if (DsnHasPassword(dsn)) {
    target.Fail("dsn", "contains a password; " + std::string(kUsePasswordKeys));
  }
  if (const auto error = DsnValueError(dsn)) target.Fail("dsn", *error);
}

void CheckLabels(const TableReader& target, const std::vector<std::string>& labels) {
  const auto& allowed = AllConnectionLabels();
  for (std::size_t i = 0; i < labels.size(); ++i) {
    if (std::find(allowed.begin(), allowed.end(), labels[i]) == allowed.end()) {
      target.FailAtElement(
          "connection_labels", i,
          "unknown label \"" + labels[i] + "\" (allowed: database, user, application, state)");
    }
    if (std::find(labels.begin(), labels.begin() + i, labels[i]) != labels.begin() + i) {
      target.FailAtElement("connection_labels", i, "duplicate label \"" + labels[i] + "\"");
    }
  }
}

void ReadReservedSettings(TableReader& target, TargetConfig& out) {
  auto names = target.OptionalStringArray("reserved_settings");
  if (!names) return;
  for (std::size_t i = 0; i < names->size(); ++i) {
    if (!IsSettingName((*names)[i])) {
      target.FailAtElement("reserved_settings", i,
                           "invalid setting name \"" + (*names)[i] +
                               "\" (letters, digits, _ and . only, e.g. \"acme.reserved\")");
    }
  }
  out.reserved_settings = std::move(*names);
}

struct PasswordKeys {
  std::optional<std::string> file;
  std::optional<std::string> env;
};

PasswordKeys ReadPasswordKeys(TableReader& target) {
  PasswordKeys keys{target.OptionalString("password_file"), target.OptionalString("password_env")};
  if (keys.file && keys.env) {
    const auto file_at = target.PositionOf("password_file");
    const auto env_at = target.PositionOf("password_env");
    const bool env_last =
        std::tie(file_at.line, file_at.column) < std::tie(env_at.line, env_at.column);
    target.Fail(env_last ? "password_env" : "password_file",
                "set only one of password_file and password_env");
  }
  if (keys.file && keys.file->empty()) target.Fail("password_file", "must not be empty");
  if (keys.env && !IsEnvName(*keys.env)) {
    target.Fail("password_env", "invalid environment variable name \"" + *keys.env + "\"");
  }
  return keys;
}

// Like libpq's .pgpass check, but a warning: the file is still used.
void WarnIfReadableByOthers(const TableReader& target, const std::string& path) {
  struct stat info {};
  if (stat(path.c_str(), &info) == 0 && (info.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
    target.Warn("password_file",
                path + " is readable by group or others; chmod 600 (or 640 for a service group)");
  }
}

void ReadPasswordFile(const TableReader& target, const std::string& file, TargetConfig& out) {
  const std::string path = target.source().ResolvePath(file);
  std::string error;
  auto content = ReadSmallFile(path, kMaxPasswordBytes, &error);
  if (!content) target.Fail("password_file", "cannot read " + path + ": " + error);
  while (!content->empty() && (content->back() == '\n' || content->back() == '\r')) {
    content->pop_back();
  }
  if (content->empty()) target.Fail("password_file", path + " is empty");
  if (content->find('\0') != std::string::npos) {
    target.Fail("password_file", path + " contains a NUL byte (libpq would cut the password)");
  }
  WarnIfReadableByOthers(target, path);
  out.password = std::move(*content);
  out.password_source = "password_file " + path;
}

void ReadPasswordEnv(const TableReader& target, const std::string& name, TargetConfig& out) {
  const char* value = std::getenv(name.c_str());
  if (!value) target.Fail("password_env", "environment variable " + name + " is not set");
  if (*value == '\0') target.Fail("password_env", "environment variable " + name + " is empty");
  if (HasControlByte(value, false)) {
    target.Fail("password_env", "environment variable " + name + " contains a control character");
  }
  out.password = value;
  out.password_source = "password_env " + name;
}

// Issue 14: the server log followed for refusals, and the opt-in per-address series.
void ReadChurnKeys(TableReader& target, TargetConfig& config) {
  if (auto path = target.OptionalString("server_log")) {
    if (path->empty()) target.Fail("server_log", "must not be empty");
    config.server_log = target.source().ResolvePath(*path);
  }
  if (auto v = target.OptionalBool("by_client_addr")) config.by_client_addr = *v;
}

void ReadTarget(TableReader& target, std::map<std::string, unsigned>& first_lines, Config& out) {
  TargetConfig config;
  config.name = target.RequireString("name");
  CheckName(target, config.name, first_lines);
  config.dsn = target.RequireString("dsn");
  CheckDsn(target, config.dsn);
  const PasswordKeys password = ReadPasswordKeys(target);
  if (auto v = target.OptionalDuration("connect_timeout", kMinConnectTimeout)) {
    config.connect_timeout = *v;
  }
  if (auto v = target.OptionalDuration("query_timeout", kMinQueryTimeout)) {
    config.query_timeout = *v;
  }
  if (auto labels = target.OptionalStringArray("connection_labels")) {
    CheckLabels(target, *labels);
    config.connection_labels = std::move(*labels);
  }
  if (auto v = target.OptionalInteger("max_connection_series", 1, INT_MAX)) {
    config.max_connection_series = static_cast<int>(*v);
  }
  ReadReserveKey(target, config.reserve);
  ReadChurnKeys(target, config);
  ReadReservedSettings(target, config);
  if (auto v = target.OptionalBool("via_pgbouncer")) config.via_pgbouncer = *v;
  target.HintIfUnknown("password",
                       "inline passwords are not accepted; " + std::string(kUsePasswordKeys));
  target.RejectUnknownKeys();  // a typo is a better first error than an unset variable
  try {
    if (password.file) ReadPasswordFile(target, *password.file, config);
    if (password.env) ReadPasswordEnv(target, *password.env, config);
  } catch (const ConfigError& missing) {
    // --check-config: the secret may exist only where the exporter runs.
    if (!target.source().secrets_optional()) throw;
    out.warnings.emplace_back(missing.what());
  }
  out.targets.push_back(std::move(config));
}

}  // namespace

// Shared with [[pgbouncer]]: name, dsn, password and timeouts; the password is read after the
// unknown-key check, so a typo is reported first.
void ReadConsoleKeys(TableReader& table, std::map<std::string, unsigned>& first_lines,
                     TargetConfig& out) {
  out.name = table.RequireString("name");
  CheckName(table, out.name, first_lines);
  out.dsn = table.RequireString("dsn");
  CheckDsn(table, out.dsn);
  const PasswordKeys password = ReadPasswordKeys(table);
  if (auto v = table.OptionalDuration("connect_timeout", kMinConnectTimeout)) {
    out.connect_timeout = *v;
  }
  if (auto v = table.OptionalDuration("query_timeout", kMinQueryTimeout)) out.query_timeout = *v;
  table.HintIfUnknown("password",
                      "inline passwords are not accepted; " + std::string(kUsePasswordKeys));
  table.RejectUnknownKeys();
  if (password.file) ReadPasswordFile(table, *password.file, out);
  if (password.env) ReadPasswordEnv(table, *password.env, out);
}

void ReadTargetSections(const toml::node& node, const ConfigSource& source, Config& out) {
  std::map<std::string, unsigned> first_lines;  // target name -> line, for duplicate errors
  ReadTableArray(node, "target", source,
                 [&](TableReader& target) { ReadTarget(target, first_lines, out); });
  if (out.targets.empty()) source.Fail(node.source().begin, kNoTargets);
}

}  // namespace pgconn::config
