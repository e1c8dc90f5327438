#include "pgconn/http_server.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "pgconn/render.h"
#include "support/inflate.h"

namespace pgconn {
namespace {

struct Response {
  int status = 0;
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;

  std::string Header(const std::string& lower_name) const {
    const auto it = headers.find(lower_name);
    return it == headers.end() ? "" : it->second;
  }
};

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

// A deliberately tiny HTTP/1.1 client: one socket, raw bytes out, Content-Length framed in.
class RawClient {
 public:
  explicit RawClient(int port) : fd_(socket(AF_INET, SOCK_STREAM, 0)) {
    if (fd_ < 0) throw std::runtime_error("socket failed");
    timeval timeout{5, 0};  // a hung server fails the test instead of hanging it
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<uint16_t>(port));
    inet_pton(AF_INET, "127.0.0.1", &address.sin_addr);
    if (connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
      close(fd_);
      throw std::runtime_error("connect failed");
    }
  }
  ~RawClient() { close(fd_); }
  RawClient(const RawClient&) = delete;
  RawClient& operator=(const RawClient&) = delete;

  void Send(const std::string& bytes) {
    // Errors are ignored: the server may close early on a hostile request.
    send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
  }

  // Reads one response; `head` means no body follows despite Content-Length.
  Response Read(bool head = false) {
    const size_t end = FillUntil("\r\n\r\n");
    if (end == std::string::npos) throw std::runtime_error("no response head: " + buffer_);
    Response response = ParseHead(buffer_.substr(0, end));
    buffer_.erase(0, end + 4);
    const size_t length = head ? 0 : std::stoul(response.headers.at("content-length"));
    while (buffer_.size() < length && Receive()) {
    }
    if (buffer_.size() < length) throw std::runtime_error("short body");
    response.body = buffer_.substr(0, length);
    buffer_.erase(0, length);
    return response;
  }

  // Everything until the server closes (or the timeout).
  std::string ReadAll() {
    while (Receive()) {
    }
    return buffer_;
  }

 private:
  bool Receive() {
    char chunk[4096];
    const ssize_t n = recv(fd_, chunk, sizeof chunk, 0);
    if (n <= 0) return false;
    buffer_.append(chunk, static_cast<size_t>(n));
    return true;
  }

  size_t FillUntil(const std::string& marker) {
    size_t found = buffer_.find(marker);
    while (found == std::string::npos && Receive()) found = buffer_.find(marker);
    return found;
  }

  static Response ParseHead(const std::string& head) {
    Response response;
    size_t line_end = head.find("\r\n");
    response.status = std::stoi(head.substr(head.find(' ') + 1, 3));
    while (line_end != std::string::npos) {
      const size_t start = line_end + 2;
      line_end = head.find("\r\n", start);
      const std::string line = head.substr(start, line_end - start);
      const size_t colon = line.find(':');
      if (colon == std::string::npos) continue;
      const size_t value = line.find_first_not_of(' ', colon + 1);
      response.headers[Lower(line.substr(0, colon))] =
          value == std::string::npos ? "" : line.substr(value);
    }
    return response;
  }

