// libFuzzer: DSN/URL parsing, redaction and quoting. Invariants: redaction never shows the
// password; a password always round-trips through our quoting and libpq's parser.
#include <libpq-fe.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "pgconn/conninfo.h"
#include "pgconn/database_url.h"

namespace {

std::string ParsedPassword(const std::string& conninfo) {
  PQconninfoOption* options = PQconninfoParse(conninfo.c_str(), nullptr);
  if (options == nullptr) abort();  // our own conninfo must always parse
  std::string password;
  for (PQconninfoOption* o = options; o->keyword != nullptr; ++o) {
    if (std::string(o->keyword) == "password" && o->val != nullptr) password = o->val;
  }
  PQconninfoFree(options);
  return password;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  if (text.find('\0') != std::string::npos) return 0;  // the config refuses NUL before this
  (void)pgconn::DsnParseError(text);
  (void)pgconn::DsnValueError(text);
  (void)pgconn::DsnHosts(text);
  (void)pgconn::RedactDsn(text);
  std::string error;
  (void)pgconn::ParseDatabaseUrl(text, &error);
  if (!text.empty()) {
    pgconn::TargetConfig target;
    target.dsn = "host=db user=mon";
    target.password = text;
    if (ParsedPassword(pgconn::BuildConninfo(target)) != text) abort();
  }
  return 0;
}
