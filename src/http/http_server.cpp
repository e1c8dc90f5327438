#include "pgconn/http_server.h"

#include <CivetServer.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <map>
#include <mutex>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "pgconn/basic_auth.h"
#include "pgconn/fd_reserve.h"
#include "pgconn/http_stats.h"
#include "router.h"
#include "stack_release.h"

namespace pgconn {

namespace {

constexpr const char* kExpositionType = "text/plain; version=0.0.4; charset=utf-8";
constexpr int kFdReserve = 8;
constexpr long long kMaxDrainedBody = 64 * 1024;
// A scrape sends its request with the handshake; a socket silent this long is let through
// to a worker (and its request_timeout_ms) only then.
constexpr int kDeferAcceptSeconds = 5;

// Accepts IPV4:PORT (and Go-style :PORT); anything else could smuggle civetweb suffixes
// such as "s" (TLS) or extra comma-separated ports into listening_ports.
std::string ToCivetPort(const std::string& address) {
  const std::string full =
      !address.empty() && address.front() == ':' ? "0.0.0.0" + address : address;
  const size_t colon = full.rfind(':');
  const std::string host = colon == std::string::npos ? "" : full.substr(0, colon);
  const std::string port = colon == std::string::npos ? "" : full.substr(colon + 1);
  in_addr parsed{};
  const bool port_ok = !port.empty() && port.size() <= 5 &&
                       port.find_first_not_of("0123456789") == std::string::npos &&
                       std::atoi(port.c_str()) <= 65535;
  if (inet_pton(AF_INET, host.c_str(), &parsed) != 1 || !port_ok) {
    throw std::runtime_error("cannot listen on " + address + ": expected IPV4:PORT");
  }
  return full;
}

// No document_root: nothing is ever served from disk, and without put_delete_auth_file
// civetweb accepts no uploads. max_request_size stays at its 16 KiB default.
// civetweb gives each connection a worker for as long as it is open, so abuse resistance is
// a pool larger than the connections an attacker holds, short timeouts for a request that
// does not arrive, and an accept queue that holds the rest (see README "Security").
std::vector<std::string> CivetOptions(const std::string& address, int threads) {
  const std::pair<const char*, std::string> settings[] = {
      {"listening_ports", address},
      {"num_threads", std::to_string(threads)},
      {"request_timeout_ms", "3000"},  // whole request head; bounds a slowloris per worker
      {"keep_alive_timeout_ms", "2000"},
      {"listen_backlog", "4096"},
      {"connection_queue", std::to_string(threads)},
      {"enable_keep_alive", "yes"},
      {"enable_directory_listing", "no"},
      // Decoded by us (http::DecodePath) so "%00" cannot cut a path short.
      {"decode_url", "no"},
      // Absolute-form URIs for this port are served (RFC 7230 5.3.2) instead of dropped.
      {"enable_auth_domain_check", "no"},
      // Headers and body are separate writes; without this Nagle holds the body for an ACK.
      {"tcp_nodelay", "1"},
  };
  std::vector<std::string> flat;
  for (const auto& [name, value] : settings) {
    flat.emplace_back(name);
    flat.push_back(value);
  }
  return flat;
}

// Connections that never send a byte stay in the kernel until they do (or for `seconds`),
// so they hold no worker. civetweb does not expose its listening socket: find it by port.
void DeferAccept(int port, int seconds) {
  rlimit limit{};
  const int max_fd = getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < 65536
                         ? static_cast<int>(limit.rlim_cur)
                         : 65536;
  for (int fd = 0; fd < max_fd; ++fd) {
    int listening = 0;
    socklen_t size = sizeof(listening);
    if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &size) != 0 || listening == 0) {
      continue;
    }
    sockaddr_in local{};
    socklen_t local_size = sizeof(local);
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&local), &local_size) == 0 &&
        local.sin_family == AF_INET && ntohs(local.sin_port) == port) {
      setsockopt(fd, IPPROTO_TCP, TCP_DEFER_ACCEPT, &seconds, sizeof(seconds));
    }
  }
}

