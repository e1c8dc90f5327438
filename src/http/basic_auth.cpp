#include "pgconn/basic_auth.h"

#include <crypt.h>

#include <cctype>
#include <cstdint>
#include <memory>
#include <utility>

namespace pgconn {
namespace {

int Base64Value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

// Standard alphabet, '=' padding optional; nullopt on any other character.
std::optional<std::string> DecodeBase64(std::string_view text) {
  while (!text.empty() && text.back() == '=') text.remove_suffix(1);
  std::string out;
  std::uint32_t buffer = 0;
  int bits = 0;
  for (const char c : text) {
    const int value = Base64Value(c);
    if (value < 0) return std::nullopt;
    buffer = (buffer << 6) | static_cast<std::uint32_t>(value);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((buffer >> bits) & 0xFF));
    }
  }
  if (bits >= 6) return std::nullopt;  // one dangling character cannot encode a byte
  return out;
}

bool StartsWithIgnoreCase(std::string_view text, std::string_view prefix) {
  if (text.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(text[i])) !=
        std::tolower(static_cast<unsigned char>(prefix[i]))) {
      return false;
    }
  }
  return true;
}

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  unsigned char difference = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    difference |= static_cast<unsigned char>(a[i] ^ b[i]);
  }
  return difference == 0;
}

}  // namespace

std::optional<BasicCredentials> ParseBasicAuthorization(std::string_view header) {
  if (!StartsWithIgnoreCase(header, "basic ")) return std::nullopt;
  header.remove_prefix(6);
  while (!header.empty() && header.front() == ' ') header.remove_prefix(1);
  while (!header.empty() && header.back() == ' ') header.remove_suffix(1);
  const auto decoded = DecodeBase64(header);
  if (!decoded) return std::nullopt;
  const size_t colon = decoded->find(':');
  if (colon == std::string::npos) return std::nullopt;
  return BasicCredentials{decoded->substr(0, colon), decoded->substr(colon + 1)};
}

bool BcryptMatches(std::string_view password, const std::string& bcrypt_hash) {
  if (password.find('\0') != std::string_view::npos) return false;
  // crypt_data is ~32 KiB: too big for a civetweb worker's stack; zeroed as crypt_r wants.
  const auto data = std::make_unique<crypt_data>();
  const std::string key(password);
  const char* result = crypt_r(key.c_str(), bcrypt_hash.c_str(), data.get());
  if (result == nullptr || result[0] == '*') return false;  // libxcrypt's failure tokens
  return ConstantTimeEquals(result, bcrypt_hash);
}

BasicAuthenticator::BasicAuthenticator(std::map<std::string, std::string> users)
    : users_(std::move(users)) {}

bool BasicAuthenticator::Allows(std::string_view authorization_header) const {
  if (users_.empty()) return true;
  const auto credentials = ParseBasicAuthorization(authorization_header);
  if (!credentials) return false;
  const auto user = users_.find(credentials->user);
  if (user == users_.end()) {
    BcryptMatches(credentials->password, users_.begin()->second);  // same cost, result unused
    return false;
  }
  return BcryptMatches(credentials->password, user->second);
}

}  // namespace pgconn