  int fd_;
  std::string buffer_;
};

Response Request(int port, const std::string& method, const std::string& target,
                 const std::string& extra_headers = "") {
  RawClient client(port);
  client.Send(method + " " + target + " HTTP/1.1\r\nHost: test\r\n" + extra_headers +
              "Connection: close\r\n\r\n");
  return client.Read(method == "HEAD");
}

Response Get(int port, const std::string& target, const std::string& extra_headers = "") {
  return Request(port, "GET", target, extra_headers);
}

// /metrics without the HTTP self-metrics the server appends (pgconn_http_*).
std::string Exposition(const std::string& body) {
  return body.substr(0, body.find("# HELP pgconn_http_workers"));
}

std::string Gunzip(const std::string& compressed) {
  size_t left = 0;
  const std::string text = testing::InflateFirstMember(compressed, &left);
  return left == 0 ? text : "more than one gzip member";
}

std::shared_ptr<const Snapshot> MakeSnapshot(const std::string& text) {
  auto snapshot = std::make_shared<Snapshot>();
  snapshot->text = LazyText(text);
  snapshot->text_gzip = StartGzip(text);
  TargetSummary target;
  target.name = "main";
  target.up = true;
  snapshot->targets.push_back(target);
  return snapshot;
}

constexpr const char* kExpositionType = "text/plain; version=0.0.4; charset=utf-8";

// One server for the suite: civetweb needs up to 2 s (its poll quantum) to stop.
class HttpServerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    store_ = std::make_unique<SnapshotStore>();
    HttpOptions options;
    options.listen_address = "127.0.0.1:0";
    options.version = "9.9.9";
    options.threads = 2;
    server_ =
        std::make_unique<HttpServer>(options, *store_, std::make_shared<spdlog::logger>("test"));
  }
  static void TearDownTestSuite() {
    server_.reset();
    store_.reset();
  }
  void SetUp() override {
    store_->Publish(MakeSnapshot("# TYPE pgconn_up gauge\npgconn_up{target=\"main\"} 1\n"));
    port_ = server_->port();
  }

  static inline std::unique_ptr<SnapshotStore> store_;
  static inline std::unique_ptr<HttpServer> server_;
  int port_ = 0;
};

TEST_F(HttpServerTest, PortZeroBindsARealPort) {
  EXPECT_GT(port_, 0);
  EXPECT_LE(port_, 65535);
}

TEST_F(HttpServerTest, MetricsPathServesTheSnapshot) {
  const Response response = Get(port_, "/metrics");
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.Header("content-type"), kExpositionType);
  EXPECT_EQ(Exposition(response.body), store_->Current()->text.Get());
  EXPECT_EQ(response.Header("content-length"), std::to_string(response.body.size()));
  EXPECT_EQ(response.headers.count("content-encoding"), 0u);
}

TEST_F(HttpServerTest, QueryStringIsIgnoredForRouting) {
  EXPECT_EQ(Get(port_, "/metrics?foo=bar").status, 200);
  EXPECT_EQ(Get(port_, "/healthz?x").status, 200);
}

TEST_F(HttpServerTest, GzipWhenAsked) {
  const Response response = Get(port_, "/metrics", "Accept-Encoding: deflate, gzip\r\n");
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.Header("content-encoding"), "gzip");
  EXPECT_EQ(response.Header("vary"), "Accept-Encoding");
  EXPECT_EQ(response.Header("content-type"), kExpositionType);
  EXPECT_EQ(Exposition(Gunzip(response.body)), store_->Current()->text.Get());
}

// The HTTP self-metrics follow the snapshot: plain text, and inside the same single gzip
// member (curl --compressed and zlib's single-member inflate stop after the first).
TEST_F(HttpServerTest, AppendsHttpSelfMetricsInBothEncodings) {
  Get(port_, "/nope");
  const Response plain = Get(port_, "/metrics");
  EXPECT_NE(plain.body.find("pgconn_http_requests_total{code=\"404\"} 1"), std::string::npos)
      << plain.body;
  const std::string gz = Gunzip(Get(port_, "/metrics", "Accept-Encoding: gzip\r\n").body);
  EXPECT_EQ(Exposition(gz), store_->Current()->text.Get());
  EXPECT_NE(gz.find("pgconn_http_requests_total{code=\"404\"} 1"), std::string::npos) << gz;
  EXPECT_NE(gz.find("pgconn_http_workers"), std::string::npos) << gz;
}

TEST_F(HttpServerTest, NoGzipWhenRefused) {
  const Response response = Get(port_, "/metrics", "Accept-Encoding: gzip;q=0, identity\r\n");
  EXPECT_EQ(response.headers.count("content-encoding"), 0u);
  EXPECT_EQ(Exposition(response.body), store_->Current()->text.Get());
}

