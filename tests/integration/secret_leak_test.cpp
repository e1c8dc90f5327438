// Issue 13 item 3: one test that greps every output for the secret. Outputs: --check-config,
// --once, plan (text and JSON), and a running exporter's /metrics, /probe, / and its log at
// debug level in both log formats. Inputs: a password file with each control character, a DSN
// with a password, a URL with a password, a wrong password, an unreachable host.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "support/scenario.h"

namespace pgconn::testing {
namespace {

// A TOML basic string.
std::string TomlString(const std::string& text) {
  std::string out = "\"";
  for (const char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char escaped[8];
      std::snprintf(escaped, sizeof escaped, "\\u%04x", c);
      out += escaped;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

struct LeakCase {
  std::string name;
  std::string secret;  // must appear nowhere
  std::string target_toml;
  std::map<std::string, std::string> env;
  bool serve = false;  // also run the server (only for configs that load)
};

std::string TargetWith(const std::string& dsn, const std::string& password_line) {
  return "\n[[target]]\nname = \"main\"\ndsn = " + TomlString(dsn) + "\n" + password_line +
         "connect_timeout = \"2s\"\nquery_timeout = \"2s\"\n";
}

// Every output of one case, labelled, for the grep and for the failure message.
std::vector<std::pair<std::string, std::string>> Outputs(const LeakCase& c,
                                                         const std::string& dir) {
  std::vector<std::pair<std::string, std::string>> outputs;
  const std::string config = ExporterToml("300ms") + c.target_toml;
  const std::string path = dir + "/" + c.name + ".toml";
  std::ofstream(path) << config;
  const auto add = [&](const std::string& label, const ProcessResult& r) {
    outputs.emplace_back(label, r.out + r.err);
  };
  add("--check-config", RunCheckConfigFile(path, c.env));
  add("--once", RunExporter({"--config.file=" + path, "--once"}, c.env));
  add("plan", RunExporter({"plan", "--config.file=" + path}, c.env));
  add("plan json", RunExporter({"plan", "--config.file=" + path, "--format=json"}, c.env));
  if (!c.serve) return outputs;
  for (const std::string format : {"text", "json"}) {
    ExporterOptions options;
    options.env = c.env;
    ExporterProcess exporter(
        ExporterToml("300ms", "log_format = \"" + format + "\"") + c.target_toml, options);
    Metrics m;
    exporter.ScrapeUntil(
        [](const Metrics& s) {
          return Value(s, "pgconn_poll_errors_total", Main({{"reason", "other"}})).has_value();
        },
        5s, &m);
    std::this_thread::sleep_for(1s);  // a few failed polls and their log lines
    outputs.emplace_back(format + " /metrics", exporter.Get("/metrics").body);
    outputs.emplace_back(format + " /probe", exporter.Get("/probe?target=main").body);
    outputs.emplace_back(format + " /", exporter.Get("/").body);
    outputs.emplace_back(format + " log", exporter.Log());
  }
  return outputs;
}

TEST(HostileSecretsTest, NoOutputEverShowsTheSecret) {
  TestPostgres pg;
  TempDir dir("pgconn-leak-");
  std::vector<LeakCase> cases;
  for (int byte = 0; byte < 32; ++byte) {
    LeakCase c;
    c.name = "control" + std::to_string(byte);
    c.secret = "Part2-Secret" + std::to_string(byte);
    const std::string password = "Pre" + std::string(1, static_cast<char>(byte)) + c.secret;
    const std::string file = dir.File(c.name + ".pw");
    std::ofstream(file, std::ios::binary) << password;
    c.target_toml = TargetWith(pg.Dsn(), "password_file = " + TomlString(file) + "\n");
    c.serve = byte == '\r' || byte == '\f' || byte == '\v';
    cases.push_back(c);
  }
  cases.push_back(
      {"dsn", "DsnPass-Secret", TargetWith(pg.Dsn() + " password=DsnPass-Secret", ""), {}, false});
  cases.push_back({"dsn-unquoted",
                   "Unquoted-Secret",
                   TargetWith(pg.Dsn() + " password=a Unquoted-Secret", ""),
                   {},
                   false});
  cases.push_back({"url",
                   "UrlPass-Secret",
                   TargetWith("postgresql://pgconn_exporter:UrlPass-Secret@127.0.0.1:" +
                                  std::to_string(pg.port()) + "/postgres",
                              ""),
                   {},
                   false});
  cases.push_back({"wrong",
                   "WrongPass-Secret",
                   TargetWith(pg.Dsn(), "password_env = \"LEAK_PW\"\n"),
                   {{"LEAK_PW", "WrongPass-Secret"}},
                   true});
  cases.push_back({"unreachable",
                   "Unreach-Secret",
                   TargetWith(DeadDsn(), "password_env = \"LEAK_PW\"\n"),
                   {{"LEAK_PW", "Unreach-Secret"}},
                   true});
  for (const LeakCase& c : cases) {
    for (const auto& [label, text] : Outputs(c, dir.path())) {
      EXPECT_EQ(text.find(c.secret), std::string::npos) << c.name << " leaks in " << label << ":\n"
                                                        << Tail(text, 2000);
    }
  }
}

}  // namespace
}  // namespace pgconn::testing
