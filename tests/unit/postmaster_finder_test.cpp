// Postmaster discovery by port reads only /proc/net/tcp and postgres processes' fd links:
// another PostgreSQL's postmaster.pid (even a malformed one) is never read nor reported.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "pgconn/process_scan.h"
#include "support/process.h"

namespace pgconn {
namespace {

void Write(const std::string& path, const std::string& text) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  std::ofstream(path) << text;
}

// A procfs tree with one unrelated postmaster (pid 500, listening on 7777) whose data
// directory holds a half-written postmaster.pid.
std::string UnrelatedPostmasterTree(const testing::TempDir& dir) {
  const std::string root = dir.File("proc");
  Write(root + "/500/stat",
        "500 (postgres) S 1 500 500 0 -1 4194560 1197 0 0 0 150 50 0 0 20 0 1 0 1500 107106304 "
        "3007 18446744073709551615 1 1 0 0 0 0 0 4096 0 0 0 0 17 1 0 0 0 0 0 0 0 0 0 0 0 0 0\n");
  Write(root + "/500/cmdline", std::string("postgres\0-D\0/elsewhere/data\0", 29));
  Write(root + "/500/limits",
        "Limit                     Soft Limit           Hard Limit           Units     \n"
        "Max open files            1024                 524288               files     \n");
  Write(dir.File("otherdata/postmaster.pid"), "50");  // caught mid-write
  std::filesystem::create_directories(root + "/500/fd");
  std::filesystem::create_symlink("socket:[9000]", root + "/500/fd/3");
  std::filesystem::create_symlink(dir.File("otherdata"), root + "/500/cwd");
  Write(root + "/net/tcp",
        "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  "
        "timeout inode\n"
        "   0: 0100007F:1E61 00000000:0000 0A 00000000:00000000 00:00000000 00000000   107 "
        "0 9000 1 0000000000000000 100 0 0 10 0\n");
  Write(root + "/net/tcp6",
        "  sl  local_address                         remote_address                        st "
        "tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n");
  return root;
}

TargetConfig Target(const std::string& port) {
  TargetConfig target;
  target.name = "mine";
  target.dsn = "host=127.0.0.1 port=" + port + " dbname=postgres user=pgconn_exporter";
  return target;
}

TEST(PostmasterFinderTest, AnotherServersFilesAreNeitherReadNorReported) {
  testing::TempDir dir("pgconn-finder-");
  ProcessScanner scanner(UnrelatedPostmasterTree(dir), {}, {Target("5999")});
  const ProcessScan scan = scanner.Scan({});
  for (const ScanProblem& problem : scan.problems) ADD_FAILURE() << problem.path;
  for (const GroupScan& group : scan.groups) EXPECT_TRUE(group.members.empty()) << group.name;
}

TEST(PostmasterFinderTest, TheTargetsPostmasterIsFoundByItsListeningSocket) {
  testing::TempDir dir("pgconn-finder-");
  ProcessScanner scanner(UnrelatedPostmasterTree(dir), {}, {Target("7777")});
  const ProcessScan scan = scanner.Scan({});
  bool found = false;
  for (const GroupScan& group : scan.groups) {
    for (const auto& member : group.members) found = found || member.pid == 500;
  }
  EXPECT_TRUE(found) << scan.groups.size() << " groups";
  for (const ScanProblem& problem : scan.problems) ADD_FAILURE() << problem.path;
}

}  // namespace
}  // namespace pgconn
