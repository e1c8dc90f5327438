#include "pgconn/family_builder.h"
#include "pgconn/http_stats.h"

namespace pgconn {

namespace {
// Zero-filled so rate() and alerts see the series before the first error.
constexpr int kKnownCodes[] = {200, 204, 400, 401, 404, 405, 413, 500};
}  // namespace

Families MapHttpStats(const HttpStats& stats) {
  Families out;
  AddGauge(out, "pgconn_http_workers", "Worker threads of the HTTP endpoint.", {}, stats.workers);
  AddGauge(out, "pgconn_http_connections_open",
           "HTTP connections accepted and held by a worker (idle or reading a request included).",
           {}, static_cast<double>(stats.connections_open));
  AddGauge(out, "pgconn_http_connections_in_use",
           "HTTP connections whose response is being built or written.", {},
           static_cast<double>(stats.connections_in_use));
  std::map<int, uint64_t> requests = stats.requests;
  for (const int code : kKnownCodes) requests.emplace(code, 0);
  FamilyBuilder by_code("pgconn_http_requests_total", "HTTP requests answered, by status code.",
                        prometheus::MetricType::Counter);
  for (const auto& [code, count] : requests) {
    by_code.Add({{"code", std::to_string(code)}}, static_cast<double>(count));
  }
  out.push_back(by_code.Build());
  out.push_back(FamilyBuilder("pgconn_http_fd_exhausted_total",
                              "Times the process's file descriptor table was found full "
                              "(EMFILE); a spare descriptor is then freed for the listener.",
                              prometheus::MetricType::Counter)
                    .Add({}, static_cast<double>(stats.fd_exhausted_total))
                    .Build());
  AddGauge(out, "pgconn_http_fd_reserve",
           "Spare file descriptors held back so a full descriptor table never stops the listener.",
           {}, stats.fd_reserve);
  return out;
}

}  // namespace pgconn