http::HttpRequest ReadRequest(mg_connection* conn) {
  const mg_request_info* info = mg_get_request_info(conn);
  http::HttpRequest request;
  if (info == nullptr) return request;
  request.method = info->request_method != nullptr ? info->request_method : "";
  request.path = info->local_uri != nullptr ? info->local_uri : "";  // raw: decode_url=no
  request.query = info->query_string != nullptr ? info->query_string : "";
  const char* encoding = mg_get_header(conn, "Accept-Encoding");
  request.accept_encoding = encoding != nullptr ? encoding : "";
  const char* authorization = mg_get_header(conn, "Authorization");
  request.authorization = authorization != nullptr ? authorization : "";
  return request;
}

// Returns false when the client went away mid-response.
bool WriteResponse(mg_connection* conn, const http::HttpResponse& response, bool head) {
  const size_t tail = response.tail ? response.tail->size() : 0;
  const std::string length = std::to_string((response.body ? response.body->size() : 0) + tail);
  mg_response_header_start(conn, response.status);
  mg_response_header_add(conn, "Content-Type", response.content_type.c_str(), -1);
  mg_response_header_add(conn, "Content-Length", length.c_str(), -1);
  mg_response_header_add(conn, "X-Content-Type-Options", "nosniff", -1);
  for (const auto& [name, value] : response.headers) {
    mg_response_header_add(conn, name.c_str(), value.c_str(), -1);
  }
  if (mg_response_header_send(conn) != 0) return false;
  if (head) return true;
  if (response.body && !response.body->empty() &&
      mg_write(conn, response.body->data(), response.body->size()) <= 0) {
    return false;
  }
  return tail == 0 || mg_write(conn, response.tail->data(), tail) > 0;
}

// A WebSocket handshake leaves civetweb unable to send headers; answer on the raw socket.
void RefuseUpgrade(mg_connection* conn) {
  static constexpr char kBody[] = "upgrade not supported\n";
  mg_printf(conn,
            "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\n"
            "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
            sizeof(kBody) - 1, kBody);
}

}  // namespace

struct HttpServer::Impl {
  // Registered at "/", which civetweb prefix-matches for every path; dispatches on the exact one.
  class Dispatcher : public CivetHandler {
   public:
    explicit Dispatcher(Impl& impl) : impl_(impl) {}
    using CivetHandler::handleDelete;
    using CivetHandler::handleGet;
    using CivetHandler::handleHead;
    using CivetHandler::handleOptions;
    using CivetHandler::handlePatch;
    using CivetHandler::handlePost;
    using CivetHandler::handlePut;
    bool handleGet(CivetServer*, mg_connection* conn) override { return impl_.Serve(conn); }
    bool handleHead(CivetServer*, mg_connection* conn) override { return impl_.Serve(conn); }
    bool handlePost(CivetServer*, mg_connection* conn) override { return impl_.Serve(conn); }
    bool handlePut(CivetServer*, mg_connection* conn) override { return impl_.Serve(conn); }
    bool handleDelete(CivetServer*, mg_connection* conn) override { return impl_.Serve(conn); }
    bool handleOptions(CivetServer*, mg_connection* conn) override { return impl_.Serve(conn); }
    bool handlePatch(CivetServer*, mg_connection* conn) override { return impl_.Serve(conn); }

   private:
    Impl& impl_;
  };

  Impl(const HttpOptions& opts, const SnapshotStore& snapshots,
       std::shared_ptr<spdlog::logger> logger)
      : options(opts), store(snapshots), log(std::move(logger)), dispatcher(*this) {
    if (!log) log = std::make_shared<spdlog::logger>("http");  // no sinks: discards
    AddRoutes();
  }

  void AddRoutes();
  void Start();
  bool Serve(mg_connection* conn) noexcept;
  http::HttpResponse Metrics(const http::HttpRequest& request) const;
  http::HttpResponse Probe(const http::HttpRequest& request) const;
  http::HttpResponse Reload() const;
  void SetAuth(const std::map<std::string, std::string>& users);
  bool Allows(std::string_view header) const;
  static int OnCivetLog(const mg_connection* conn, const char* message);
  static Impl* FromConnection(const mg_connection* conn);
  static int OnBeginRequest(mg_connection* conn);
  static void OnEndRequest(const mg_connection* conn, int status);
  static int OnInitConnection(const mg_connection* conn, void** data);
  static void OnConnectionClose(const mg_connection* conn);
  HttpStats Stats() const;
  void CountStatus(int status);
  void OnFdExhausted(uint64_t total);

