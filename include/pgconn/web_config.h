// --web.config.file: the exporter-toolkit web configuration, the YAML file Prometheus
// exporters share. pgconn_exporter supports its basic_auth_users and refuses TLS settings.
#pragma once

#include <map>
#include <stdexcept>
#include <string>
#include <string_view>

namespace pgconn {

struct WebConfig {
  std::string source_path;                              // empty when no file was given
  std::map<std::string, std::string> basic_auth_users;  // user -> bcrypt hash; never logged
  bool auth_enabled() const { return !basic_auth_users.empty(); }
};

// Thrown for every invalid web configuration; what() is "file:line:column: message" where the
// position is known. Messages never contain a password hash.
class WebConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

WebConfig ParseWebConfig(std::string_view yaml_text, const std::string& source_path);
WebConfig LoadWebConfigFile(const std::string& path);

// "$2a$", "$2b$" or "$2y$", a two-digit cost 04..31, "$", then 53 bcrypt-base64 characters.
bool IsBcryptHash(std::string_view text);

}  // namespace pgconn
