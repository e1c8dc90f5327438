#include "support/http_client.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <iterator>
#include <sstream>
#include <stdexcept>
#include <string_view>

#include "support/process.h"

namespace pgconn::testing {
namespace {

using Clock = std::chrono::steady_clock;

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

std::string Trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  const auto e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

int RemainingMs(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return static_cast<int>(std::max<int64_t>(0, left.count()));
}

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

// Returns true once the whole response is in `raw` (headers + body per Content-Length or the
// final chunk); a response without either ends at EOF.
bool Complete(const std::string& raw) {
  const auto end = raw.find("\r\n\r\n");
  if (end == std::string::npos) return false;
  const std::string head = Lower(raw.substr(0, end));
  const std::string body = raw.substr(end + 4);
  const auto cl = head.find("\ncontent-length:");
  if (cl != std::string::npos) {
    const std::size_t len = std::strtoul(head.c_str() + cl + 16, nullptr, 10);
    return body.size() >= len;
  }
  if (head.find("transfer-encoding: chunked") != std::string::npos) {
    return body.find("\r\n0\r\n\r\n") != std::string::npos || body.rfind("0\r\n\r\n", 0) == 0;
  }
  return false;
}

std::string Dechunk(const std::string& body) {
  std::string out;
  std::size_t pos = 0;
  while (pos < body.size()) {
    const auto line_end = body.find("\r\n", pos);
    if (line_end == std::string::npos) throw std::runtime_error("bad chunked encoding");
    const std::size_t len = std::strtoul(body.substr(pos, line_end - pos).c_str(), nullptr, 16);
    if (len == 0) break;
    out += body.substr(line_end + 2, len);
    pos = line_end + 2 + len + 2;
  }
  return out;
}

std::string Escape(const std::string& value) {
  std::string out;
  for (char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

bool IsNameChar(char c, bool first) {
  return std::isalpha(static_cast<unsigned char>(c)) != 0 || c == '_' || c == ':' ||
         (!first && std::isdigit(static_cast<unsigned char>(c)) != 0);
}

double ParseValue(const std::string& text) {
  if (text == "+Inf" || text == "Inf") return HUGE_VAL;
  if (text == "-Inf") return -HUGE_VAL;
  if (text == "NaN") return std::nan("");
  char* end = nullptr;
  double v = std::strtod(text.c_str(), &end);
  if (end == text.c_str() || *end != '\0') throw std::runtime_error("bad sample value: " + text);
  return v;
}

Sample ParseLine(const std::string& line) {
  Sample s;
  std::size_t i = 0;
  while (i < line.size() && IsNameChar(line[i], i == 0)) ++i;
  if (i == 0) throw std::runtime_error("bad metric line: " + line);
  s.name = line.substr(0, i);
  if (i < line.size() && line[i] == '{') {
    ++i;
    while (true) {
      while (i < line.size() && (line[i] == ' ' || line[i] == ',')) ++i;
      if (i < line.size() && line[i] == '}') {
        ++i;
        break;
      }
      std::size_t start = i;
      while (i < line.size() && IsNameChar(line[i], i == start)) ++i;
      std::string key = line.substr(start, i - start);
      if (key.empty() || i + 1 >= line.size() || line[i] != '=' || line[i + 1] != '"') {
        throw std::runtime_error("bad label in: " + line);
      }
      i += 2;
      std::string value;
      while (i < line.size() && line[i] != '"') {
        if (line[i] == '\\' && i + 1 < line.size()) {
          ++i;
          value += line[i] == 'n' ? '\n' : line[i];
        } else {
          value += line[i];
        }
        ++i;
      }
      if (i >= line.size()) throw std::runtime_error("unterminated label value in: " + line);
      ++i;  // closing quote
      if (!s.labels.emplace(key, value).second) {
        throw std::runtime_error("duplicate label " + key + " in: " + line);
      }
    }
  }
  std::istringstream rest(line.substr(i));
  std::string value;
  if (!(rest >> value)) throw std::runtime_error("missing value in: " + line);
  s.value = ParseValue(value);
  return s;
}

}  // namespace

std::string HttpResponse::Header(const std::string& name) const {
  auto it = headers.find(Lower(name));
  return it == headers.end() ? "" : it->second;
}

HttpResponse HttpGet(const std::string& host, int port, const std::string& path,
                     const std::map<std::string, std::string>& headers,
                     std::chrono::milliseconds timeout) {
  const auto start = Clock::now();
  const auto deadline = start + timeout;
  const std::string where = host + ":" + std::to_string(port) + path;

  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (inet_pton(AF_INET, host == "localhost" ? "127.0.0.1" : host.c_str(), &addr.sin_addr) != 1) {
    throw std::runtime_error("HttpGet: not an IPv4 address: " + host);
  }
  Fd fd(socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (fd.get() < 0) throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
  if (connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 &&
      errno != EINPROGRESS) {
    throw std::runtime_error("HttpGet " + where + ": connect: " + std::strerror(errno));
  }

  std::string request = "GET " + path + " HTTP/1.1\r\nHost: " + host + ":" + std::to_string(port) +
                        "\r\nConnection: close\r\n";
  for (const auto& [k, v] : headers) request += k + ": " + v + "\r\n";
  request += "\r\n";

  std::size_t sent = 0;
  std::string raw;
  char buf[65536];
  while (true) {
    const bool sending = sent < request.size();
    pollfd p{fd.get(), static_cast<short>(sending ? POLLOUT : POLLIN), 0};
    int rc = poll(&p, 1, RemainingMs(deadline));
    if (rc < 0 && errno == EINTR) continue;
    if (rc == 0) {
      throw std::runtime_error("HttpGet " + where + ": timed out after " +
                               std::to_string(timeout.count()) + " ms (" +
                               std::to_string(raw.size()) + " bytes received)");
    }
    if (rc < 0) throw std::runtime_error(std::string("poll: ") + std::strerror(errno));
    if (sending) {
      int err = 0;
      socklen_t len = sizeof(err);
      getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &len);
      if (err != 0) throw std::runtime_error("HttpGet " + where + ": " + std::strerror(err));
      ssize_t n = send(fd.get(), request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
      if (n < 0 && errno != EAGAIN && errno != EINTR) {
        throw std::runtime_error("HttpGet " + where + ": send: " + std::strerror(errno));
      }
      if (n > 0) sent += static_cast<std::size_t>(n);
      continue;
    }
    ssize_t n = recv(fd.get(), buf, sizeof(buf), 0);
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) continue;
      if (errno == ECONNRESET && !raw.empty()) break;
      throw std::runtime_error("HttpGet " + where + ": recv: " + std::strerror(errno));
    }
    if (n == 0) break;
    raw.append(buf, static_cast<std::size_t>(n));
    if (Complete(raw)) break;
  }

  HttpResponse response;
  response.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
  const auto head_end = raw.find("\r\n\r\n");
  if (head_end == std::string::npos) {
    throw std::runtime_error("HttpGet " + where + ": incomplete response: " + Tail(raw, 200));
  }
  std::istringstream head(raw.substr(0, head_end));
  std::string status_line;
  std::getline(head, status_line);
  std::istringstream sl(status_line);
  std::string version;
  sl >> version >> response.status;
  if (version.rfind("HTTP/", 0) != 0) {
    throw std::runtime_error("HttpGet " + where + ": bad status line: " + status_line);
  }
  std::string line;
  while (std::getline(head, line)) {
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    response.headers[Lower(Trim(line.substr(0, colon)))] = Trim(line.substr(colon + 1));
  }
  response.body = raw.substr(head_end + 4);
  if (Lower(response.Header("transfer-encoding")) == "chunked") {
    response.body = Dechunk(response.body);
  } else if (!response.Header("content-length").empty()) {
    const std::size_t len = std::strtoul(response.Header("content-length").c_str(), nullptr, 10);
    if (response.body.size() < len) {
      throw std::runtime_error("HttpGet " + where + ": body shorter than Content-Length");
    }
    response.body.resize(len);
  }
  return response;
}

std::string Gunzip(const std::string& data) {
  z_stream zs{};
  if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK) throw std::runtime_error("inflateInit2");
  // zlib's API takes non-const input; it does not modify it.
  std::string input = data;
  zs.next_in = reinterpret_cast<Bytef*>(input.data());
  zs.avail_in = static_cast<uInt>(input.size());
  std::string out;
  char buf[65536];
  int rc = Z_OK;
  do {
    zs.next_out = reinterpret_cast<Bytef*>(buf);
    zs.avail_out = sizeof(buf);
    rc = inflate(&zs, Z_NO_FLUSH);
    if (rc != Z_OK && rc != Z_STREAM_END) {
      inflateEnd(&zs);
      throw std::runtime_error("gunzip: corrupt data");
    }
    out.append(buf, sizeof(buf) - zs.avail_out);
  } while (rc != Z_STREAM_END && (zs.avail_in > 0 || zs.avail_out == 0));
  inflateEnd(&zs);
  if (rc != Z_STREAM_END) throw std::runtime_error("gunzip: truncated data");
  return out;
}

std::string SeriesKey(const std::string& name, const Labels& labels) {
  if (labels.empty()) return name;
  std::string key = name + "{";
  bool first = true;
  for (const auto& [k, v] : labels) {
    if (!first) key += ",";
    first = false;
    key += k + "=\"" + Escape(v) + "\"";
  }
  return key + "}";
}

std::vector<Sample> ParseSamples(const std::string& text) {
  std::vector<Sample> samples;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (Trim(line).empty() || line[0] == '#') continue;
    samples.push_back(ParseLine(line));
  }
  return samples;
}

