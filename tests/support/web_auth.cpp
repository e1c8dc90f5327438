#include "support/web_auth.h"

#include <crypt.h>

#include <memory>
#include <stdexcept>

namespace pgconn::testing {
namespace {

std::string Base64(const std::string& bytes) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    const unsigned value = (static_cast<unsigned char>(bytes[i]) << 16) |
                           (static_cast<unsigned char>(bytes[i + 1]) << 8) |
                           static_cast<unsigned char>(bytes[i + 2]);
    for (int shift = 18; shift >= 0; shift -= 6) out += kAlphabet[(value >> shift) & 63];
  }
  const size_t rest = bytes.size() - i;
  if (rest == 0) return out;
  unsigned value = static_cast<unsigned>(static_cast<unsigned char>(bytes[i])) << 16;
  if (rest == 2) value |= static_cast<unsigned>(static_cast<unsigned char>(bytes[i + 1])) << 8;
  out += kAlphabet[(value >> 18) & 63];
  out += kAlphabet[(value >> 12) & 63];
  out += rest == 2 ? kAlphabet[(value >> 6) & 63] : '=';
  out += '=';
  return out;
}

}  // namespace

std::string BcryptHash(const std::string& password, int cost) {
  char salt[CRYPT_GENSALT_OUTPUT_SIZE];
  if (crypt_gensalt_rn("$2b$", static_cast<unsigned long>(cost), nullptr, 0, salt, sizeof salt) ==
      nullptr) {
    throw std::runtime_error("crypt_gensalt_rn failed");
  }
  const auto data = std::make_unique<crypt_data>();
  const char* hash = crypt_r(password.c_str(), salt, data.get());
  if (hash == nullptr || hash[0] == '*') throw std::runtime_error("crypt_r failed");
  return hash;
}

std::map<std::string, std::string> BasicAuthHeader(const std::string& user,
                                                   const std::string& password) {
  return {{"Authorization", "Basic " + Base64(user + ":" + password)}};
}

}  // namespace pgconn::testing