TEST_F(HttpServerTest, HeadHasLengthButNoBody) {
  RawClient client(port_);
  client.Send("HEAD /metrics HTTP/1.1\r\nHost: t\r\n\r\nGET /healthz HTTP/1.1\r\nHost: t\r\n\r\n");
  const Response head = client.Read(/*head=*/true);
  EXPECT_EQ(head.status, 200);
  // The snapshot plus the HTTP self-metrics appended to it.
  EXPECT_GT(std::stoul(head.Header("content-length")), store_->Current()->text.Get().size());
  // The next response on the same connection starts right where the head ended.
  const Response next = client.Read();
  EXPECT_EQ(next.status, 200);
  EXPECT_EQ(next.body, "ok\n");
}

TEST_F(HttpServerTest, PrefixesAndOtherPathsAre404) {
  for (const char* path : {"/metricsX", "/metrics/", "/favicon.ico", "/healthz/x", "/metric"}) {
    const Response response = Get(port_, path);
    EXPECT_EQ(response.status, 404) << path;
    EXPECT_EQ(response.body, "not found\n") << path;
    EXPECT_EQ(response.Header("content-type"), "text/plain; charset=utf-8") << path;
  }
}

TEST_F(HttpServerTest, RootIsTheLandingPage) {
  const Response response = Get(port_, "/");
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.Header("content-type"), "text/html; charset=utf-8");
  EXPECT_NE(response.body.find("<title>pgconn_exporter</title>"), std::string::npos);
  EXPECT_NE(response.body.find("9.9.9"), std::string::npos);
  EXPECT_NE(response.body.find("<td>main</td>"), std::string::npos);
}

TEST_F(HttpServerTest, Healthz) {
  const Response response = Get(port_, "/healthz");
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.Header("content-type"), "text/plain; charset=utf-8");
  EXPECT_EQ(response.body, "ok\n");
}

TEST_F(HttpServerTest, OtherMethodsAre405) {
  for (const char* method : {"POST", "PUT", "DELETE", "PATCH"}) {
    const Response response = Request(port_, method, "/metrics", "Content-Length: 0\r\n");
    EXPECT_EQ(response.status, 405) << method;
    EXPECT_EQ(response.Header("allow"), "GET, HEAD, OPTIONS") << method;
  }
  const Response options = Request(port_, "OPTIONS", "/metrics", "");
  EXPECT_EQ(options.status, 204);
  EXPECT_EQ(options.Header("allow"), "GET, HEAD, OPTIONS");
}

TEST_F(HttpServerTest, PostWithBodyDoesNotConfuseKeepAlive) {
  RawClient client(port_);
  client.Send(
      "POST /metrics HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello"
      "GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n");
  EXPECT_EQ(client.Read().status, 405);
  const Response next = client.Read();
  EXPECT_EQ(next.status, 200);
  EXPECT_EQ(next.body, "ok\n");
}

TEST_F(HttpServerTest, KeepAliveServesSeveralRequests) {
  RawClient client(port_);
  for (int i = 0; i < 3; ++i) {
    client.Send("GET /metrics HTTP/1.1\r\nHost: t\r\n\r\n");
    const Response response = client.Read();
    EXPECT_EQ(response.status, 200);
    EXPECT_EQ(Exposition(response.body), store_->Current()->text.Get());
  }
}

TEST_F(HttpServerTest, SurvivesGarbageRequestLine) {
  RawClient client(port_);
  client.Send("\x01\x02 garbage \xff\r\n\r\n");
  client.ReadAll();  // whatever civetweb answers, it must not take the server down
  EXPECT_EQ(Get(port_, "/healthz").status, 200);
}

TEST_F(HttpServerTest, SurvivesOversizedHeader) {
  RawClient client(port_);
  client.Send("GET /metrics HTTP/1.1\r\nHost: t\r\nX-Big: " + std::string(64 * 1024, 'a') +
              "\r\n\r\n");
  const std::string answer = client.ReadAll();
  EXPECT_EQ(answer.find("pgconn_up"), std::string::npos);
  EXPECT_EQ(Get(port_, "/metrics").status, 200);
}