Metrics ParseMetrics(const std::string& text) {
  Metrics metrics;
  for (const auto& s : ParseSamples(text)) {
    const std::string key = SeriesKey(s.name, s.labels);
    if (!metrics.emplace(key, s.value).second) {
      throw std::runtime_error("duplicate series in exposition: " + key);
    }
  }
  return metrics;
}

std::optional<double> Value(const Metrics& metrics, const std::string& name, const Labels& labels) {
  auto it = metrics.find(SeriesKey(name, labels));
  if (it == metrics.end()) return std::nullopt;
  return it->second;
}

std::vector<Sample> Select(const Metrics& metrics, const std::string& name, const Labels& subset) {
  std::vector<Sample> out;
  for (auto it = metrics.lower_bound(name); it != metrics.end(); ++it) {
    const std::string& key = it->first;
    if (key.compare(0, name.size(), name) != 0) break;
    if (key.size() != name.size() && key[name.size()] != '{') continue;
    Sample s = ParseLine(key + " 0");
    s.value = it->second;
    bool match = true;
    for (const auto& [k, v] : subset) {
      auto l = s.labels.find(k);
      if (l == s.labels.end() || l->second != v) {
        match = false;
        break;
      }
    }
    if (match) out.push_back(std::move(s));
  }
  return out;
}

