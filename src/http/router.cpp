#include "router.h"

#include <cctype>
#include <cstdlib>

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

}  // namespace

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

HttpResponse Router::Handle(const HttpRequest& request) const {
  const auto route = routes_.find(request.path);
  if (route == routes_.end()) {
    return MakeResponse(404, kTextPlain, "not found\n");
  }
  if (request.method != "GET" && request.method != "HEAD") {
    HttpResponse response = MakeResponse(405, kTextPlain, "method not allowed\n");
    response.headers.emplace_back("Allow", "GET, HEAD");
    return response;
  }
  return route->second(request);
}

}  // namespace pgconn::http
