// Small POSIX helpers shared by the integration-test harness: temp dirs, free ports,
// running a child process with a deadline, waiting for a condition.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace pgconn::testing {

using std::chrono::milliseconds;

// A directory under $TMPDIR (or /tmp) made with mkdtemp; removed recursively on destruction
// unless PGCONN_KEEP_TEST_DIRS is set in the environment (for post-mortems).
class TempDir {
 public:
  explicit TempDir(const std::string& prefix);
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

struct ProcessResult {
  int exit_code = -1;  // WEXITSTATUS, or 128 + signal number when killed by a signal
  bool timed_out = false;
  std::string out;
  std::string err;
};

// Runs argv (argv[0] is looked up in PATH when it has no '/') in "/" with `input` on stdin,
// extra environment variables on top of ours, and kills its process group after `timeout`.
ProcessResult RunProcess(const std::vector<std::string>& argv, const std::string& input = "",
                         milliseconds timeout = milliseconds(60000),
                         const std::map<std::string, std::string>& env = {});

// Starts argv in the background with stdout+stderr appended to `log_path`. The child gets
// SIGKILL if the test process dies. Returns the pid; throws on failure.
pid_t SpawnProcess(const std::vector<std::string>& argv, const std::string& log_path,
                   const std::map<std::string, std::string>& env = {});

// Waits for `pid` up to `timeout`; returns the exit code as in ProcessResult, -1 when it is
// still running at the deadline (it is not killed), -2 when it is not our child.
int WaitPid(pid_t pid, milliseconds timeout);

// A TCP port on 127.0.0.1 that nothing listens on right now, chosen at random below the
// kernel's ephemeral range so outgoing connections never hold it.
int PickFreePort();

std::string ReadFile(const std::string& path);  // "" when missing
void WriteFile(const std::string& path, const std::string& text);
std::string Tail(const std::string& text, std::size_t max_chars = 4000);

// Polls `predicate` every `interval` until it returns true (-> true) or `timeout` passes.
bool WaitFor(const std::function<bool()>& predicate, milliseconds timeout,
             milliseconds interval = milliseconds(100));

// Prefixes argv with `runuser -u postgres --` when we are root (initdb and postgres refuse to
// run as root); unchanged otherwise.
std::vector<std::string> AsPostgresUser(std::vector<std::string> argv);

// chown -R to the postgres OS user when we are root; no-op otherwise.
void ChownToPostgres(const std::string& path);

}  // namespace pgconn::testing
