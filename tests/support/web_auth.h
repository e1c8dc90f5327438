// Test helpers for --web.config.file: bcrypt hashes made here, Authorization headers.
#pragma once

#include <map>
#include <string>

namespace pgconn::testing {

// A fresh bcrypt ($2b$) hash of `password` with a random salt; cost 4 keeps tests fast.
std::string BcryptHash(const std::string& password, int cost = 4);

// {"Authorization": "Basic base64(user:password)"}.
std::map<std::string, std::string> BasicAuthHeader(const std::string& user,
                                                   const std::string& password);

}  // namespace pgconn::testing
