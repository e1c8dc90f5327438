// /probe and basic auth through the real civetweb server, with a hand-made snapshot.
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "pgconn/basic_auth.h"
#include "pgconn/http_server.h"
#include "pgconn/snapshot.h"
#include "support/http_client.h"
#include "support/web_auth.h"

namespace pgconn {
namespace {

using testing::BasicAuthHeader;
using testing::HttpGet;

// One server for the suite (civetweb needs up to 2 s to stop), with basic auth on.
class ProbeHttpTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto snapshot = std::make_shared<Snapshot>();
    snapshot->text = LazyText("all 1\n");
    snapshot->target_text.Set("a", "pgconn_up{target=\"a\"} 1\n");
    snapshot->target_text.Set("b c", "pgconn_up{target=\"b c\"} 0\n");
    store_ = std::make_unique<SnapshotStore>();
    store_->Publish(snapshot);
    HttpOptions options;
    options.listen_address = "127.0.0.1:0";
    options.threads = 2;
    options.basic_auth_users = {{"prometheus", testing::BcryptHash("right")}};
    server_ = std::make_unique<HttpServer>(options, *store_, nullptr);
  }
  static void TearDownTestSuite() {
    server_.reset();
    store_.reset();
  }
  static testing::HttpResponse Get(const std::string& path,
                                   const std::map<std::string, std::string>& headers) {
    return HttpGet("127.0.0.1", server_->port(), path, headers);
  }
  static testing::HttpResponse GetAuthorized(const std::string& path) {
    return Get(path, BasicAuthHeader("prometheus", "right"));
  }

  static inline std::unique_ptr<SnapshotStore> store_;
  static inline std::unique_ptr<HttpServer> server_;
};

TEST_F(ProbeHttpTest, ServesOnlyTheNamedTarget) {
  const auto a = GetAuthorized("/probe?target=a");
  EXPECT_EQ(a.status, 200);
  EXPECT_EQ(a.body, "pgconn_up{target=\"a\"} 1\n");
  EXPECT_EQ(a.Header("Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_EQ(GetAuthorized("/probe?target=b%20c").body, "pgconn_up{target=\"b c\"} 0\n");
}

TEST_F(ProbeHttpTest, UnknownOrMissingTargetIsAnError) {
  EXPECT_EQ(GetAuthorized("/probe?target=zz").status, 404);
  EXPECT_EQ(GetAuthorized("/probe").status, 400);
  EXPECT_EQ(GetAuthorized("/probe?target=").status, 400);
  EXPECT_EQ(GetAuthorized("/probe/a").status, 404);
}

TEST_F(ProbeHttpTest, BasicAuthGuardsEverythingButHealthz) {
  const auto refused = Get("/metrics", {});
  EXPECT_EQ(refused.status, 401);
  EXPECT_EQ(refused.Header("WWW-Authenticate"), kBasicAuthChallenge);
  EXPECT_EQ(Get("/probe?target=a", {}).status, 401);
  EXPECT_EQ(Get("/", {}).status, 401);
  EXPECT_EQ(Get("/metrics", BasicAuthHeader("prometheus", "wrong")).status, 401);
  EXPECT_EQ(Get("/metrics", BasicAuthHeader("other", "right")).status, 401);
  EXPECT_EQ(Get("/healthz", {}).status, 200);
  const auto metrics = GetAuthorized("/metrics");
  EXPECT_EQ(metrics.status, 200);
  EXPECT_EQ(metrics.body.substr(0, metrics.body.find("# HELP pgconn_http_")), "all 1\n");
}

}  // namespace
}  // namespace pgconn
