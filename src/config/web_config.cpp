// --web.config.file: reads the exporter-toolkit YAML into a validated WebConfig.
#include "pgconn/web_config.h"

#include <yaml-cpp/yaml.h>

#include <set>
#include <string>

#include "read_file.h"

namespace pgconn {
namespace {

constexpr std::size_t kMaxWebConfigBytes = 1024 * 1024;

constexpr const char* kTlsRefused =
    "tls_server_config: TLS is not supported: the civetweb build pgconn_exporter links crashes "
    "on TLS under OpenSSL 3. Remove tls_server_config and terminate TLS in a reverse proxy in "
    "front of the exporter (docs/deploy.md, section \"TLS\")";
constexpr const char* kHttpServerConfigRefused =
    "http_server_config: not supported (pgconn_exporter serves HTTP/1.1 with its own headers); "
    "remove it";

class WebConfigReader {
 public:
  explicit WebConfigReader(std::string path) : path_(std::move(path)) {}

  [[noreturn]] void Fail(const YAML::Mark& mark, const std::string& message) const {
    if (mark.is_null()) throw WebConfigError(path_ + ": " + message);
    throw WebConfigError(path_ + ":" + std::to_string(mark.line + 1) + ":" +
                         std::to_string(mark.column + 1) + ": " + message);
  }

  WebConfig Read(const YAML::Node& root) const {
    WebConfig config;
    config.source_path = path_;
    if (root.IsNull()) return config;  // an empty file: no authentication, as in exporter-toolkit
    if (!root.IsMap()) Fail(root.Mark(), "expected a mapping of settings at the top level");
    std::set<std::string> seen;
    for (const auto& entry : root) {
      const std::string key = ScalarKey(entry.first);
      if (!seen.insert(key).second) Fail(entry.first.Mark(), "duplicate key '" + key + "'");
      ReadTopLevel(key, entry.first, entry.second, config);
    }
    return config;
  }

 private:
  std::string ScalarKey(const YAML::Node& key) const {
    if (!key.IsScalar()) Fail(key.Mark(), "keys must be plain strings");
    return key.Scalar();
  }

  void ReadTopLevel(const std::string& key, const YAML::Node& key_node, const YAML::Node& value,
                    WebConfig& config) const {
    if (key == "basic_auth_users") {
      ReadUsers(value, config);
    } else if (key == "tls_server_config") {
      Fail(key_node.Mark(), kTlsRefused);
    } else if (key == "http_server_config") {
      Fail(key_node.Mark(), kHttpServerConfigRefused);
    } else {
      Fail(key_node.Mark(), "unknown key '" + key + "' (pgconn_exporter reads basic_auth_users)");
    }
  }

  void ReadUsers(const YAML::Node& users, WebConfig& config) const {
    if (users.IsNull()) return;
    if (!users.IsMap()) Fail(users.Mark(), "basic_auth_users: expected a mapping of user: hash");
    for (const auto& entry : users) {
      const std::string user = ScalarKey(entry.first);
      CheckUser(user, entry.first.Mark());
      if (config.basic_auth_users.count(user) != 0) {
        Fail(entry.first.Mark(), "basic_auth_users: duplicate user '" + user + "'");
      }
      if (!entry.second.IsScalar() || !IsBcryptHash(entry.second.Scalar())) {
        Fail(entry.second.Mark(), "basic_auth_users: the hash of user '" + user +
                                      "' is not a bcrypt hash ($2y$10$... as made by "
                                      "htpasswd -nBC 10 \"\" | tr -d ':\\n')");
      }
      config.basic_auth_users.emplace(user, entry.second.Scalar());
    }
  }

  void CheckUser(const std::string& user, const YAML::Mark& mark) const {
    if (user.empty()) Fail(mark, "basic_auth_users: empty user name");
    if (user.find(':') != std::string::npos) {
      Fail(mark,
           "basic_auth_users: user '" + user + "' contains ':', which basic auth cannot send");
    }
  }

  std::string path_;
};

bool IsBcryptBase64(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '/';
}

}  // namespace

bool IsBcryptHash(std::string_view text) {
  if (text.size() != 60 || text.substr(0, 2) != "$2" || text[3] != '$' || text[6] != '$') {
    return false;
  }
  if (text[2] != 'a' && text[2] != 'b' && text[2] != 'y') return false;
  if (text[4] < '0' || text[4] > '9' || text[5] < '0' || text[5] > '9') return false;
  const int cost = (text[4] - '0') * 10 + (text[5] - '0');
  if (cost < 4 || cost > 31) return false;
  for (const char c : text.substr(7)) {
    if (!IsBcryptBase64(c)) return false;
  }
  return true;
}

WebConfig ParseWebConfig(std::string_view yaml_text, const std::string& source_path) {
  const WebConfigReader reader(source_path);
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml_text));
  } catch (const YAML::Exception& error) {
    reader.Fail(error.mark, error.msg);
  }
  return reader.Read(root);
}

WebConfig LoadWebConfigFile(const std::string& path) {
  std::string error;
  const auto text = config::ReadSmallFile(path, kMaxWebConfigBytes, &error);
  if (!text) throw WebConfigError(path + ": cannot read: " + error);
  return ParseWebConfig(*text, path);
}

}  // namespace pgconn
