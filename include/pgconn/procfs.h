// What the exporter reads from /proc (and from postmaster.pid): plain structs, the pure
// parsers that produce them from file contents (tests feed fixture text), and the reader
// that fetches the files. Every parser returns nullopt on malformed or truncated input:
// an error, never a guessed number.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pgconn/self_process.h"

namespace pgconn {

// An IP address as 16 bytes: IPv6 as is, IPv4 as IPv4-mapped IPv6 (::ffff:a.b.c.d), so a
// dual-stack socket to ::ffff:127.0.0.1 compares equal to one to 127.0.0.1.
using IpAddress = std::array<uint8_t, 16>;

std::optional<IpAddress> ParseIpAddress(std::string_view text);  // "127.0.0.1", "::1"
bool IsLoopback(const IpAddress& address);                       // 127.0.0.0/8, ::1
std::string FormatIpAddress(const IpAddress& address);           // for messages

struct SocketEndpoint {
  IpAddress address{};
  uint16_t port = 0;
  bool operator==(const SocketEndpoint& other) const {
    return address == other.address && port == other.port;
  }
  bool operator!=(const SocketEndpoint& other) const { return !(*this == other); }
};

// The kernel's TCP states, numbered as in include/net/tcp_states.h.
enum class TcpState : uint8_t {
  kUnknown = 0,
  kEstablished = 1,
  kSynSent,
  kSynRecv,
  kFinWait1,
  kFinWait2,
  kTimeWait,
  kClose,
  kCloseWait,
  kLastAck,
  kListen,
  kClosing,
  kNewSynRecv,
};
std::string_view TcpStateName(TcpState state);  // "established", "close_wait", ...

struct TcpSocket {
  SocketEndpoint local;
  SocketEndpoint remote;
  TcpState state = TcpState::kUnknown;
  uint64_t inode = 0;  // 0 for sockets no process holds (TIME_WAIT)
};

// /proc/net/tcp and tcp6 print each 32-bit word of an address as the kernel holds it in
// memory, so the digits depend on the byte order of the machine that wrote the file.
enum class ByteOrder { kLittle, kBig };
ByteOrder NativeByteOrder();

// /proc/net/tcp or /proc/net/tcp6 (told apart by the address width).
std::optional<std::vector<TcpSocket>> ParseNetTcp(std::string_view text,
                                                  ByteOrder order = NativeByteOrder());

// /proc/sys/fs/file-nr: allocated, allocated but unused, maximum.
struct FileNr {
  int64_t allocated = 0;
  int64_t unused = 0;
  int64_t max = 0;
};
std::optional<FileNr> ParseFileNr(std::string_view text);
std::optional<int64_t> ParseFileMax(std::string_view text);  // /proc/sys/fs/file-max

// /proc/sys/net/ipv4/ip_local_port_range.
struct PortRange {
  int64_t low = 0;
  int64_t high = 0;
  int64_t size() const { return high - low + 1; }
};
std::optional<PortRange> ParsePortRange(std::string_view text);

// The first lines of a data directory's postmaster.pid.
struct PostmasterPid {
  int64_t pid = 0;
  std::string data_dir;
  int64_t start_time_unix = 0;
  int port = 0;
  std::string socket_dir;      // empty when there is no Unix socket
  std::string listen_address;  // first of listen_addresses; empty when TCP is off
};
std::optional<PostmasterPid> ParsePostmasterPid(std::string_view text);

// An ordinary pid file: a positive integer on the first line.
std::optional<int64_t> ParsePidFile(std::string_view text);
// A /proc/PID/fd link target "socket:[12345]" -> 12345; nullopt for anything else.
std::optional<uint64_t> ParseSocketInode(std::string_view link_target);
// A /proc/PID/exe link target -> its basename ("/usr/bin/node (deleted)" -> "node").
std::string ExeBasename(std::string_view link_target);
// /proc/PID/cmdline (NUL-separated argv) -> one line, arguments separated by spaces.
std::string JoinCmdline(std::string_view raw);
// The data directory a postmaster was started with (-D DIR or -DDIR), if on its command line.
std::optional<std::string> CmdlineDataDir(std::string_view raw);

// Outcome of one read: kMissing is normal (the process exited, the file does not exist);
// kPermission and kMalformed are reported.
enum class ReadStatus { kOk, kMissing, kPermission, kMalformed, kError };

template <typename T>
struct ProcRead {
  std::optional<T> value;  // set exactly when status is kOk
  ReadStatus status = ReadStatus::kOk;
  std::string path;  // what was read, for messages
};

// Any small text file (pid files, postmaster.pid), not only under procfs.
ProcRead<std::string> ReadTextFile(const std::string& path);

// One process's file descriptors.
struct FdTable {
  int64_t open = 0;                     // entries of /proc/PID/fd
  std::vector<uint64_t> socket_inodes;  // only when asked for
  // Listing another user's fds needs CAP_DAC_READ_SEARCH, reading where they point also
  // CAP_SYS_PTRACE: with the first only, the count is known and the sockets are not.
  bool sockets_denied = false;
};

// Reads procfs under a configurable root ("/proc", or a fixture tree in tests).
class Procfs {
 public:
  explicit Procfs(std::string root) : root_(std::move(root)) {}
  const std::string& root() const { return root_; }
  std::string PidPath(int64_t pid, std::string_view file) const;

  ProcRead<std::string> Read(std::string_view relative) const;
  std::vector<int64_t> Pids() const;  // numeric entries of the root, ascending
  ProcRead<ProcStat> Stat(int64_t pid) const;
  ProcRead<OpenFilesLimit> Limits(int64_t pid) const;
  ProcRead<std::string> Cmdline(int64_t pid) const;  // raw, NUL-separated
  ProcRead<std::string> ExeName(int64_t pid) const;  // basename of the exe link
  ProcRead<FdTable> Fds(int64_t pid, bool socket_inodes) const;
  // /proc/PID/cwd/postmaster.pid: a postmaster runs in its data directory.
  ProcRead<PostmasterPid> CwdPostmasterPid(int64_t pid) const;
  // net/tcp and net/tcp6 together.
  ProcRead<std::vector<TcpSocket>> TcpSockets() const;
  ProcRead<FileNr> FileNrs() const;            // sys/fs/file-nr
  ProcRead<int64_t> FileMax() const;           // sys/fs/file-max
  ProcRead<PortRange> LocalPortRange() const;  // sys/net/ipv4/ip_local_port_range

 private:
  std::string root_;
};

}  // namespace pgconn
