#include "pgconn/process_metrics.h"

#include <algorithm>
#include <unordered_map>
#include <unordered_set>

#include "pgconn/family_builder.h"

namespace pgconn {
namespace {

using prometheus::MetricType;

constexpr std::string_view kReasons[] = {"permission", "malformed", "error"};

// States a pool's sockets are always reported in (0 when none), so alerts keep a series:
// connected, still connecting, and closed by the server but not yet by the application.
constexpr TcpState kAlwaysStates[] = {TcpState::kEstablished, TcpState::kSynSent,
                                      TcpState::kCloseWait};

struct GroupTotals {
  std::optional<int64_t> open_fds;  // set only when every member's fds were read
  std::optional<int64_t> max_fds;   // the smallest finite soft limit, when all were read
  std::optional<double> worst_ratio;
};

bool FdsComplete(const GroupScan& group) {
  return std::all_of(group.members.begin(), group.members.end(),
                     [](const MemberFds& member) { return member.open_fds.has_value(); });
}

bool SocketsComplete(const GroupScan& group) {
  return FdsComplete(group) &&
         std::all_of(group.members.begin(), group.members.end(),
                     [](const MemberFds& member) { return member.sockets_known; });
}

bool LimitsComplete(const GroupScan& group) {
  return std::all_of(group.members.begin(), group.members.end(),
                     [](const MemberFds& member) { return member.limit.has_value(); });
}

GroupTotals Totals(const GroupScan& group) {
  GroupTotals totals;
  const bool fds = FdsComplete(group);
  const bool limits = LimitsComplete(group);
  if (fds) totals.open_fds = 0;
  for (const MemberFds& member : group.members) {
    if (fds) *totals.open_fds += *member.open_fds;
    const auto soft = limits ? member.limit->soft : std::nullopt;
    if (!soft) continue;
    totals.max_fds = std::min(totals.max_fds.value_or(*soft), *soft);
    if (!fds || *soft <= 0) continue;
    const double ratio = static_cast<double>(*member.open_fds) / static_cast<double>(*soft);
    totals.worst_ratio = std::max(totals.worst_ratio.value_or(0), ratio);
  }
  if (fds && limits && !group.members.empty() && !totals.worst_ratio) totals.worst_ratio = 0;
  return totals;
}

void AddProcessGroups(Families& out, const ProcessScan& scan) {
  FamilyBuilder count("pgconn_process_instances", "Processes in the watched group.");
  FamilyBuilder open("pgconn_process_open_fds", "Open file descriptors of the group's processes.");
  FamilyBuilder max("pgconn_process_max_fds",
                    "Soft RLIMIT_NOFILE of the group's processes (the smallest when they differ).");
  FamilyBuilder ratio("pgconn_process_fd_utilization_ratio",
                      "Open fds over the soft limit of the group's worst single process.");
  for (const GroupScan& group : scan.groups) {
    const Labels labels = {{"process", group.name}};
    const GroupTotals totals = Totals(group);
    count.Add(labels, static_cast<double>(group.members.size()));
    if (totals.open_fds) open.Add(labels, static_cast<double>(*totals.open_fds));
    if (totals.max_fds) max.Add(labels, static_cast<double>(*totals.max_fds));
    if (totals.worst_ratio) ratio.Add(labels, *totals.worst_ratio);
  }
  for (FamilyBuilder* family : {&count, &open, &max, &ratio}) {
    if (!family->empty()) out.push_back(family->Build());
  }
}

bool Contains(const std::vector<SocketEndpoint>& endpoints, const SocketEndpoint& endpoint) {
  return std::find(endpoints.begin(), endpoints.end(), endpoint) != endpoints.end();
}

// state name -> sockets of `group` to `target`, the always-reported states included.
std::map<std::string, int64_t> SocketsByState(
    const GroupScan& group, const TargetSockets& target,
    const std::unordered_map<uint64_t, const TcpSocket*>& by_inode) {
  std::map<std::string, int64_t> by_state;
  for (TcpState state : kAlwaysStates) by_state[std::string(TcpStateName(state))] = 0;
  std::unordered_set<uint64_t> seen;  // a socket shared by parent and child counts once
  for (const MemberFds& member : group.members) {
    for (const uint64_t inode : member.socket_inodes) {
      const auto it = by_inode.find(inode);
      if (it == by_inode.end() || !seen.insert(inode).second) continue;
      if (Contains(target.endpoints, it->second->remote)) {
        ++by_state[std::string(TcpStateName(it->second->state))];
      }
    }
  }
  return by_state;
}

void AddDatabaseSockets(Families& out, const ProcessScan& scan) {
  if (!scan.sockets) return;
  std::unordered_map<uint64_t, const TcpSocket*> by_inode;
  for (const TcpSocket& socket : *scan.sockets) {
    if (socket.inode != 0) by_inode.emplace(socket.inode, &socket);
  }
  FamilyBuilder family("pgconn_process_database_sockets",
                       "TCP sockets the group holds to the target's host:port, by TCP state.");
  for (const GroupScan& group : scan.groups) {
    if (!group.client || !SocketsComplete(group)) continue;
    for (const TargetSockets& target : scan.targets) {
      for (const auto& [state, sockets] : SocketsByState(group, target, by_inode)) {
        family.Add({{"process", group.name}, {"target", target.target}, {"state", state}},
                   static_cast<double>(sockets));
      }
    }
  }
  if (!family.empty()) out.push_back(family.Build());
}

void AddEphemeralPortsUsed(Families& out, const ProcessScan& scan) {
  if (!scan.sockets) return;
  FamilyBuilder family("pgconn_host_ephemeral_ports_used",
                       "Local TCP sockets to the target's host:port, every state but LISTEN "
                       "(TIME_WAIT included): each holds a local port.");
  for (const TargetSockets& target : scan.targets) {
    const auto used =
        std::count_if(scan.sockets->begin(), scan.sockets->end(), [&](const TcpSocket& socket) {
          return socket.state != TcpState::kListen && Contains(target.endpoints, socket.remote);
        });
    family.Add({{"target", target.target}}, static_cast<double>(used));
  }
  if (!family.empty()) out.push_back(family.Build());
}

std::optional<int64_t> HostMaxFiles(const HostLimits& host) {
  if (host.file_max) return host.file_max;
  if (host.file_nr) return host.file_nr->max;
  return std::nullopt;
}

void AddHost(Families& out, const ProcessScan& scan) {
  const HostLimits& host = scan.host;
  if (host.file_nr) {
    AddGauge(out, "pgconn_host_open_files", "Open files on the host (fs.file-nr).", {},
             static_cast<double>(host.file_nr->allocated - host.file_nr->unused));
  }
  if (const auto max = HostMaxFiles(host)) {
    AddGauge(out, "pgconn_host_max_files", "Host-wide limit on open files (fs.file-max).", {},
             static_cast<double>(*max));
  }
  if (host.ports) {
    AddGauge(out, "pgconn_host_ephemeral_ports",
             "Size of the local port range for outgoing connections (ip_local_port_range).", {},
             static_cast<double>(host.ports->size()));
  }
  AddEphemeralPortsUsed(out, scan);
}

void AddPostgres(Families& out, const ProcessScan& scan) {
  FamilyBuilder backends("pgconn_postgres_backend_processes",
                         "Children of the target's local postmaster, counted from /proc.");
  FamilyBuilder budget("pgconn_postgres_fd_budget_ratio",
                       "max_files_per_process x MaxBackends over the host's fs.file-max.");
  const auto file_max = HostMaxFiles(scan.host);
  for (const GroupScan& group : scan.groups) {
    if (group.server_of.empty() || !group.postmaster_found) continue;
    const Labels labels = {{"target", group.server_of}};
    backends.Add(labels, static_cast<double>(group.members.size() - 1));
    const auto settings = scan.settings.find(group.server_of);
    if (settings == scan.settings.end() || !file_max || *file_max <= 0) continue;
    const double needed = static_cast<double>(settings->second.max_files_per_process) *
                          static_cast<double>(PostgresBackendSlots(settings->second));
    budget.Add(labels, needed / static_cast<double>(*file_max));
  }
  if (!backends.empty()) out.push_back(backends.Build());
  if (!budget.empty()) out.push_back(budget.Build());
}

void AddScrapeErrors(Families& out, const ScrapeErrorCounter& errors) {
  FamilyBuilder family("pgconn_process_scrape_errors_total",
                       "Scans in which reading the group's /proc files failed, by reason.",
                       MetricType::Counter);
  for (const auto& [group, reasons] : errors.counts()) {
    for (const auto& [reason, count] : reasons) {
      family.Add({{"process", group}, {"reason", reason}}, static_cast<double>(count));
    }
  }
  if (!family.empty()) out.push_back(family.Build());
}

}  // namespace

std::string_view ScrapeErrorReason(ReadStatus status) {
  switch (status) {
    case ReadStatus::kPermission:
      return "permission";
    case ReadStatus::kMalformed:
      return "malformed";
    default:
      return "error";
  }
}

ScrapeErrorCounter::ScrapeErrorCounter(const std::vector<std::string>& groups) {
  for (const std::string& group : groups) ZeroFill(group);
}

void ScrapeErrorCounter::ZeroFill(const std::string& group) {
  for (std::string_view reason : kReasons) counts_[group].emplace(reason, 0);
}

std::vector<ScanProblem> ScrapeErrorCounter::Add(const std::vector<ScanProblem>& problems) {
  std::set<std::string> counted;  // group + reason, once per scan
  std::vector<ScanProblem> first_seen;
  for (const ScanProblem& problem : problems) {
    const std::string reason(ScrapeErrorReason(problem.status));
    const std::string key = problem.group + '\n' + reason;
    if (!problem.group.empty() && counted.insert(key).second) {
      ZeroFill(problem.group);
      ++counts_[problem.group][reason];
    }
    if (told_.insert(problem.group.empty() ? key + '\n' + problem.path : key).second) {
      first_seen.push_back(problem);
    }
  }
  return first_seen;
}

int64_t PostgresBackendSlots(const ServerSettings& settings) {
  const int64_t others =
      settings.max_connections + settings.max_worker_processes + settings.max_wal_senders;
  // 18 sizes autovacuum by autovacuum_worker_slots and adds two special workers (launcher,
  // slot sync); its io workers are auxiliary processes outside MaxBackends.
  if (settings.autovacuum_worker_slots) return others + *settings.autovacuum_worker_slots + 2;
  return others + settings.autovacuum_max_workers + 1;  // + 1: the autovacuum launcher
}

Families MapProcessScan(const ProcessScan& scan, const ScrapeErrorCounter& errors) {
  Families out;
  AddProcessGroups(out, scan);
  AddDatabaseSockets(out, scan);
  AddHost(out, scan);
  AddPostgres(out, scan);
  AddScrapeErrors(out, errors);
  AddGauge(out, "pgconn_process_scan_duration_seconds", "Time the last /proc scan took.", {},
           scan.duration_seconds);
  return out;
}

}  // namespace pgconn