  HttpOptions options;
  const SnapshotStore& store;
  std::shared_ptr<spdlog::logger> log;
  http::Router router;
  Dispatcher dispatcher;
  std::mutex civet_error_mutex;
  std::string civet_error;  // first civetweb message: names the bind failure
  mutable std::mutex auth_mutex;
  std::shared_ptr<const BasicAuthenticator> auth;  // null: no authentication
  int port = 0;
  std::atomic<int64_t> connections_open{0};
  std::atomic<int64_t> connections_in_use{0};
  mutable std::mutex requests_mutex;
  std::map<int, uint64_t> requests;  // by status code
  std::chrono::steady_clock::time_point last_fd_log{};
  std::unique_ptr<FdReserve> fd_reserve;
  std::unique_ptr<CivetServer> server;  // last member: stopped before the handlers go away
};

void HttpServer::Impl::AddRoutes() {
  // The telemetry path goes first so a clash with "/" or "/healthz" keeps metrics reachable.
  router.Add(options.telemetry_path, [this](const http::HttpRequest& r) { return Metrics(r); });
  const bool landing = router.Add("/", [this](const http::HttpRequest&) {
    return http::MakeResponse(200, "text/html; charset=utf-8",
                              RenderLandingPage(*store.Current(), options));
  });
  const bool health = router.Add("/healthz", [](const http::HttpRequest&) {
    return http::MakeResponse(200, http::kTextPlain, "ok\n");
  });
  const bool probe = router.Add("/probe", [this](const http::HttpRequest& r) { return Probe(r); });
  if (!landing || !health || !probe) {
    log->warn("telemetry path {} hides a built-in page", options.telemetry_path);
  }
  router.Add("/-/reload", [this](const http::HttpRequest&) { return Reload(); }, {"POST"});
  SetAuth(options.basic_auth_users);
  router.RequireAuth([this](std::string_view header) { return Allows(header); }, {"/healthz"});
}

// Swapped by a reload of --web.config.file; a request checks against one consistent set.
void HttpServer::Impl::SetAuth(const std::map<std::string, std::string>& users) {
  auto next = users.empty() ? nullptr : std::make_shared<const BasicAuthenticator>(users);
  const std::lock_guard<std::mutex> lock(auth_mutex);
  auth = std::move(next);
}

bool HttpServer::Impl::Allows(std::string_view header) const {
  std::shared_ptr<const BasicAuthenticator> current;
  {
    const std::lock_guard<std::mutex> lock(auth_mutex);
    current = auth;
  }
  return !current || current->Allows(header);
}

// POST /-/reload: 403 unless --web.enable-lifecycle, as in Prometheus.
http::HttpResponse HttpServer::Impl::Reload() const {
  if (!options.enable_lifecycle || !options.reload) {
    return http::MakeResponse(403, http::kTextPlain,
                              "Lifecycle API is not enabled (start with --web.enable-lifecycle)\n");
  }
  if (const std::optional<std::string> error = options.reload()) {
    return http::MakeResponse(500, http::kTextPlain, "failed to reload config: " + *error + "\n");
  }
  return http::MakeResponse(200, http::kTextPlain, "config reloaded\n");
}

// One target's metrics, blackbox-style: /probe?target=NAME. Never touches PostgreSQL either.
http::HttpResponse HttpServer::Impl::Probe(const http::HttpRequest& request) const {
  const std::optional<std::string> target = http::QueryParameter(request.query, "target");
  if (!target || target->empty()) {
    return http::MakeResponse(400, http::kTextPlain, "missing parameter: target\n");
  }
  const std::shared_ptr<const Snapshot> snapshot = store.Current();
  std::optional<std::string> text = snapshot->target_text.Find(*target);
  if (!text) return http::MakeResponse(404, http::kTextPlain, "unknown target\n");
  http::HttpResponse response;
  response.content_type = kExpositionType;
  response.body = std::make_shared<const std::string>(std::move(*text));
  return response;
}

