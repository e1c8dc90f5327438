#include "pgconn/basic_auth.h"

#include <gtest/gtest.h>

#include <string>

#include "../../src/http/router.h"
#include "support/web_auth.h"

namespace pgconn {
namespace {

using testing::BasicAuthHeader;
using testing::BcryptHash;

std::string Header(const std::string& user, const std::string& password) {
  return BasicAuthHeader(user, password).at("Authorization");
}

TEST(BasicAuthTest, BcryptMatchesAKnownVector) {
  const std::string hash = "$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW";
  EXPECT_TRUE(BcryptMatches("U*U", hash));
  EXPECT_FALSE(BcryptMatches("U*V", hash));
  EXPECT_FALSE(BcryptMatches("", hash));
}

TEST(BasicAuthTest, BcryptMatchesHashesOfEveryPrefixVariant) {
  // htpasswd writes $2y$; Python's bcrypt $2b$; older tools $2a$.
  EXPECT_TRUE(
      BcryptMatches("change-me", "$2y$10$A3FnDbCoDINu0ONlmNJ3f.GPsyIUR/wrLTPz7vWeAQfif7yEIJgye"));
  const std::string hash = BcryptHash("s3cret: with colon");
  EXPECT_TRUE(BcryptMatches("s3cret: with colon", hash));
  EXPECT_FALSE(BcryptMatches("s3cret: with colon ", hash));
}

TEST(BasicAuthTest, BcryptRejectsGarbageHashes) {
  EXPECT_FALSE(BcryptMatches("x", ""));
  EXPECT_FALSE(BcryptMatches("x", "not-a-hash"));
  EXPECT_FALSE(BcryptMatches(std::string("a\0b", 3), BcryptHash("a")));
}

TEST(BasicAuthTest, ParsesTheAuthorizationHeader) {
  const auto credentials = ParseBasicAuthorization(Header("prometheus", "pa:ss"));
  ASSERT_TRUE(credentials.has_value());
  EXPECT_EQ(credentials->user, "prometheus");
  EXPECT_EQ(credentials->password, "pa:ss");  // only the first ':' separates
  const auto lower = ParseBasicAuthorization("basic dTpw");
  ASSERT_TRUE(lower.has_value());
  EXPECT_EQ(lower->user, "u");
  EXPECT_EQ(lower->password, "p");
}

TEST(BasicAuthTest, RejectsMalformedHeaders) {
  for (const char* header :
       {"", "Basic", "Basic ", "Bearer dTpw", "Basic dTpw!", "Basic dQ==", "Basic d"}) {
    EXPECT_FALSE(ParseBasicAuthorization(header).has_value()) << header;
  }
}

TEST(BasicAuthTest, AuthenticatorAllowsOnlyTheRightPassword) {
  const BasicAuthenticator auth({{"prometheus", BcryptHash("right")}, {"other", BcryptHash("x")}});
  EXPECT_TRUE(auth.Allows(Header("prometheus", "right")));
  EXPECT_FALSE(auth.Allows(Header("prometheus", "wrong")));
  EXPECT_FALSE(auth.Allows(Header("prometheus", "x")));  // another user's password
  EXPECT_FALSE(auth.Allows(Header("nobody", "right")));
  EXPECT_FALSE(auth.Allows(""));
}

TEST(BasicAuthTest, RouterChallengesEveryPathButTheOpenOnes) {
  http::Router router;
  router.Add("/metrics", [](const http::HttpRequest&) {
    return http::MakeResponse(200, http::kTextPlain, "m");
  });
  router.Add("/healthz", [](const http::HttpRequest&) {
    return http::MakeResponse(200, http::kTextPlain, "ok");
  });
  const BasicAuthenticator auth({{"u", BcryptHash("p")}});
  router.RequireAuth([&auth](std::string_view header) { return auth.Allows(header); },
                     {"/healthz"});
  http::HttpRequest request{"GET", "/metrics", "", "", ""};
  const http::HttpResponse refused = router.Handle(request);
  EXPECT_EQ(refused.status, 401);
  ASSERT_EQ(refused.headers.size(), 1u);
  EXPECT_EQ(refused.headers[0].first, "WWW-Authenticate");
  EXPECT_EQ(refused.headers[0].second, kBasicAuthChallenge);
  request.path = "/nope";
  EXPECT_EQ(router.Handle(request).status, 401);  // no path discovery without credentials
  request.authorization = Header("u", "p");
  EXPECT_EQ(router.Handle(request).status, 404);
  request.path = "/metrics";
  EXPECT_EQ(*router.Handle(request).body, "m");
  EXPECT_EQ(router.Handle({"GET", "/healthz", "", "", ""}).status, 200);
}

TEST(BasicAuthTest, QueryParameterDecodes) {
  EXPECT_EQ(http::QueryParameter("target=main", "target"), "main");
  EXPECT_EQ(http::QueryParameter("a=1&target=x%2Dy+z&target=second", "target"), "x-y z");
  EXPECT_EQ(http::QueryParameter("target=", "target"), "");
  EXPECT_EQ(http::QueryParameter("targets=a", "target"), std::nullopt);
  EXPECT_EQ(http::QueryParameter("target=%zz", "target"), std::nullopt);
  EXPECT_EQ(http::QueryParameter("target=%4", "target"), std::nullopt);
  EXPECT_EQ(http::QueryParameter("", "target"), std::nullopt);
}

}  // namespace
}  // namespace pgconn
