// ProcessScanner: one /proc pass over the watched processes, the host limits and the sockets.
#include "pgconn/process_scan.h"

#include <regex.h>
#include <unistd.h>

#include <cstdlib>
#include <map>
#include <memory>
#include <set>

#include "process_scan_internal.h"

namespace pgconn {
namespace {

using procscan::Note;
using procscan::ScanContext;

// comm is cut to 15 bytes by the kernel.
constexpr size_t kCommLength = 15;

std::string EnvOr(const char* name) {
  const char* value = std::getenv(name);
  return value ? value : "";
}

// Our own pid when `procfs` is the live one, so a broad cmdline regex does not count us.
std::optional<int64_t> SelfPid(const Procfs& procfs) {
  char target[32];
  const std::string self = procfs.root() + "/self";
  const ssize_t length = readlink(self.c_str(), target, sizeof(target) - 1);
  if (length <= 0) return std::nullopt;
  if (std::string(target, static_cast<size_t>(length)) != std::to_string(getpid())) {
    return std::nullopt;
  }
  return getpid();
}

// One member's fds and limit; nullopt when the process exited meanwhile.
std::optional<MemberFds> ReadMember(int64_t pid, bool socket_inodes, const std::string& group,
                                    ScanContext& context) {
  auto fds = context.procfs.Fds(pid, socket_inodes);
  auto limit = context.procfs.Limits(pid);
  if (fds.status == ReadStatus::kMissing || limit.status == ReadStatus::kMissing) {
    return std::nullopt;
  }
  Note(fds, group, context.problems);
  Note(limit, group, context.problems);
  MemberFds member;
  member.pid = pid;
  member.limit = limit.value;
  if (fds.value) {
    member.open_fds = fds.value->open;
    member.socket_inodes = std::move(fds.value->socket_inodes);
    member.sockets_known = !fds.value->sockets_denied;
    if (fds.value->sockets_denied) {
      context.problems.push_back({group, ReadStatus::kPermission, fds.path});
    }
  }
  return member;
}

void AddMembers(const std::vector<int64_t>& pids, bool socket_inodes, ScanContext& context,
                GroupScan& group) {
  for (const int64_t pid : pids) {
    if (auto member = ReadMember(pid, socket_inodes, group.name, context)) {
      group.members.push_back(std::move(*member));
    }
  }
}

// A compiled POSIX extended regex (std::regex is slow, and GCC 12 warns inside it).
class CmdlinePattern {
 public:
  explicit CmdlinePattern(const std::string& pattern)
      : ok_(regcomp(&regex_, pattern.c_str(), REG_EXTENDED | REG_NOSUB) == 0) {}
  ~CmdlinePattern() {
    if (ok_) regfree(&regex_);
  }
  CmdlinePattern(const CmdlinePattern&) = delete;
  CmdlinePattern& operator=(const CmdlinePattern&) = delete;

  // A pattern that does not compile (checked at load already) matches nothing.
  bool Matches(const std::string& text) const {
    return ok_ && regexec(&regex_, text.c_str(), 0, nullptr, 0) == 0;
  }

 private:
  regex_t regex_{};
  bool ok_ = false;
};

HostLimits ReadHost(const Procfs& procfs, std::vector<ScanProblem>& problems) {
  HostLimits host;
  const auto file_nr = procfs.FileNrs();
  const auto file_max = procfs.FileMax();
  const auto ports = procfs.LocalPortRange();
  Note(file_nr, "", problems);
  Note(file_max, "", problems);
  Note(ports, "", problems);
  host.file_nr = file_nr.value;
  host.file_max = file_max.value;
  host.ports = ports.value;
  return host;
}

}  // namespace

struct ProcessScanner::State {
  State(std::string root, std::vector<ProcessConfig> configs)
      : procfs(std::move(root)), processes(std::move(configs)) {}

  Procfs procfs;
  std::vector<ProcessConfig> processes;
  std::vector<std::unique_ptr<CmdlinePattern>> patterns;  // aligned with processes
  std::vector<TargetLocation> locations;                  // targets whose DSN says where they are
  std::set<std::string> linked_targets;                   // served by a [[process]] entry
  std::optional<int64_t> self_pid;
  procscan::PostmasterFinder finder;

