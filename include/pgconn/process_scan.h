// One pass over /proc: the watched process groups (their fds, fd limits and sockets), the
// host's file and ephemeral-port limits, and every TCP socket. Plain data read by
// src/sources (ProcessScanner), mapped to metrics by the pure MapProcessScan.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "pgconn/config.h"
#include "pgconn/conninfo.h"
#include "pgconn/procfs.h"
#include "pgconn/sample.h"

namespace pgconn {

// The `process` label of the PostgreSQL server the exporter finds by itself for a local target.
std::string LocalServerGroupName(const std::string& target);

// Where a target's server is, from its DSN. Pure; host names other than "localhost" are left
// for the scanner to resolve.
struct TargetLocation {
  std::string target;
  bool unix_socket = false;               // some host is a socket directory (or none is given)
  std::vector<SocketEndpoint> endpoints;  // numeric addresses, and "localhost" as 127.0.0.1 + ::1
  std::vector<std::pair<std::string, uint16_t>> names;  // host names to resolve, with ports
  uint16_t port = 5432;                                 // the first host's port
};
// `default_host` / `default_port` stand in for what the DSN leaves out (PGHOST / PGPORT).
std::optional<TargetLocation> LocateTarget(const std::string& target,
                                           const std::vector<DsnHost>& hosts,
                                           const std::string& default_host = "",
                                           const std::string& default_port = "");
// Loopback or Unix socket only: a server the exporter can see in its own /proc.
bool IsLocal(const TargetLocation& location);

struct MemberFds {
  int64_t pid = 0;
  std::optional<int64_t> open_fds;      // nullopt when /proc/PID/fd could not be read
  std::optional<OpenFilesLimit> limit;  // nullopt when /proc/PID/limits could not be read
  std::vector<uint64_t> socket_inodes;  // client groups only
  bool sockets_known = true;            // false when the fd links could not be read
};

// A group's members, shared by copies until one is changed: the targets of one cluster (a
// tenant per database) each get a group of its backends, and 1,000 deep copies of ~1,100
// backends took ~100 MiB per scan.
class MemberList {
 public:
  MemberList() = default;
  MemberList(std::vector<MemberFds> members)  // NOLINT(google-explicit-constructor)
      : members_(std::make_shared<std::vector<MemberFds>>(std::move(members))) {}

  size_t size() const { return members_ ? members_->size() : 0; }
  bool empty() const { return size() == 0; }
  std::vector<MemberFds>::const_iterator begin() const { return Read().begin(); }
  std::vector<MemberFds>::const_iterator end() const { return Read().end(); }
  const MemberFds& operator[](size_t index) const { return Read()[index]; }
  MemberFds& operator[](size_t index) { return Write()[index]; }
  void push_back(MemberFds member) { Write().push_back(std::move(member)); }

 private:
  const std::vector<MemberFds>& Read() const {
    static const std::vector<MemberFds> kNone;
    return members_ ? *members_ : kNone;
  }
  std::vector<MemberFds>& Write() {
    if (!members_) {
      members_ = std::make_shared<std::vector<MemberFds>>();
    } else if (members_.use_count() > 1) {
      members_ = std::make_shared<std::vector<MemberFds>>(*members_);
    }
    return *members_;
  }
  std::shared_ptr<std::vector<MemberFds>> members_;
};

struct GroupScan {
  std::string name;               // the `process` label
  bool client = true;             // an application: its sockets to the targets are counted
  std::string server_of;          // a PostgreSQL server: the target it serves, if any
  bool postmaster_found = false;  // server groups: members[0] is the postmaster
  MemberList members;
};

// A read that failed for a reason worth telling (never a process that merely exited).
struct ScanProblem {
  std::string group;  // "" for host-wide files
  ReadStatus status = ReadStatus::kError;
  std::string path;
};

// A target's TCP addresses after name resolution.
struct TargetSockets {
  std::string target;
  std::vector<SocketEndpoint> endpoints;
};

struct HostLimits {
  std::optional<FileNr> file_nr;
  std::optional<int64_t> file_max;
  std::optional<PortRange> ports;
};

struct ProcessScan {
  std::vector<GroupScan> groups;
  std::optional<std::vector<TcpSocket>> sockets;  // nullopt when net/tcp could not be read
  std::vector<TargetSockets> targets;             // every target with a TCP address
  HostLimits host;
  std::map<std::string, ServerSettings> settings;  // latest per target, from the polls
  std::vector<ScanProblem> problems;
  double duration_seconds = 0;  // set by whoever timed the scan
};

// Reads /proc for the configured [[process]] groups and the local targets' servers. Keeps
// each local target's postmaster once found, so it is still watched while polls fail.
// Not thread-safe: one owner calls Scan.
class ProcessScanner {
 public:
  ProcessScanner(std::string procfs_root, std::vector<ProcessConfig> processes,
                 const std::vector<TargetConfig>& targets);
  ~ProcessScanner();
  ProcessScanner(const ProcessScanner&) = delete;
  ProcessScanner& operator=(const ProcessScanner&) = delete;

  // `settings`: the latest ServerSettings each target's poll read (data_directory, limits).
  ProcessScan Scan(const std::map<std::string, ServerSettings>& settings);
  // Every group a scan may report: the [[process]] names, then the local servers'.
  std::vector<std::string> GroupNames() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace pgconn