TEST_F(HttpServerTest, SurvivesClientThatHangsUpMidRequest) {
  {
    RawClient client(port_);
    client.Send("GET /metr");
  }
  EXPECT_EQ(Get(port_, "/healthz").status, 200);
}

TEST_F(HttpServerTest, PublishingANewSnapshotChangesTheNextResponse) {
  store_->Publish(MakeSnapshot("pgconn_up{target=\"main\"} 0\n"));
  EXPECT_EQ(Exposition(Get(port_, "/metrics").body), "pgconn_up{target=\"main\"} 0\n");
  EXPECT_EQ(Exposition(Gunzip(Get(port_, "/metrics", "Accept-Encoding: gzip\r\n").body)),
            "pgconn_up{target=\"main\"} 0\n");
}

TEST_F(HttpServerTest, ConcurrentScrapesSeeWholeSnapshotsWhilePublishing) {
  store_->Publish(MakeSnapshot("pgconn_generation 0\n"));  // before any scraper starts
  std::atomic<bool> done{false};
  std::thread publisher([&done] {
    for (int i = 0; !done; ++i) {
      store_->Publish(MakeSnapshot("pgconn_generation " + std::to_string(i % 7) + "\n"));
    }
  });
  std::atomic<int> bad{0};
  std::vector<std::thread> scrapers;
  for (int t = 0; t < 4; ++t) {
    scrapers.emplace_back([this, &bad] {
      for (int i = 0; i < 25; ++i) {
        const Response response = Get(port_, "/metrics", "Accept-Encoding: gzip\r\n");
        const std::string text = Gunzip(response.body);
        if (response.status != 200 || text.rfind("pgconn_generation ", 0) != 0) {
          ADD_FAILURE() << response.status << " " << text;
          ++bad;
        }
      }
    });
  }
  for (auto& scraper : scrapers) scraper.join();
  done = true;
  publisher.join();
  EXPECT_EQ(bad, 0);
}

TEST_F(HttpServerTest, EmptySnapshotIsServedWithoutGzip) {
  store_->Publish(std::make_shared<const Snapshot>());
  const Response response = Get(port_, "/metrics", "Accept-Encoding: gzip\r\n");
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.headers.count("content-encoding"), 0u);
  EXPECT_EQ(Exposition(response.body), "");
}

TEST_F(HttpServerTest, BusyPortThrowsWithTheAddress) {
  HttpOptions options;
  options.listen_address = "127.0.0.1:" + std::to_string(port_);
  try {
    HttpServer second(options, *store_, std::make_shared<spdlog::logger>("test"));
    FAIL() << "binding a busy port succeeded";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("cannot listen on " + options.listen_address + ": "),
              std::string::npos)
        << e.what();
  }
}

TEST(HttpServerAddressTest, RejectsAddressesCivetwebWouldMisread) {
  SnapshotStore store;
  auto log = std::make_shared<spdlog::logger>("test");
  for (const char* address : {"127.0.0.1:10432s", "127.0.0.1:1,127.0.0.1:2", "localhost:1",
                              "127.0.0.1", "127.0.0.1:99999", "[::1]:1"}) {
    HttpOptions options;
    options.listen_address = address;
    EXPECT_THROW({ HttpServer server(options, store, log); }, std::runtime_error) << address;
  }
}

TEST(HttpServerAddressTest, CustomTelemetryPath) {
  SnapshotStore store;
  store.Publish(MakeSnapshot("x 1\n"));
  HttpOptions options;
  options.listen_address = "127.0.0.1:0";
  options.telemetry_path = "/custom/metrics";
  HttpServer server(options, store, std::make_shared<spdlog::logger>("test"));
  EXPECT_EQ(Exposition(Get(server.port(), "/custom/metrics").body), "x 1\n");
  EXPECT_EQ(Get(server.port(), "/metrics").status, 404);
}

}  // namespace
}  // namespace pgconn
