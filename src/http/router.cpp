#include "router.h"

#include <cctype>
#include <cstdlib>

#include "pgconn/basic_auth.h"

namespace pgconn::http {

namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front())) != 0) {
    s.remove_prefix(1);
  }
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back())) != 0) {
    s.remove_suffix(1);
  }
  return s;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

// One Accept-Encoding element, e.g. "gzip;q=0.5": is it gzip with a non-zero weight?
bool IsAcceptableGzip(std::string_view element) {
  const size_t semicolon = element.find(';');
  const std::string_view coding = Trim(element.substr(0, semicolon));
  if (!EqualsIgnoreCase(coding, "gzip") && coding != "*") return false;
  if (semicolon == std::string_view::npos) return true;
  const std::string_view param = Trim(element.substr(semicolon + 1));
  if (param.size() < 2 || std::tolower(static_cast<unsigned char>(param[0])) != 'q' ||
      param[1] != '=') {
    return true;
  }
  const std::string weight(Trim(param.substr(2)));
  return std::strtod(weight.c_str(), nullptr) > 0;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::optional<std::string> PercentDecode(std::string_view text, bool plus_is_space) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (plus_is_space && text[i] == '+') {
      out.push_back(' ');
    } else if (text[i] != '%') {
      out.push_back(text[i]);
    } else {
      const int high = i + 2 < text.size() ? HexValue(text[i + 1]) : -1;
      const int low = i + 2 < text.size() ? HexValue(text[i + 2]) : -1;
      if (high < 0 || low < 0) return std::nullopt;
      out.push_back(static_cast<char>(high * 16 + low));
      i += 2;
    }
  }
  return out;
}

std::optional<std::string> DecodeQueryComponent(std::string_view text) {
  return PercentDecode(text, true);
}

}  // namespace

std::optional<std::string> DecodePath(std::string_view raw) {
  std::optional<std::string> path = PercentDecode(raw, false);
  if (!path) return std::nullopt;
  for (const char c : *path) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte == 0x7f) return std::nullopt;
  }
  return path;
}

std::optional<std::string> QueryParameter(std::string_view query, std::string_view name) {
  while (!query.empty()) {
    const size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    const size_t eq = pair.find('=');
    if (DecodeQueryComponent(pair.substr(0, eq)) == std::string(name)) {
      return eq == std::string_view::npos ? std::string()
                                          : DecodeQueryComponent(pair.substr(eq + 1));
    }
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return std::nullopt;
}

HttpResponse MakeResponse(int status, std::string content_type, std::string body) {
  HttpResponse response;
  response.status = status;
  response.content_type = std::move(content_type);
  response.body = std::make_shared<const std::string>(std::move(body));
  return response;
}

bool AcceptsGzip(std::string_view accept_encoding) {
  while (!accept_encoding.empty()) {
    const size_t comma = accept_encoding.find(',');
    if (IsAcceptableGzip(accept_encoding.substr(0, comma))) return true;
    if (comma == std::string_view::npos) break;
    accept_encoding.remove_prefix(comma + 1);
  }
  return false;
}

bool Router::Add(std::string path, Handler handler) {
  return routes_.emplace(std::move(path), std::move(handler)).second;
}

bool Router::Add(std::string path, Handler handler, std::set<std::string> methods) {
  if (routes_.count(path) != 0) return false;
  methods_[path] = std::move(methods);
  return Add(std::move(path), std::move(handler));
}

void Router::RequireAuth(std::function<bool(std::string_view)> allows,
                         std::set<std::string> open_paths) {
  allows_ = std::move(allows);
  open_paths_.clear();
  open_paths_.insert(open_paths.begin(), open_paths.end());
}

bool Router::Authorized(const HttpRequest& request) const {
  return !allows_ || open_paths_.count(request.path) != 0 || allows_(request.authorization);
}

HttpResponse Router::Handle(const HttpRequest& request) const {
  if (!Authorized(request)) {
    HttpResponse response = MakeResponse(401, kTextPlain, "unauthorized\n");
    response.headers.emplace_back("WWW-Authenticate", kBasicAuthChallenge);
    return response;
  }
  const auto route = routes_.find(request.path);
  if (route == routes_.end()) {
    return MakeResponse(404, kTextPlain, "not found\n");
  }
  const auto methods = methods_.find(request.path);
  const std::set<std::string> route_methods =
      methods == methods_.end() ? std::set<std::string>{"GET", "HEAD"} : methods->second;
  std::string allow;
  for (const auto& method : route_methods) allow += method + ", ";
  allow += "OPTIONS";
  if (request.method == "OPTIONS") {
    HttpResponse response = MakeResponse(204, kTextPlain, "");
    response.headers.emplace_back("Allow", allow);
    return response;
  }
  if (route_methods.count(request.method) == 0) {
    HttpResponse response = MakeResponse(405, kTextPlain, "method not allowed\n");
    response.headers.emplace_back("Allow", allow);
    return response;
  }
  return route->second(request);
}

}  // namespace pgconn::http