  std::vector<int64_t> PidFileMembers(const ProcessConfig& config, ScanContext& context);
  std::vector<int64_t> MatchingPids(size_t index, ScanContext& context);
  GroupScan ScanConfigured(size_t index, bool socket_inodes, ScanContext& context);
  GroupScan ScanServer(const std::string& name, std::optional<int64_t> postmaster,
                       ScanContext& context);
};

std::vector<int64_t> ProcessScanner::State::PidFileMembers(const ProcessConfig& config,
                                                           ScanContext& context) {
  const auto read = ReadTextFile(config.value);
  Note(read, config.name, context.problems);
  if (!read.value) return {};
  const auto pid = ParsePidFile(*read.value);
  if (!pid) {
    context.problems.push_back({config.name, ReadStatus::kMalformed, read.path});
    return {};
  }
  return {*pid};
}

std::vector<int64_t> ProcessScanner::State::MatchingPids(size_t index, ScanContext& context) {
  const ProcessConfig& config = processes[index];
  std::vector<int64_t> pids;
  for (const int64_t pid : procfs.Pids()) {
    if (pid == self_pid) continue;
    bool match = false;
    if (config.match == ProcessMatch::kExe) {
      const auto exe = procfs.ExeName(pid);
      // Another user's exe link needs ptrace rights; comm (world-readable) stands in.
      const ProcStat* stat =
          exe.status == ReadStatus::kPermission ? context.table.Find(pid) : nullptr;
      match = exe.value ? *exe.value == config.value
                        : stat && stat->comm == config.value.substr(0, kCommLength);
    } else {
      const auto cmdline = procfs.Cmdline(pid);
      const std::string line = cmdline.value ? JoinCmdline(*cmdline.value) : "";
      match = !line.empty() && patterns[index] && patterns[index]->Matches(line);
    }
    if (match) pids.push_back(pid);
  }
  return pids;
}

GroupScan ProcessScanner::State::ScanConfigured(size_t index, bool socket_inodes,
                                                ScanContext& context) {
  const ProcessConfig& config = processes[index];
  switch (config.match) {
    case ProcessMatch::kPostmasterPidFile:
      return ScanServer(config.name, finder.ByPidFile(config.value, config.name, context), context);
    case ProcessMatch::kPostgresDataDir:
      return ScanServer(config.name, finder.ByDataDir(config.value, config.name, context), context);
    default:
      break;
  }
  GroupScan group;
  group.name = config.name;
  const auto pids = config.match == ProcessMatch::kPidFile ? PidFileMembers(config, context)
                                                           : MatchingPids(index, context);
  AddMembers(pids, socket_inodes, context, group);
  return group;
}

GroupScan ProcessScanner::State::ScanServer(const std::string& name,
                                            std::optional<int64_t> postmaster,
                                            ScanContext& context) {
  GroupScan group;
  group.name = name;
  group.client = false;
  if (!postmaster) return group;
  std::vector<int64_t> pids = {*postmaster};
  const auto children = context.table.ChildrenOf(*postmaster);
  pids.insert(pids.end(), children.begin(), children.end());
  AddMembers(pids, false, context, group);
  group.postmaster_found = !group.members.empty() && group.members[0].pid == *postmaster;
  return group;
}

ProcessScanner::ProcessScanner(std::string procfs_root, std::vector<ProcessConfig> processes,
                               const std::vector<TargetConfig>& targets)
    : state_(std::make_unique<State>(std::move(procfs_root), std::move(processes))) {
  for (const ProcessConfig& config : state_->processes) {
    state_->patterns.push_back(config.match == ProcessMatch::kCmdline
                                   ? std::make_unique<CmdlinePattern>(config.value)
                                   : nullptr);
    if (!config.target.empty()) state_->linked_targets.insert(config.target);
  }
  for (const TargetConfig& target : targets) {
    const auto hosts = DsnHosts(target.dsn);
    if (!hosts) continue;
    if (auto location = LocateTarget(target.name, *hosts, EnvOr("PGHOST"), EnvOr("PGPORT"))) {
      state_->locations.push_back(std::move(*location));
    }
  }
  state_->self_pid = SelfPid(state_->procfs);
}

ProcessScanner::~ProcessScanner() = default;

ProcessScan ProcessScanner::Scan(const std::map<std::string, ServerSettings>& settings) {
  State& state = *state_;
  ProcessScan scan;
  scan.settings = settings;
  procscan::ProcessTable table(state.procfs);
  ScanContext context{state.procfs, table, scan.problems};
  scan.host = ReadHost(state.procfs, scan.problems);
  auto sockets = state.procfs.TcpSockets();
  Note(sockets, "", scan.problems);
  scan.sockets = std::move(sockets.value);
  if (scan.sockets) context.tcp_sockets = &*scan.sockets;

  std::vector<TargetLocation> locals;
  for (const TargetLocation& location : state.locations) {
    TargetLocation resolved = procscan::ResolveNames(location, scan.problems);
    if (!resolved.endpoints.empty()) scan.targets.push_back({resolved.target, resolved.endpoints});
    if (IsLocal(resolved) && !state.linked_targets.count(resolved.target)) {
      locals.push_back(std::move(resolved));
    }
  }
  for (size_t i = 0; i < state.processes.size(); ++i) {
    scan.groups.push_back(state.ScanConfigured(i, !scan.targets.empty(), context));
    scan.groups.back().server_of = state.processes[i].target;
  }
  // Targets on the same server (databases of one cluster) share one read of its processes.
  std::map<int64_t, size_t> scanned;  // postmaster pid -> its group in scan.groups
  for (const TargetLocation& location : locals) {
    const auto found = settings.find(location.target);
    const std::string name = LocalServerGroupName(location.target);
    const auto postmaster = state.finder.ForTarget(
        location, found == settings.end() ? nullptr : &found->second, name, context);
    if (!postmaster) continue;  // no group: nothing of this server is known
    if (auto known = scanned.find(*postmaster); known != scanned.end()) {
      GroupScan same = scan.groups[known->second];
      same.name = name;
      scan.groups.push_back(std::move(same));
    } else {
      scanned[*postmaster] = scan.groups.size();
      scan.groups.push_back(state.ScanServer(name, postmaster, context));
    }
    scan.groups.back().server_of = location.target;
  }
  return scan;
}

std::vector<std::string> ProcessScanner::GroupNames() const {
  std::vector<std::string> names;
  for (const ProcessConfig& config : state_->processes) names.push_back(config.name);
  for (const TargetLocation& location : state_->locations) {
    if (IsLocal(location) && !state_->linked_targets.count(location.target)) {
      names.push_back(LocalServerGroupName(location.target));
    }
  }
  return names;
}

}  // namespace pgconn