Metrics SelectMap(const Metrics& metrics, const std::string& name, const Labels& subset) {
  Metrics out;
  for (const auto& s : Select(metrics, name, subset)) {
    out[SeriesKey(s.name, s.labels)] = s.value;
  }
  return out;
}

double Sum(const Metrics& metrics, const std::string& name, const Labels& subset) {
  double total = 0;
  for (const auto& s : Select(metrics, name, subset)) total += s.value;
  return total;
}

std::map<std::string, std::string> MetricTypes(const std::string& text) {
  std::map<std::string, std::string> types;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("# TYPE ", 0) != 0) continue;
    std::istringstream fields(line.substr(7));
    std::string name, kind;
    fields >> name >> kind;
    types[name] = kind;
  }
  return types;
}

std::string DiffMetrics(const Metrics& expected, const Metrics& actual, bool exact) {
  std::ostringstream diff;
  for (const auto& [key, value] : expected) {
    auto it = actual.find(key);
    if (it == actual.end()) {
      diff << "  missing " << key << " (want " << value << ")\n";
    } else if (!(it->second == value)) {
      diff << "  " << key << " = " << it->second << " (want " << value << ")\n";
    }
  }
  if (exact) {
    for (const auto& [key, value] : actual) {
      if (expected.count(key) == 0) diff << "  unexpected " << key << " = " << value << "\n";
    }
  }
  return diff.str();
}

PromtoolResult PromtoolCheckMetrics(const std::string& text) {
  ProcessResult r = RunProcess({"promtool", "check", "metrics"}, text);
  const std::string output = r.out + r.err;
  return PromtoolResult{r.exit_code == 0, output};
}

}  // namespace pgconn::testing
