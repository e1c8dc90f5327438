#include "pgconn/conninfo.h"

#include <libpq-fe.h>

#include <algorithm>
#include <map>
#include <memory>
#include <set>
#include <stdexcept>

namespace pgconn {
namespace {

using ConninfoOptions = std::map<std::string, std::string>;

struct ConninfoFree {
  void operator()(PQconninfoOption* options) const { PQconninfoFree(options); }
};

// Parses with libpq itself, so every form libpq accepts (URLs, quoting) is handled alike.
std::optional<ConninfoOptions> ParseOptions(std::string_view dsn, std::string* error) {
  char* raw_error = nullptr;
  std::unique_ptr<PQconninfoOption, ConninfoFree> parsed(
      PQconninfoParse(std::string(dsn).c_str(), &raw_error));
  if (!parsed) {
    if (error) *error = raw_error ? raw_error : "out of memory";
    PQfreemem(raw_error);
    return std::nullopt;
  }
  ConninfoOptions options;
  for (PQconninfoOption* option = parsed.get(); option->keyword; ++option) {
    if (option->val) options[option->keyword] = option->val;
  }
  return options;
}

// libpq's conninfo parser splits on isspace() (" \t\n\v\f\r") and treats ' and \ specially.
std::string Quote(const std::string& value) {
  const bool plain = !value.empty() && value.find_first_of(" \t\n\v\f\r'\\") == std::string::npos;
  if (plain) return value;
  std::string quoted = "'";
  for (char c : value) {
    if (c == '\\' || c == '\'') quoted += '\\';
    quoted += c;
  }
  return quoted + "'";
}

std::string Join(const ConninfoOptions& options) {
  std::string out;
  for (const auto& [key, value] : options) {
    if (!out.empty()) out += ' ';
    out += key + "=" + Quote(value);
  }
  return out;
}

std::string SessionOptions(const TargetConfig& target) {
  const auto statement_ms = target.query_timeout.count();
  const auto lock_ms = std::max<int64_t>(1, statement_ms / 2);
  return "-c statement_timeout=" + std::to_string(statement_ms) +
         " -c lock_timeout=" + std::to_string(lock_ms) +
         " -c default_transaction_read_only=on -c idle_in_transaction_session_timeout=0";
}

std::vector<std::string> SplitList(const std::string& list) {
  std::vector<std::string> items;
  size_t start = 0;
  while (true) {
    const size_t comma = list.find(',', start);
    items.push_back(list.substr(start, comma - start));
    if (comma == std::string::npos) return items;
    start = comma + 1;
  }
}

// The i-th item of a libpq list that has one item for every host, or one for all of them.
std::string ItemFor(const std::vector<std::string>& items, size_t i) {
  return items.size() == 1 ? items[0] : items[i];
}

}  // namespace

std::string BuildConninfo(const TargetConfig& target) {
  std::string error;
  auto options = ParseOptions(target.dsn, &error);
  if (!options) throw std::invalid_argument("invalid dsn: " + RedactConninfoMessage(error));
  if (!target.password.empty()) (*options)["password"] = target.password;
  const auto connect_seconds = (target.connect_timeout.count() + 999) / 1000;
  (*options)["connect_timeout"] = std::to_string(std::max<int64_t>(1, connect_seconds));
  options->emplace("application_name", "pgconn_exporter");
  // PgBouncer's default config refuses the `options` startup parameter (console and pools).
  if (target.via_pgbouncer) return Join(*options);
  auto& session_options = (*options)["options"];
  session_options = SessionOptions(target) + (session_options.empty() ? "" : " ") + session_options;
  return Join(*options);
}

std::string RedactDsn(std::string_view dsn) {
  auto options = ParseOptions(dsn, nullptr);
  if (!options) return "<unparseable dsn>";
  if (options->count("password")) (*options)["password"] = "******";
  return Join(*options);
}

std::optional<std::string> DsnParseError(std::string_view dsn) {
  std::string error;
  if (ParseOptions(dsn, &error)) return std::nullopt;
  while (!error.empty() && (error.back() == '\n' || error.back() == ' ')) error.pop_back();
  return RedactConninfoMessage(error);
}

std::string RedactConninfoMessage(std::string_view message) {
  static const std::set<std::string, std::less<>> kKeep = [] {
    std::set<std::string, std::less<>> keep{"="};
    PQconninfoOption* defaults = PQconndefaults();
    for (PQconninfoOption* o = defaults; o != nullptr && o->keyword != nullptr; ++o) {
      keep.insert(o->keyword);
    }
    PQconninfoFree(defaults);
    return keep;
  }();
  // libpq quotes the text it could not parse, which can be part of a password.
  std::string out;
  size_t i = 0;
  while (i < message.size()) {
    const size_t open = message.find('"', i);
    const size_t close = open == std::string_view::npos ? open : message.find('"', open + 1);
    if (close == std::string_view::npos) {
      out.append(message.substr(i));
      break;
    }
    const std::string_view quoted = message.substr(open + 1, close - open - 1);
    out.append(message.substr(i, open + 1 - i));
    out.append(kKeep.count(quoted) != 0 ? std::string(quoted) : "<redacted>");
    out += '"';
    i = close + 1;
  }
  return out;
}

namespace {

bool OneOf(const std::string& value, const std::vector<const char*>& allowed) {
  for (const char* candidate : allowed) {
    if (value == candidate) return true;
  }
  return false;
}

std::string AllowedList(const std::vector<const char*>& allowed) {
  std::string out;
  for (const char* candidate : allowed) out += (out.empty() ? "" : ", ") + std::string(candidate);
  return out;
}

}  // namespace

std::optional<std::string> DsnValueError(std::string_view dsn) {
  auto options = ParseOptions(dsn, nullptr);
  if (!options) return DsnParseError(dsn);
  struct Choice {
    const char* key;
    std::vector<const char*> allowed;
  };
  static const Choice kChoices[] = {
      {"sslmode", {"disable", "allow", "prefer", "require", "verify-ca", "verify-full"}},
      {"gssencmode", {"disable", "prefer", "require"}},
      {"channel_binding", {"disable", "prefer", "require"}},
      {"target_session_attrs",
       {"any", "read-write", "read-only", "primary", "standby", "prefer-standby"}},
  };
  for (const Choice& choice : kChoices) {
    const auto found = options->find(choice.key);
    if (found != options->end() && !OneOf(found->second, choice.allowed)) {
      return std::string("invalid ") + choice.key +
             " value (expected one of: " + AllowedList(choice.allowed) + ")";
    }
  }
  for (const std::string& port : SplitList((*options)["port"])) {
    const bool digits = !port.empty() && port.size() <= 5 &&
                        port.find_first_not_of("0123456789") == std::string::npos;
    if (!(*options)["port"].empty() &&
        (!digits || std::stoi(port) < 1 || std::stoi(port) > 65535)) {
      return std::string("invalid port (expected 1-65535)");
    }
  }
  if (!DsnHosts(dsn)) return std::string("host, hostaddr and port lists have different lengths");
  return std::nullopt;
}

bool DsnHasPassword(std::string_view dsn) {
  auto options = ParseOptions(dsn, nullptr);
  return options && options->count("password") > 0;
}

std::optional<std::vector<DsnHost>> DsnHosts(std::string_view dsn) {
  auto options = ParseOptions(dsn, nullptr);
  if (!options) return std::nullopt;
  const auto hosts = SplitList((*options)["host"]);
  const auto addrs = SplitList((*options)["hostaddr"]);
  const auto ports = SplitList((*options)["port"]);
  const size_t count = std::max(hosts.size(), addrs.size());
  for (const auto* list : {&hosts, &addrs, &ports}) {
    if (list->size() != 1 && list->size() != count) return std::nullopt;
  }
  std::vector<DsnHost> out;
  for (size_t i = 0; i < count; ++i) {
    out.push_back({ItemFor(hosts, i), ItemFor(addrs, i), ItemFor(ports, i)});
  }
  return out;
}

}  // namespace pgconn
