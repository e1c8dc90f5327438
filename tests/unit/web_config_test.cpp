#include "pgconn/web_config.h"

#include <gtest/gtest.h>

#include <string>

namespace pgconn {
namespace {

const std::string kHash = "$2y$10$A3FnDbCoDINu0ONlmNJ3f.GPsyIUR/wrLTPz7vWeAQfif7yEIJgye";

std::string ErrorOf(const std::string& yaml) {
  try {
    ParseWebConfig(yaml, "web.yml");
  } catch (const WebConfigError& error) {
    return error.what();
  }
  return "";
}

TEST(WebConfigTest, ReadsBasicAuthUsers) {
  const WebConfig config = ParseWebConfig(
      "# comment\nbasic_auth_users:\n  prometheus: " + kHash + "\n  \"alice\": '" + kHash + "'\n",
      "web.yml");
  EXPECT_EQ(config.source_path, "web.yml");
  EXPECT_TRUE(config.auth_enabled());
  ASSERT_EQ(config.basic_auth_users.size(), 2u);
  EXPECT_EQ(config.basic_auth_users.at("prometheus"), kHash);
  EXPECT_EQ(config.basic_auth_users.at("alice"), kHash);
}

TEST(WebConfigTest, AnEmptyFileOrNoUsersMeansNoAuthentication) {
  EXPECT_FALSE(ParseWebConfig("", "web.yml").auth_enabled());
  EXPECT_FALSE(ParseWebConfig("# nothing\n", "web.yml").auth_enabled());
  EXPECT_FALSE(ParseWebConfig("basic_auth_users:\n", "web.yml").auth_enabled());
}

TEST(WebConfigTest, RefusesTlsWithThePointerToAProxy) {
  const std::string error =
      ErrorOf("basic_auth_users:\n  u: " + kHash +
              "\ntls_server_config:\n  cert_file: a.crt\n  key_file: a.key\n");
  EXPECT_EQ(error.rfind("web.yml:3:1: tls_server_config: TLS is not supported", 0), 0u) << error;
  EXPECT_NE(error.find("proxy"), std::string::npos) << error;
  EXPECT_NE(error.find("docs/deploy.md"), std::string::npos) << error;
}

TEST(WebConfigTest, RefusesHttpServerConfigAndUnknownKeys) {
  EXPECT_EQ(
      ErrorOf("http_server_config:\n  http2: false\n").rfind("web.yml:1:1: http_server_config", 0),
      0u);
  EXPECT_EQ(ErrorOf("basic_auth_user:\n  u: " + kHash + "\n"),
            "web.yml:1:1: unknown key 'basic_auth_user' (pgconn_exporter reads basic_auth_users)");
}

TEST(WebConfigTest, RefusesAHashThatIsNotBcryptWithoutEchoingIt) {
  const std::string error = ErrorOf("basic_auth_users:\n  u: plaintext-secret\n");
  EXPECT_EQ(error.rfind("web.yml:2:6: basic_auth_users: the hash of user 'u' is not a bcrypt", 0),
            0u)
      << error;
  EXPECT_EQ(error.find("plaintext-secret"), std::string::npos) << error;
  EXPECT_NE(ErrorOf("basic_auth_users:\n  u: [a, b]\n"), "");
}

TEST(WebConfigTest, RefusesBadUsersAndShapes) {
  EXPECT_EQ(ErrorOf("basic_auth_users:\n  u: " + kHash + "\n  u: " + kHash + "\n"),
            "web.yml:3:3: basic_auth_users: duplicate user 'u'");
  EXPECT_NE(ErrorOf("basic_auth_users:\n  \"a:b\": " + kHash + "\n").find("contains ':'"),
            std::string::npos);
  EXPECT_NE(ErrorOf("basic_auth_users:\n  \"\": " + kHash + "\n").find("empty user name"),
            std::string::npos);
  EXPECT_EQ(ErrorOf("basic_auth_users: [u]\n"),
            "web.yml:1:19: basic_auth_users: expected a mapping of user: hash");
  EXPECT_EQ(ErrorOf("- a\n- b\n"), "web.yml:1:1: expected a mapping of settings at the top level");
}

TEST(WebConfigTest, ReportsYamlSyntaxErrorsWithTheirLine) {
  const std::string error = ErrorOf("basic_auth_users:\n  u: \"unterminated\n");
  EXPECT_EQ(error.rfind("web.yml:", 0), 0u) << error;
  EXPECT_NE(error.find(":2:"), std::string::npos) << error;
}

TEST(WebConfigTest, ChecksBcryptHashShape) {
  EXPECT_TRUE(IsBcryptHash(kHash));
  EXPECT_TRUE(IsBcryptHash("$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW"));
  EXPECT_FALSE(IsBcryptHash("$2x$10$A3FnDbCoDINu0ONlmNJ3f.GPsyIUR/wrLTPz7vWeAQfif7yEIJgye"));
  EXPECT_FALSE(IsBcryptHash("$2y$03$A3FnDbCoDINu0ONlmNJ3f.GPsyIUR/wrLTPz7vWeAQfif7yEIJgye"));
  EXPECT_FALSE(IsBcryptHash("$2y$10$A3FnDbCoDINu0ONlmNJ3f.GPsyIUR/wrLTPz7vWeAQfif7yEIJgy"));
  EXPECT_FALSE(IsBcryptHash("$2y$10$A3FnDbCoDINu0ONlmNJ3f.GPsyIUR/wrLTPz7vWeAQfif7yEIJgy!"));
  EXPECT_FALSE(IsBcryptHash("$6$salt$hash"));
}

TEST(WebConfigTest, TheShippedExampleLoads) {
  const WebConfig config =
      LoadWebConfigFile(std::string(PGCONN_SOURCE_DIR) + "/config/web-config.example.yml");
  EXPECT_EQ(config.basic_auth_users.count("prometheus"), 1u);
}

TEST(WebConfigTest, AMissingFileIsAnError) {
  try {
    LoadWebConfigFile("/nonexistent/web.yml");
    FAIL() << "no error";
  } catch (const WebConfigError& error) {
    EXPECT_EQ(std::string(error.what()).rfind("/nonexistent/web.yml: cannot read: ", 0), 0u);
  }
}

}  // namespace
}  // namespace pgconn