http::HttpResponse HttpServer::Impl::Metrics(const http::HttpRequest& request) const {
  const std::shared_ptr<const Snapshot> snapshot = store.Current();
  http::HttpResponse response;
  response.content_type = kExpositionType;
  response.headers.emplace_back("Vary", "Accept-Encoding");
  const std::string self = RenderText(MapHttpStats(Stats()));
  // Aliasing pointers keep the snapshot alive while its bytes are written, without a copy.
  if (!snapshot->text_gzip.bytes.empty() && http::AcceptsGzip(request.accept_encoding)) {
    // One gzip member (curl --compressed and other single-member readers stop after the
    // first): the snapshot's part was compressed at publish, the self-metrics end it here.
    response.body = std::shared_ptr<const std::string>(snapshot, &snapshot->text_gzip.bytes);
    response.tail = std::make_shared<const std::string>(FinishGzip(snapshot->text_gzip, self));
    response.headers.emplace_back("Content-Encoding", "gzip");
  } else {
    response.body = std::shared_ptr<const std::string>(snapshot, &snapshot->text.Get());
    response.tail = std::make_shared<const std::string>(self);
  }
  return response;
}

bool HttpServer::Impl::Serve(mg_connection* conn) noexcept {
  ++connections_in_use;
  try {
    http::HttpRequest request = ReadRequest(conn);
    const std::optional<std::string> path = http::DecodePath(request.path);
    request.path = path.value_or("");
    http::HttpResponse response;
    try {
      response = path ? router.Handle(request)
                      : http::MakeResponse(400, http::kTextPlain, "bad request path\n");
    } catch (const std::exception& e) {
      log->error("{} {}: {}", request.method, request.path, e.what());
      response = http::MakeResponse(500, http::kTextPlain, "internal server error\n");
    }
    CountStatus(response.status);
    if (!WriteResponse(conn, response, request.method == "HEAD")) {
      log->debug("{} {}: client went away", request.method, request.path);
    }
  } catch (...) {
    // Out of memory while building even the 500; civetweb closes the connection.
    log->error("unexpected exception while serving a request");
  }
  --connections_in_use;
  return true;
}

HttpServer::Impl* HttpServer::Impl::FromConnection(const mg_connection* conn) {
  const mg_context* context = conn != nullptr ? mg_get_context(conn) : nullptr;
  const auto* civet =
      context != nullptr ? static_cast<const CivetServer*>(mg_get_user_data(context)) : nullptr;
  return civet != nullptr ? static_cast<Impl*>(const_cast<void*>(civet->getUserContext()))
                          : nullptr;
}

// Runs before civetweb looks for a handler: refuses what would otherwise hold a worker (a
// body we never read) or get no status line (a WebSocket upgrade).
int HttpServer::Impl::OnBeginRequest(mg_connection* conn) {
  Impl* impl = FromConnection(conn);
  if (impl == nullptr) return 0;
  // Returning 1 ("served") keeps civetweb's own status out of OnEndRequest: counted here.
  if (mg_get_header(conn, "Upgrade") != nullptr) {
    RefuseUpgrade(conn);
    impl->CountStatus(400);
    return 1;
  }
  const mg_request_info* info = mg_get_request_info(conn);
  const char* chunked = mg_get_header(conn, "Transfer-Encoding");
  // A small body is drained after the response within request_timeout_ms; a large or chunked
  // one (Content-Length: 10^12 on a GET) would hold the worker, so refuse it and close.
  if ((info != nullptr && info->content_length > kMaxDrainedBody) || chunked != nullptr) {
    mg_send_http_error(conn, 413, "%s", "request body not accepted\n");
    impl->CountStatus(413);
    return 1;
  }
  return 0;
}

// Handlers and OnBeginRequest leave status 1; a real code here is civetweb's own answer.
void HttpServer::Impl::OnEndRequest(const mg_connection* conn, int status) {
  Impl* impl = FromConnection(conn);
  if (impl != nullptr && status >= 100) impl->CountStatus(status);
}

