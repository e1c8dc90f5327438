// A raw-socket HTTP/1.1 client and a minimal Prometheus text-format parser for tests.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace pgconn::testing {

struct HttpResponse {
  int status = 0;
  std::map<std::string, std::string> headers;  // keys lower-cased
  std::string body;                            // de-chunked, not decompressed
  std::chrono::milliseconds elapsed{0};

  std::string Header(const std::string& name) const;  // "" when absent; name any case
};

// GET http://host:port/path with "Connection: close". Throws std::runtime_error when the
// connection fails or no complete response arrives within `timeout`.
HttpResponse HttpGet(const std::string& host, int port, const std::string& path,
                     const std::map<std::string, std::string>& headers = {},
                     std::chrono::milliseconds timeout = std::chrono::milliseconds(5000));

// gzip (RFC 1952) -> bytes; throws on corrupt input.
std::string Gunzip(const std::string& data);

using Labels = std::map<std::string, std::string>;

struct Sample {
  std::string name;
  Labels labels;
  double value = 0;
};

// Series key -> value. The key is `name` or `name{a="x",b="y"}` with labels sorted by name and
// values escaped as in the exposition format.
using Metrics = std::map<std::string, double>;

std::string SeriesKey(const std::string& name, const Labels& labels = {});
std::vector<Sample> ParseSamples(const std::string& text);  // throws on a malformed line
Metrics ParseMetrics(const std::string& text);
std::optional<double> Value(const Metrics& metrics, const std::string& name,
                            const Labels& labels = {});

// Every series of family `name` whose labels include all of `subset`.
std::vector<Sample> Select(const Metrics& metrics, const std::string& name,
                           const Labels& subset = {});
// The same as key -> value, for whole-family comparisons.
Metrics SelectMap(const Metrics& metrics, const std::string& name, const Labels& subset = {});
double Sum(const Metrics& metrics, const std::string& name, const Labels& subset = {});

// "# TYPE name kind" lines -> name -> kind.
std::map<std::string, std::string> MetricTypes(const std::string& text);

// Human-readable difference between `expected` and the matching part of `actual`; "" when
// every expected key has exactly the expected value (and, when `exact`, no extra keys).
std::string DiffMetrics(const Metrics& expected, const Metrics& actual, bool exact);

struct PromtoolResult {
  bool ok = false;
  std::string output;
};

// `promtool check metrics` with the text on stdin.
PromtoolResult PromtoolCheckMetrics(const std::string& text);

}  // namespace pgconn::testing
