// libFuzzer: the HTTP router. Input: "METHOD\nraw-path\nquery\naccept-encoding". Invariant:
// a path that decodes to a control byte never reaches a route.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "../../src/http/router.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const pgconn::http::Router router = [] {
    pgconn::http::Router r;
    r.Add("/metrics", [](const pgconn::http::HttpRequest&) {
      return pgconn::http::MakeResponse(200, "text/plain", "metrics");
    });
    r.Add("/probe", [](const pgconn::http::HttpRequest& request) {
      const auto target = pgconn::http::QueryParameter(request.query, "target");
      return pgconn::http::MakeResponse(target ? 200 : 400, "text/plain", target.value_or(""));
    });
    return r;
  }();
  std::string_view rest(reinterpret_cast<const char*>(data), size);
  std::string parts[4];
  for (auto& part : parts) {
    const size_t newline = rest.find('\n');
    part = std::string(rest.substr(0, newline));
    rest.remove_prefix(newline == std::string_view::npos ? rest.size() : newline + 1);
  }
  pgconn::http::HttpRequest request;
  request.method = parts[0];
  request.query = parts[2];
  request.accept_encoding = parts[3];
  (void)pgconn::http::AcceptsGzip(request.accept_encoding);
  const auto path = pgconn::http::DecodePath(parts[1]);
  if (!path) return 0;
  for (const char c : *path) {
    if (static_cast<unsigned char>(c) < 0x20) abort();
  }
  request.path = *path;
  (void)router.Handle(request);
  return 0;
}
