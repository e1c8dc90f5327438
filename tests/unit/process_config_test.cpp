// [exporter] procfs and [[process]]: what loads, and file:line:column errors for what does not.
#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <vector>

#include "pgconn/config.h"
#include "support/process.h"

namespace pgconn {
namespace {

const std::string kTarget =
    "[[target]]\nname = \"main\"\ndsn = \"host=127.0.0.1 dbname=postgres user=x\"\n";

Config Parse(const std::string& text) { return ParseConfig(text, "/etc/pgconn/c.toml"); }

std::string ErrorOf(const std::string& text) {
  try {
    Parse(text);
  } catch (const ConfigError& error) {
    return error.what();
  }
  return "";
}

TEST(ProcessConfigTest, ProcfsDefaultsToProcAndRelativePathsFollowTheConfigFile) {
  EXPECT_EQ(Parse(kTarget).exporter.procfs, "/proc");
  EXPECT_EQ(Parse("[exporter]\nprocfs = \"/host/proc\"\n" + kTarget).exporter.procfs, "/host/proc");
  EXPECT_EQ(Parse("[exporter]\nprocfs = \"fixtures/proc\"\n" + kTarget).exporter.procfs,
            "/etc/pgconn/fixtures/proc");
  EXPECT_EQ(ErrorOf("[exporter]\nprocfs = \"\"\n" + kTarget),
            "/etc/pgconn/c.toml:2:10: procfs: must not be empty");
  EXPECT_TRUE(Parse(kTarget).processes.empty());
}

TEST(ProcessConfigTest, EveryWayToFindProcesses) {
  const Config config = Parse(kTarget +
                              "[[process]]\nname = \"web\"\nexe = \"node\"\n"
                              "[[process]]\nname = \"api\"\ncmdline = 'gunicorn .*api:app'\n"
                              "[[process]]\nname = \"worker\"\npid_file = \"run/worker.pid\"\n"
                              "[[process]]\nname = \"pg\"\npostgres_data_dir = \"/srv/pg\"\n"
                              "target = \"main\"\n"
                              "[[process]]\nname = \"pg2\"\n"
                              "postmaster_pid_file = \"/srv/pg2/postmaster.pid\"\n");
  ASSERT_EQ(config.processes.size(), 5u);
  EXPECT_EQ(config.processes[0].name, "web");
  EXPECT_EQ(config.processes[0].match, ProcessMatch::kExe);
  EXPECT_EQ(config.processes[0].value, "node");
  EXPECT_EQ(config.processes[1].match, ProcessMatch::kCmdline);
  EXPECT_EQ(config.processes[1].value, "gunicorn .*api:app");
  EXPECT_EQ(config.processes[2].match, ProcessMatch::kPidFile);
  EXPECT_EQ(config.processes[2].value, "/etc/pgconn/run/worker.pid");
  EXPECT_EQ(config.processes[3].match, ProcessMatch::kPostgresDataDir);
  EXPECT_EQ(config.processes[3].target, "main");
  EXPECT_EQ(config.processes[4].match, ProcessMatch::kPostmasterPidFile);
  EXPECT_EQ(config.processes[4].value, "/srv/pg2/postmaster.pid");
  EXPECT_EQ(config.processes[4].target, "");
}

TEST(ProcessConfigTest, ExactlyOneWayToFindThem) {
  EXPECT_EQ(ErrorOf(kTarget + "[[process]]\nname = \"web\"\n"),
            "/etc/pgconn/c.toml:4:1: set one of pid_file, exe, cmdline, postmaster_pid_file, "
            "postgres_data_dir");
  EXPECT_EQ(ErrorOf(kTarget + "[[process]]\nname = \"web\"\ncmdline = \"x\"\nexe = \"node\"\n"),
            "/etc/pgconn/c.toml:7:7: exe: set only one of pid_file, exe, cmdline, "
            "postmaster_pid_file, postgres_data_dir");
  EXPECT_EQ(ErrorOf(kTarget + "[[process]]\nname = \"web\"\nexe = \"\"\n"),
            "/etc/pgconn/c.toml:6:7: exe: must not be empty");
}

TEST(ProcessConfigTest, ValuesAreCheckedAtLoad) {
  EXPECT_EQ(ErrorOf(kTarget + "[[process]]\nname = \"web\"\nexe = \"/usr/bin/node\"\n"),
            "/etc/pgconn/c.toml:6:7: exe: is the executable's file name (the basename of "
            "/proc/PID/exe), without a directory");
  const std::string bad_regex = ErrorOf(kTarget + "[[process]]\nname = \"web\"\ncmdline = \"(\"\n");
  EXPECT_EQ(bad_regex.rfind("/etc/pgconn/c.toml:6:11: cmdline: invalid regular expression: ", 0),
            0u)
      << bad_regex;
  EXPECT_EQ(ErrorOf(kTarget + "[[process]]\nname = \"we b\"\nexe = \"node\"\n"),
            "/etc/pgconn/c.toml:5:8: name: invalid process name \"we b\" (use letters, digits "
            "and _ . : - only)");
  EXPECT_EQ(ErrorOf(kTarget + "[[process]]\nname = \"postgres:main\"\nexe = \"node\"\n"),
            "/etc/pgconn/c.toml:5:8: name: names starting with \"postgres:\" are reserved for "
            "the local PostgreSQL servers the exporter finds by itself");
  EXPECT_EQ(ErrorOf(kTarget + "[[process]]\nname = \"web\"\nexe = \"node\"\n" +
                    "[[process]]\nname = \"web\"\nexe = \"deno\"\n"),
            "/etc/pgconn/c.toml:8:8: name: duplicate process name \"web\" (first defined on "
            "line 5)");
  EXPECT_EQ(ErrorOf(kTarget + "[[process]]\nname = \"web\"\nexe = \"node\"\nuser = \"www\"\n"),
            "/etc/pgconn/c.toml:7:1: unknown key 'user' in [[process]]");
}

TEST(ProcessConfigTest, TargetLinksOnlyAServerToAnExistingTargetOnce) {
  EXPECT_EQ(ErrorOf(kTarget + "[[process]]\nname = \"pg\"\npostgres_data_dir = \"/d\"\n" +
                    "target = \"nope\"\n"),
            "/etc/pgconn/c.toml:7:10: target: unknown target \"nope\" (no [[target]] has that "
            "name)");
  EXPECT_EQ(ErrorOf(kTarget + "[[process]]\nname = \"web\"\nexe = \"node\"\ntarget = \"main\"\n"),
            "/etc/pgconn/c.toml:7:10: target: only a PostgreSQL server (postmaster_pid_file or "
            "postgres_data_dir) belongs to a target");
  EXPECT_EQ(ErrorOf(kTarget + "[[process]]\nname = \"a\"\npostgres_data_dir = \"/d\"\n" +
                    "target = \"main\"\n[[process]]\nname = \"b\"\n" +
                    "postmaster_pid_file = \"/d/postmaster.pid\"\ntarget = \"main\"\n"),
            "/etc/pgconn/c.toml:11:10: target: target \"main\" already has its server in "
            "[[process]] \"a\"");
}

// The commented [[process]] example in config/example.toml, uncommented one level ("# x"
// -> "x", "# # x" -> "# x"); `use` swaps the exe line for another of its alternatives.
std::string ExampleProcess(const std::string& use = "") {
  const std::string text =
      testing::ReadFile(std::string(PGCONN_SOURCE_DIR) + "/config/example.toml");
  std::istringstream lines(text.substr(text.rfind("# [[process]]\n")));
  std::string out;
  std::string line;
  while (std::getline(lines, line)) {
    line = line.size() >= 2 ? line.substr(2) : "";
    if (!use.empty() && line.rfind("exe = ", 0) == 0) line = "# " + line;
    if (!use.empty() && line.rfind("# " + use + " = ", 0) == 0) line = line.substr(2);
    out += line + "\n";
  }
  return out;
}

TEST(ProcessConfigTest, TheExampleConfigsProcessEntriesAreValid) {
  const Config config = Parse(kTarget + ExampleProcess());
  ASSERT_EQ(config.processes.size(), 1u);
  EXPECT_EQ(config.processes[0].name, "web");
  EXPECT_EQ(config.processes[0].value, "node");
  for (const char* key : {"cmdline", "pid_file", "postmaster_pid_file", "postgres_data_dir"}) {
    const std::string error = ErrorOf(kTarget + ExampleProcess(key));
    EXPECT_EQ(error, "") << key;
    if (error.empty()) {
      EXPECT_NE(Parse(kTarget + ExampleProcess(key)).processes[0].match, ProcessMatch::kExe);
    }
  }
  EXPECT_EQ(Parse(kTarget + ExampleProcess("cmdline")).processes[0].value, "node .*server\\.js");
  const std::string server = ExampleProcess("postgres_data_dir");
  const Config linked =
      Parse(kTarget + server.substr(0, server.rfind("# target")) + "target = \"main\"\n");
  EXPECT_EQ(linked.processes[0].target, "main");
}

}  // namespace
}  // namespace pgconn
