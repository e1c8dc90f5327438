// Pieces of ProcessScanner shared between its source files; not part of the public API.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "pgconn/process_scan.h"
#include "pgconn/procfs.h"

namespace pgconn::procscan {

// Host names of `location` resolved into endpoints; a failure is recorded in `problems`.
TargetLocation ResolveNames(const TargetLocation& location, std::vector<ScanProblem>& problems);

// Records a failed read worth telling about (not kOk, not kMissing).
template <typename T>
void Note(const ProcRead<T>& read, const std::string& group, std::vector<ScanProblem>& problems) {
  if (read.status != ReadStatus::kOk && read.status != ReadStatus::kMissing) {
    problems.push_back({group, read.status, read.path});
  }
}

// Every process's stat, read at most once per scan and only when some group needs it.
class ProcessTable {
 public:
  explicit ProcessTable(const Procfs& procfs) : procfs_(procfs) {}
  const std::map<int64_t, ProcStat>& All();
  const ProcStat* Find(int64_t pid);
  std::vector<int64_t> ChildrenOf(int64_t pid);
  // Processes named postgres (or postmaster) whose parent is not: the postmasters.
  std::vector<int64_t> Postmasters();

 private:
  const Procfs& procfs_;
  std::optional<std::map<int64_t, ProcStat>> stats_;
};

struct ScanContext {
  const Procfs& procfs;
  ProcessTable& table;
  std::vector<ScanProblem>& problems;
  // /proc/net/tcp as this scan read it once (nullptr: read it where needed); a fleet of
  // local targets must not re-read and re-parse it per target.
  const std::vector<TcpSocket>* tcp_sockets = nullptr;
};

// Finds postmasters, and remembers each local target's once found (pid and start time, so a
// recycled pid is not taken for it).
class PostmasterFinder {
 public:
  // postmaster.pid of `data_dir`, else a postmaster started with -D `data_dir` (its cmdline
  // is readable by anyone, postmaster.pid only by its owner).
  std::optional<int64_t> ByDataDir(const std::string& data_dir, const std::string& group,
                                   ScanContext& context);
  // A postmaster.pid file at `path` (its directory is the data directory).
  std::optional<int64_t> ByPidFile(const std::string& path, const std::string& group,
                                   ScanContext& context);
  // A local target's server: through data_directory when a poll read it, else the one found
  // before, else the postmaster that holds the listening socket on the target's port.
  std::optional<int64_t> ForTarget(const TargetLocation& location, const ServerSettings* settings,
                                   const std::string& group, ScanContext& context);

 private:
  struct Known {
    int64_t pid = 0;
    double start_ticks = 0;
  };
  std::optional<int64_t> FromPidFile(const ProcRead<std::string>& read,
                                     std::vector<ScanProblem>& pending, ScanContext& context);
  std::optional<int64_t> ByCmdline(const std::string& data_dir, ScanContext& context);
  std::optional<int64_t> ByPort(uint16_t port, ScanContext& context);
  std::optional<int64_t> Remembered(const std::string& target, ScanContext& context);
  int64_t Remember(const std::string& target, int64_t pid, ScanContext& context);

  std::map<std::string, Known> known_;
};

}  // namespace pgconn::procscan
