// Exact-path routing, independent of civetweb so it stays small and testable.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace pgconn::http {

struct HttpRequest {
  std::string method;
  std::string path;   // decoded (DecodePath), without the query string
  std::string query;  // raw, without '?'; routing ignores it
  std::string accept_encoding;
  std::string authorization;  // the Authorization header; never logged
};

struct HttpResponse {
  int status = 200;
  std::string content_type;
  // Shared so a scrape can point into the published Snapshot instead of copying it.
  std::shared_ptr<const std::string> body;
  std::shared_ptr<const std::string> tail;  // written after body (the HTTP self-metrics)
  std::vector<std::pair<std::string, std::string>> headers;
};

inline constexpr const char* kTextPlain = "text/plain; charset=utf-8";

HttpResponse MakeResponse(int status, std::string content_type, std::string body);

// True when Accept-Encoding lists gzip (or *) without q=0.
bool AcceptsGzip(std::string_view accept_encoding);

// The first value of `name` in a raw query string ("a=1&target=x%20y" -> "x y" for
// "target"), percent- and '+'-decoded; nullopt when absent or badly encoded.
std::optional<std::string> QueryParameter(std::string_view query, std::string_view name);

// Percent-decodes a raw request path; nullopt when an escape is malformed or the decoded
// path holds a control byte (%00, %0A, ...): such a path must never reach a route.
std::optional<std::string> DecodePath(std::string_view raw);

// Maps exact paths to handlers. Every route answers GET and HEAD (OPTIONS: 204 with Allow);
// other methods get 405, unknown paths 404. Later additions (/probe, auth) are one Add() or one
// check in Handle().
class Router {
 public:
  using Handler = std::function<HttpResponse(const HttpRequest&)>;

  // Returns false (and keeps the first) when the path is already taken.
  bool Add(std::string path, Handler handler);
  // The same for a path that answers only `methods` (e.g. {"POST"} for /-/reload).
  bool Add(std::string path, Handler handler, std::set<std::string> methods);
  // From now on every path except `open_paths` answers 401 (with a basic-auth challenge)
  // unless `allows(authorization header)`; checked before dispatch, so unknown paths too.
  void RequireAuth(std::function<bool(std::string_view)> allows, std::set<std::string> open_paths);
  HttpResponse Handle(const HttpRequest& request) const;

 private:
  bool Authorized(const HttpRequest& request) const;

  std::map<std::string, Handler, std::less<>> routes_;
  std::map<std::string, std::set<std::string>, std::less<>> methods_;  // absent: GET, HEAD
  std::function<bool(std::string_view)> allows_;                       // empty: no authentication
  std::set<std::string, std::less<>> open_paths_;
};

}  // namespace pgconn::http
