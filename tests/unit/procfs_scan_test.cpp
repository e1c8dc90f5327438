// ProcessScanner over the fixture procfs tree (tests/fixtures/proc/README.md), and over the
// real /proc for what a fixture cannot fake (a permission denial).
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <string>
#include <utility>

#include "pgconn/process_scan.h"
#include "support/process.h"

namespace pgconn {
namespace {

const std::string kFixtures = PGCONN_FIXTURES_DIR;
const std::string kProc = kFixtures + "/proc";
const std::string kDataDir = "/nonexistent/pgconn-fixture/data";

ProcessConfig Process(std::string name, ProcessMatch match, std::string value,
                      std::string target = "") {
  return {std::move(name), match, std::move(value), std::move(target)};
}

TargetConfig Target(std::string name, std::string dsn) {
  TargetConfig target;
  target.name = std::move(name);
  target.dsn = std::move(dsn);
  return target;
}

const std::vector<TargetConfig> kTargets = {
    Target("main", "host=localhost port=5432 dbname=shop user=pgconn_exporter"),
    Target("reporting", "host=10.0.0.7 port=5432 dbname=reports user=pgconn_exporter")};

ServerSettings Settings(std::string data_directory) {
  ServerSettings settings;
  settings.data_directory = std::move(data_directory);
  return settings;
}

const GroupScan* FindGroup(const ProcessScan& scan, const std::string& name) {
  for (const GroupScan& group : scan.groups) {
    if (group.name == name) return &group;
  }
  return nullptr;
}

std::vector<int64_t> Pids(const GroupScan& group) {
  std::vector<int64_t> pids;
  for (const MemberFds& member : group.members) pids.push_back(member.pid);
  return pids;
}

TEST(ProcfsScanTest, ExeGroupReadsFdsLimitsAndSocketInodes) {
  ProcessScanner scanner(kProc, {Process("web", ProcessMatch::kExe, "node")}, kTargets);
  const ProcessScan scan = scanner.Scan({});
  const GroupScan* web = FindGroup(scan, "web");
  ASSERT_TRUE(web);
  EXPECT_TRUE(web->client);
  ASSERT_EQ(Pids(*web), (std::vector<int64_t>{200, 201}));
  EXPECT_EQ(web->members[0].open_fds, 11);
  EXPECT_EQ(web->members[0].limit->soft, 1024);
  std::vector<uint64_t> inodes = web->members[0].socket_inodes;
  std::sort(inodes.begin(), inodes.end());  // in directory order, which is arbitrary
  EXPECT_EQ(inodes, (std::vector<uint64_t>{6001, 6002, 6003, 6004, 6005}));
  EXPECT_EQ(web->members[1].open_fds, 6);
  EXPECT_EQ(web->members[1].limit->soft, 256);
  EXPECT_TRUE(scan.problems.empty());
  ASSERT_TRUE(scan.sockets);
  EXPECT_EQ(scan.sockets->size(), 12u);  // tcp and tcp6 together
  EXPECT_EQ(scan.host.file_nr->allocated, 5344);
  EXPECT_EQ(scan.host.file_max, 1000000);
  EXPECT_EQ(scan.host.ports->size(), 28232);
}

TEST(ProcfsScanTest, CmdlineRegexAndPidFileSelectTheirProcessesOnly) {
  ProcessScanner scanner(
      kProc,
      {Process("server", ProcessMatch::kCmdline, R"(node .*/server\.js$)"),
       Process("by-pid", ProcessMatch::kPidFile, kFixtures + "/pgdata/web.pid"),
       Process("gone", ProcessMatch::kPidFile, kFixtures + "/pgdata/no-such.pid"),
       Process("shells", ProcessMatch::kCmdline, "bash")},
      kTargets);
  const ProcessScan scan = scanner.Scan({});
  EXPECT_EQ(Pids(*FindGroup(scan, "server")), std::vector<int64_t>{200});
  EXPECT_EQ(Pids(*FindGroup(scan, "by-pid")), std::vector<int64_t>{200});
  EXPECT_TRUE(FindGroup(scan, "gone")->members.empty());  // not running: no error
  const GroupScan* shells = FindGroup(scan, "shells");
  ASSERT_EQ(Pids(*shells), std::vector<int64_t>{300});
  EXPECT_FALSE(shells->members[0].limit->soft);  // unlimited
  EXPECT_TRUE(scan.problems.empty());
}

TEST(ProcfsScanTest, TargetsGetTheirTcpAddresses) {
  ProcessScanner scanner(kProc, {}, kTargets);
  const ProcessScan scan = scanner.Scan({});
  ASSERT_EQ(scan.targets.size(), 2u);
  EXPECT_EQ(scan.targets[0].target, "main");
  ASSERT_EQ(scan.targets[0].endpoints.size(), 2u);  // localhost: 127.0.0.1 and ::1
  const std::vector<SocketEndpoint> reporting = {{*ParseIpAddress("10.0.0.7"), 5432}};
  EXPECT_EQ(scan.targets[1].endpoints, reporting);
}

TEST(ProcfsScanTest, LocalTargetsPostmasterIsFoundThroughDataDirectory) {
  ProcessScanner scanner(kProc, {}, kTargets);
  // postmaster.pid under /nonexistent cannot be read, so -D on the cmdline finds it.
  const ProcessScan scan = scanner.Scan({{"main", Settings(kDataDir)}});
  const GroupScan* server = FindGroup(scan, "postgres:main");
  ASSERT_TRUE(server);
  EXPECT_FALSE(server->client);
  EXPECT_EQ(server->server_of, "main");
  EXPECT_TRUE(server->postmaster_found);
  EXPECT_EQ(Pids(*server), (std::vector<int64_t>{100, 101, 102, 103}));
  EXPECT_TRUE(server->members[0].socket_inodes.empty());  // a server's sockets are not counted
  EXPECT_FALSE(FindGroup(scan, "postgres:reporting"));    // 10.0.0.7 is not local
  EXPECT_TRUE(scan.problems.empty());
}

TEST(ProcfsScanTest, WithoutAPollThePostmasterIsFoundByItsPort) {
  ProcessScanner scanner(kProc, {}, kTargets);
  const ProcessScan scan = scanner.Scan({});  // cwd/postmaster.pid names port 5432
  const GroupScan* server = FindGroup(scan, "postgres:main");
  ASSERT_TRUE(server);
  EXPECT_EQ(Pids(*server), (std::vector<int64_t>{100, 101, 102, 103}));

  ProcessScanner other_port(kProc, {}, {Target("other", "host=127.0.0.1 port=6543")});
  EXPECT_FALSE(FindGroup(other_port.Scan({}), "postgres:other"));
}

TEST(ProcfsScanTest, APostmasterOnceFoundIsRememberedWhenThePollFails) {
  // Port 6543 matches no postmaster.pid, so only data_directory finds it...
  ProcessScanner scanner(kProc, {}, {Target("main", "host=127.0.0.1 port=6543")});
  ASSERT_TRUE(FindGroup(scanner.Scan({{"main", Settings(kDataDir)}}), "postgres:main"));
  // ...and without it (no settings this time) the remembered postmaster is still watched.
  const ProcessScan later = scanner.Scan({});
  const GroupScan* server = FindGroup(later, "postgres:main");
  ASSERT_TRUE(server);
  EXPECT_EQ(server->members.size(), 4u);
}

TEST(ProcfsScanTest, UnixSocketTargetsAreLocal) {
  ProcessScanner scanner(kProc, {}, {Target("sock", "host=/var/run/postgresql port=5432")});
  EXPECT_EQ(scanner.GroupNames(), std::vector<std::string>{"postgres:sock"});
  const ProcessScan scan = scanner.Scan({});
  EXPECT_TRUE(scan.targets.empty());  // no TCP address to count sockets to
  ASSERT_TRUE(FindGroup(scan, "postgres:sock"));
}

TEST(ProcfsScanTest, ConfiguredServerGroupsUsePostmasterPidAndServeTheirTarget) {
  ProcessScanner scanner(
      kProc,
      {Process("pg", ProcessMatch::kPostgresDataDir, kFixtures + "/pgdata", "main"),
       Process("pg-file", ProcessMatch::kPostmasterPidFile, kFixtures + "/pgdata/postmaster.pid"),
       Process("pg-gone", ProcessMatch::kPostgresDataDir, kFixtures + "/no-such-dir")},
      kTargets);
  EXPECT_EQ(scanner.GroupNames(), (std::vector<std::string>{"pg", "pg-file", "pg-gone"}));
  const ProcessScan scan = scanner.Scan({});
  const GroupScan* pg = FindGroup(scan, "pg");
  ASSERT_TRUE(pg);
  EXPECT_EQ(pg->server_of, "main");
  EXPECT_TRUE(pg->postmaster_found);
  EXPECT_EQ(Pids(*pg), (std::vector<int64_t>{100, 101, 102, 103}));
  EXPECT_EQ(Pids(*FindGroup(scan, "pg-file")), (std::vector<int64_t>{100, 101, 102, 103}));
  EXPECT_TRUE(FindGroup(scan, "pg-gone")->members.empty());
  EXPECT_FALSE(FindGroup(scan, "postgres:main"));  // the [[process]] entry serves main
}

TEST(ProcfsScanTest, MalformedFilesAreProblemsAndLeaveTheirValuesOut) {
  ProcessScanner scanner(kFixtures + "/proc-malformed",
                         {Process("web", ProcessMatch::kExe, "node")}, kTargets);
  const ProcessScan scan = scanner.Scan({});
  const GroupScan* web = FindGroup(scan, "web");
  ASSERT_TRUE(web);
  ASSERT_EQ(web->members.size(), 1u);
  EXPECT_EQ(web->members[0].open_fds, 11);
  EXPECT_FALSE(web->members[0].limit);
  EXPECT_FALSE(scan.sockets);
  EXPECT_FALSE(scan.host.file_nr);
  EXPECT_FALSE(scan.host.file_max);
  EXPECT_FALSE(scan.host.ports);
  std::vector<std::string> malformed;
  for (const ScanProblem& problem : scan.problems) {
    EXPECT_EQ(problem.status, ReadStatus::kMalformed) << problem.path;
    malformed.push_back(problem.group + " " +
                        problem.path.substr(problem.path.find("proc-malformed/") + 15));
  }
  std::sort(malformed.begin(), malformed.end());
  EXPECT_EQ(malformed,
            (std::vector<std::string>{" net/tcp", " sys/fs/file-max", " sys/fs/file-nr",
                                      " sys/net/ipv4/ip_local_port_range", "web 200/limits"}));
}

TEST(ProcfsScanTest, MissingProcfsIsNotACrash) {
  ProcessScanner scanner("/nonexistent-procfs", {Process("web", ProcessMatch::kExe, "node")},
                         kTargets);
  const ProcessScan scan = scanner.Scan({});
  EXPECT_TRUE(FindGroup(scan, "web")->members.empty());
  EXPECT_FALSE(scan.sockets);
  EXPECT_FALSE(scan.host.file_nr);
}

// Runs in a child that gives up root (when we are root), so another user's /proc/1/fd is
// denied as it is for an unprivileged exporter. Exit code 0 means every check held.
int ScanPidOneUnprivileged(const std::string& pid_file) {
  if (geteuid() == 0 && setuid(65534) != 0) return 10;
  if (geteuid() == 0) return 11;
  ProcessScanner scanner("/proc", {Process("init", ProcessMatch::kPidFile, pid_file)}, {});
  const ProcessScan scan = scanner.Scan({});
  const GroupScan* init = FindGroup(scan, "init");
  if (!init || init->members.size() != 1) return 12;
  if (init->members[0].open_fds) return 13;  // denied: unknown, not 0
  if (!init->members[0].limit) return 14;    // /proc/PID/limits is readable by anyone
  for (const ScanProblem& problem : scan.problems) {
    if (problem.group == "init" && problem.status == ReadStatus::kPermission &&
        problem.path == "/proc/1/fd") {
      return 0;
    }
  }
  return 15;
}

TEST(ProcfsScanTest, AnotherUsersFdsAreAPermissionProblem) {
  testing::TempDir dir("pgconn-procfs-");
  const std::string pid_file = dir.File("init.pid");
  testing::WriteFile(pid_file, "1\n");
  chmod(dir.path().c_str(), 0755);
  chmod(pid_file.c_str(), 0644);
  EXPECT_EXIT(std::exit(ScanPidOneUnprivileged(pid_file)), ::testing::ExitedWithCode(0), "");
}

}  // namespace
}  // namespace pgconn

namespace pgconn {
namespace {

TEST(MemberListTest, CopiesShareTheMembersUntilOneIsChanged) {
  MemberFds postmaster;
  postmaster.pid = 100;
  MemberList first(std::vector<MemberFds>{postmaster, postmaster});
  MemberList second = first;
  EXPECT_EQ(&std::as_const(first)[0], &std::as_const(second)[0]) << "a copy duplicated the members";
  second[1].pid = 200;  // written: the copy gets its own members
  EXPECT_EQ(std::as_const(first)[1].pid, 100);
  EXPECT_EQ(std::as_const(second)[1].pid, 200);
  MemberList empty;
  EXPECT_TRUE(empty.empty());
  EXPECT_EQ(empty.begin(), empty.end());
  empty.push_back(postmaster);
  EXPECT_EQ(empty.size(), 1u);
}

}  // namespace
}  // namespace pgconn
