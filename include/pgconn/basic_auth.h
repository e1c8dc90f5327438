// HTTP basic authentication against bcrypt hashes (the exporter-toolkit basic_auth_users).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace pgconn {

struct BasicCredentials {
  std::string user;
  std::string password;
};

// "Basic base64(user:password)" (scheme case-insensitive) -> credentials; nullopt when the
// header is absent, another scheme, bad base64, or has no ':'.
std::optional<BasicCredentials> ParseBasicAuthorization(std::string_view header);

// True when `password` hashes to `bcrypt_hash` (libxcrypt crypt_r); false for any error.
bool BcryptMatches(std::string_view password, const std::string& bcrypt_hash);

// Checks Authorization headers against user -> bcrypt hash. Thread-safe (no mutable state).
class BasicAuthenticator {
 public:
  explicit BasicAuthenticator(std::map<std::string, std::string> users);
  // An unknown user costs one bcrypt all the same, so timing does not tell which users exist.
  bool Allows(std::string_view authorization_header) const;

 private:
  std::map<std::string, std::string> users_;
};

inline constexpr const char* kBasicAuthChallenge =
    "Basic realm=\"pgconn_exporter\", charset=\"UTF-8\"";

}  // namespace pgconn