void HttpServer::Impl::CountStatus(int status) {
  const std::lock_guard<std::mutex> lock(requests_mutex);
  ++requests[status];
}

int HttpServer::Impl::OnInitConnection(const mg_connection* conn, void**) {
  if (Impl* impl = FromConnection(conn)) ++impl->connections_open;
  return 0;
}

// Runs on the worker, whose request frames have returned: their pages can go.
void HttpServer::Impl::OnConnectionClose(const mg_connection* conn) {
  if (Impl* impl = FromConnection(conn)) --impl->connections_open;
  http::ReleaseStackBelowCaller();
}

HttpStats HttpServer::Impl::Stats() const {
  HttpStats stats;
  stats.workers = options.threads;
  stats.connections_open = connections_open.load();
  stats.connections_in_use = connections_in_use.load();
  {
    const std::lock_guard<std::mutex> lock(requests_mutex);
    stats.requests = requests;
  }
  if (fd_reserve) {
    stats.fd_exhausted_total = fd_reserve->exhausted_total();
    stats.fd_reserve = fd_reserve->held();
  }
  return stats;
}

// At most one line every 10 s: the condition can last, the counter says how often.
void HttpServer::Impl::OnFdExhausted(uint64_t total) {
  const auto now = std::chrono::steady_clock::now();
  if (now - last_fd_log < std::chrono::seconds(10)) return;
  last_fd_log = now;
  log->error(
      "file descriptor table full (EMFILE, {} times so far): freed a spare descriptor for the "
      "HTTP listener; raise LimitNOFILE or reduce targets",
      total);
}

int HttpServer::Impl::OnCivetLog(const mg_connection* conn, const char* message) {
  Impl* impl = FromConnection(conn);
  if (impl == nullptr || message == nullptr) return 0;  // let civetweb print it
  try {
    impl->log->warn("civetweb: {}", message);
    const std::lock_guard<std::mutex> lock(impl->civet_error_mutex);
    if (impl->civet_error.empty()) impl->civet_error = message;  // the root cause comes first
  } catch (...) {
    return 0;
  }
  return 1;
}

void HttpServer::Impl::Start() {
  const std::string address = ToCivetPort(options.listen_address);
  const std::vector<std::string> civet_options = CivetOptions(address, options.threads);
  CivetCallbacks callbacks;
  callbacks.log_message = &Impl::OnCivetLog;
  callbacks.begin_request = &Impl::OnBeginRequest;
  callbacks.end_request = &Impl::OnEndRequest;
  callbacks.init_connection = &Impl::OnInitConnection;
  callbacks.connection_close = &Impl::OnConnectionClose;
  fd_reserve = std::make_unique<FdReserve>(kFdReserve, 100,
                                           [this](uint64_t total) { OnFdExhausted(total); });
  try {
    server = std::make_unique<CivetServer>(civet_options, &callbacks, this);
  } catch (const CivetException& e) {
    const std::lock_guard<std::mutex> lock(civet_error_mutex);
    throw std::runtime_error("cannot listen on " + options.listen_address + ": " +
                             (civet_error.empty() ? e.what() : civet_error));
  }
  server->addHandler("/", dispatcher);
  const std::vector<int> ports = server->getListeningPorts();
  port = ports.empty() ? 0 : ports.front();
  DeferAccept(port, kDeferAcceptSeconds);
}

HttpServer::HttpServer(const HttpOptions& options, const SnapshotStore& store,
                       std::shared_ptr<spdlog::logger> log)
    : impl_(std::make_unique<Impl>(options, store, std::move(log))) {
  impl_->Start();
  impl_->log->info("listening on {} (port {})", options.listen_address, impl_->port);
}

HttpServer::~HttpServer() {
  try {
    if (impl_ && impl_->server) impl_->server->close();
  } catch (...) {
    // Destructors must not throw; the process is going away anyway.
  }
}

int HttpServer::port() const { return impl_->port; }

void HttpServer::SetBasicAuthUsers(const std::map<std::string, std::string>& users) {
  impl_->SetAuth(users);
}

}  // namespace pgconn
