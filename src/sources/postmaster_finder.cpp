// Finding a PostgreSQL server's postmaster in /proc, and the process table it is found in.
#include <filesystem>
#include <set>

#include "process_scan_internal.h"

namespace pgconn::procscan {
namespace {

bool IsPostgresName(const std::string& comm) { return comm == "postgres" || comm == "postmaster"; }

std::string NormalPath(const std::string& path) {
  std::string normal = std::filesystem::path(path).lexically_normal().string();
  while (normal.size() > 1 && normal.back() == '/') normal.pop_back();
  return normal;
}

// Tells the pending problems only when nothing was found: a denial that another way got
// around changes no number.
void Flush(std::vector<ScanProblem>& pending, const std::string& group, ScanContext& context) {
  for (ScanProblem& problem : pending) {
    problem.group = group;
    context.problems.push_back(std::move(problem));
  }
  pending.clear();
}

}  // namespace

const std::map<int64_t, ProcStat>& ProcessTable::All() {
  if (stats_) return *stats_;
  stats_.emplace();
  for (const int64_t pid : procfs_.Pids()) {
    auto stat = procfs_.Stat(pid);
    if (stat.value) stats_->emplace(pid, std::move(*stat.value));
  }
  return *stats_;
}

const ProcStat* ProcessTable::Find(int64_t pid) {
  const auto& all = All();
  const auto it = all.find(pid);
  return it == all.end() ? nullptr : &it->second;
}

std::vector<int64_t> ProcessTable::ChildrenOf(int64_t pid) {
  std::vector<int64_t> children;
  for (const auto& [child, stat] : All()) {
    if (stat.ppid == pid) children.push_back(child);
  }
  return children;
}

std::vector<int64_t> ProcessTable::Postmasters() {
  std::vector<int64_t> out;
  for (const auto& [pid, stat] : All()) {
    if (!IsPostgresName(stat.comm)) continue;
    const ProcStat* parent = Find(stat.ppid);
    if (!parent || !IsPostgresName(parent->comm)) out.push_back(pid);
  }
  return out;
}

std::optional<int64_t> PostmasterFinder::FromPidFile(const ProcRead<std::string>& read,
                                                     std::vector<ScanProblem>& pending,
                                                     ScanContext& context) {
  if (!read.value) {
    if (read.status != ReadStatus::kMissing) pending.push_back({"", read.status, read.path});
    return std::nullopt;
  }
  const auto parsed = ParsePostmasterPid(*read.value);
  if (!parsed) {
    pending.push_back({"", ReadStatus::kMalformed, read.path});
    return std::nullopt;
  }
  // A postmaster.pid left behind by a crash may name a pid that is gone.
  if (!context.table.Find(parsed->pid)) return std::nullopt;
  return parsed->pid;
}

std::optional<int64_t> PostmasterFinder::ByCmdline(const std::string& data_dir,
                                                   ScanContext& context) {
  const std::string wanted = NormalPath(data_dir);
  for (const int64_t pid : context.table.Postmasters()) {
    const auto cmdline = context.procfs.Cmdline(pid);
    if (!cmdline.value) continue;
    const auto dir = CmdlineDataDir(*cmdline.value);
    if (dir && NormalPath(*dir) == wanted) return pid;
  }
  return std::nullopt;
}

// The postmaster holding the listening socket on `port`: only /proc/net/tcp and the fd links
// of postgres processes are read (never another process's files), and nothing is reported,
// since a process that turns out not to be the target's is none of our business.
std::optional<int64_t> PostmasterFinder::ByPort(uint16_t port, ScanContext& context) {
  std::optional<std::vector<TcpSocket>> read;
  if (context.tcp_sockets == nullptr) {
    read = context.procfs.TcpSockets().value;
    if (!read) return std::nullopt;
  }
  const std::vector<TcpSocket>* sockets = read ? &*read : context.tcp_sockets;
  std::set<uint64_t> listening;
  for (const TcpSocket& socket : *sockets) {
    if (socket.state == TcpState::kListen && socket.local.port == port && socket.inode != 0) {
      listening.insert(socket.inode);
    }
  }
  if (listening.empty()) return std::nullopt;
  for (const int64_t pid : context.table.Postmasters()) {
    const auto fds = context.procfs.Fds(pid, true);
    if (!fds.value) continue;
    for (const uint64_t inode : fds.value->socket_inodes) {
      if (listening.count(inode)) return pid;
    }
  }
  return std::nullopt;
}

std::optional<int64_t> PostmasterFinder::ByDataDir(const std::string& data_dir,
                                                   const std::string& group, ScanContext& context) {
  std::vector<ScanProblem> pending;
  auto pid = FromPidFile(ReadTextFile(data_dir + "/postmaster.pid"), pending, context);
  if (!pid) pid = ByCmdline(data_dir, context);
  if (!pid) Flush(pending, group, context);
  return pid;
}

std::optional<int64_t> PostmasterFinder::ByPidFile(const std::string& path,
                                                   const std::string& group, ScanContext& context) {
  std::vector<ScanProblem> pending;
  auto pid = FromPidFile(ReadTextFile(path), pending, context);
  if (!pid) pid = ByCmdline(std::filesystem::path(path).parent_path().string(), context);
  if (!pid) Flush(pending, group, context);
  return pid;
}

std::optional<int64_t> PostmasterFinder::ForTarget(const TargetLocation& location,
                                                   const ServerSettings* settings,
                                                   const std::string& group, ScanContext& context) {
  std::vector<ScanProblem> pending;
  if (settings && !settings->data_directory.empty()) {
    const std::string& dir = settings->data_directory;
    auto pid = FromPidFile(ReadTextFile(dir + "/postmaster.pid"), pending, context);
    if (!pid) pid = ByCmdline(dir, context);
    if (pid) return Remember(location.target, *pid, context);
  }
  if (auto pid = Remembered(location.target, context)) return pid;
  if (auto pid = ByPort(location.port, context)) {
    return Remember(location.target, *pid, context);
  }
  Flush(pending, group, context);
  return std::nullopt;
}

std::optional<int64_t> PostmasterFinder::Remembered(const std::string& target,
                                                    ScanContext& context) {
  const auto it = known_.find(target);
  if (it == known_.end()) return std::nullopt;
  const ProcStat* stat = context.table.Find(it->second.pid);
  if (stat && stat->start_ticks == it->second.start_ticks) return it->second.pid;
  known_.erase(it);  // it exited, or the pid now belongs to another process
  return std::nullopt;
}

int64_t PostmasterFinder::Remember(const std::string& target, int64_t pid, ScanContext& context) {
  const ProcStat* stat = context.table.Find(pid);
  known_[target] = Known{pid, stat ? stat->start_ticks : 0};
  return pid;
}

}  // namespace pgconn::procscan
