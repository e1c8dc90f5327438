// The procfs reader: every /proc file the process watcher needs, with the reason a read failed.
#include "pgconn/procfs.h"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <memory>

#include "text_parse.h"

namespace pgconn {
namespace {

// /proc/net/tcp with 100k sockets is ~15 MB; anything far beyond is not procfs.
constexpr size_t kMaxFileBytes = 64 * 1024 * 1024;

ReadStatus StatusOf(int error) {
  switch (error) {
    case ENOENT:
    case ESRCH:
    case ENOTDIR:
      return ReadStatus::kMissing;  // the process exited, or the file does not exist
    case EACCES:
    case EPERM:
      return ReadStatus::kPermission;
    default:
      return ReadStatus::kError;
  }
}

template <typename T>
ProcRead<T> Failed(ReadStatus status, std::string path) {
  ProcRead<T> out;
  out.status = status;
  out.path = std::move(path);
  return out;
}

template <typename T>
ProcRead<T> Ok(T value, std::string path) {
  ProcRead<T> out;
  out.value = std::move(value);
  out.path = std::move(path);
  return out;
}

// Parses what `read` returned with `parse`, or passes its failure on.
template <typename Parse>
auto ParseRead(const ProcRead<std::string>& read, Parse parse)
    -> ProcRead<typename decltype(parse(std::string_view()))::value_type> {
  using T = typename decltype(parse(std::string_view()))::value_type;
  if (!read.value) return Failed<T>(read.status, read.path);
  auto parsed = parse(*read.value);
  if (!parsed) return Failed<T>(ReadStatus::kMalformed, read.path);
  return Ok<T>(std::move(*parsed), read.path);
}

struct DirCloser {
  void operator()(DIR* dir) const { closedir(dir); }
};
using DirPtr = std::unique_ptr<DIR, DirCloser>;

bool IsDigits(std::string_view name) {
  return !name.empty() &&
         std::all_of(name.begin(), name.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// The socket inode an fd entry links to; nullopt for any other file. *denied when the link
// may not be read.
std::optional<uint64_t> SocketInodeAt(int dir_fd, const char* name, bool* denied) {
  char target[64];  // "socket:[N]" is short; a longer target is a path, not a socket
  const ssize_t length = readlinkat(dir_fd, name, target, sizeof(target));
  if (length < 0 && (errno == EACCES || errno == EPERM)) *denied = true;
  if (length <= 0 || static_cast<size_t>(length) >= sizeof(target)) return std::nullopt;
  return ParseSocketInode(std::string_view(target, static_cast<size_t>(length)));
}

}  // namespace

ProcRead<std::string> ReadTextFile(const std::string& path) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Failed<std::string>(StatusOf(errno), path);
  std::string text;
  char buffer[65536];
  while (true) {
    const ssize_t got = read(fd, buffer, sizeof(buffer));
    if (got < 0 && errno == EINTR) continue;
    if (got < 0 || text.size() + static_cast<size_t>(got) > kMaxFileBytes) {
      const int error = got < 0 ? errno : EFBIG;
      close(fd);
      return Failed<std::string>(StatusOf(error), path);
    }
    if (got == 0) break;
    text.append(buffer, static_cast<size_t>(got));
  }
  close(fd);
  return Ok(std::move(text), path);
}

std::string Procfs::PidPath(int64_t pid, std::string_view file) const {
  return root_ + "/" + std::to_string(pid) + "/" + std::string(file);
}

ProcRead<std::string> Procfs::Read(std::string_view relative) const {
  return ReadTextFile(root_ + "/" + std::string(relative));
}

std::vector<int64_t> Procfs::Pids() const {
  std::vector<int64_t> pids;
  const DirPtr dir(opendir(root_.c_str()));
  if (!dir) return pids;
  while (const dirent* entry = readdir(dir.get())) {
    if (!IsDigits(entry->d_name)) continue;
    if (const auto pid = text::ParseNumber(entry->d_name)) pids.push_back(*pid);
  }
  std::sort(pids.begin(), pids.end());
  return pids;
}

ProcRead<ProcStat> Procfs::Stat(int64_t pid) const {
  return ParseRead(ReadTextFile(PidPath(pid, "stat")), ParseProcStat);
}

ProcRead<OpenFilesLimit> Procfs::Limits(int64_t pid) const {
  return ParseRead(ReadTextFile(PidPath(pid, "limits")), ParseOpenFilesLimit);
}

ProcRead<std::string> Procfs::Cmdline(int64_t pid) const {
  return ReadTextFile(PidPath(pid, "cmdline"));
}

ProcRead<std::string> Procfs::ExeName(int64_t pid) const {
  const std::string path = PidPath(pid, "exe");
  char target[4096];
  const ssize_t length = readlink(path.c_str(), target, sizeof(target));
  if (length < 0) return Failed<std::string>(StatusOf(errno), path);
  if (static_cast<size_t>(length) >= sizeof(target)) {
    return Failed<std::string>(ReadStatus::kMalformed, path);
  }
  return Ok(ExeBasename(std::string_view(target, static_cast<size_t>(length))), path);
}

ProcRead<FdTable> Procfs::Fds(int64_t pid, bool socket_inodes) const {
  const std::string path = PidPath(pid, "fd");
  const DirPtr dir(opendir(path.c_str()));
  if (!dir) return Failed<FdTable>(StatusOf(errno), path);
  FdTable table;
  while (true) {
    errno = 0;  // readdir signals an error only through errno
    const dirent* entry = readdir(dir.get());
    if (!entry) break;
    if (!IsDigits(entry->d_name)) continue;  // "." and ".."
    ++table.open;
    if (!socket_inodes) continue;
    if (table.sockets_denied) continue;
    if (const auto inode = SocketInodeAt(dirfd(dir.get()), entry->d_name, &table.sockets_denied)) {
      table.socket_inodes.push_back(*inode);
    }
  }
  if (errno != 0) return Failed<FdTable>(StatusOf(errno), path);
  if (table.sockets_denied) table.socket_inodes.clear();
  return Ok(std::move(table), path);
}

ProcRead<PostmasterPid> Procfs::CwdPostmasterPid(int64_t pid) const {
  return ParseRead(ReadTextFile(PidPath(pid, "cwd/postmaster.pid")), ParsePostmasterPid);
}

ProcRead<std::vector<TcpSocket>> Procfs::TcpSockets() const {
  auto parse = [](std::string_view text) { return ParseNetTcp(text); };
  auto v4 = ParseRead(Read("net/tcp"), parse);
  if (!v4.value) return v4;
  auto v6 = ParseRead(Read("net/tcp6"), parse);
  if (v6.status == ReadStatus::kMissing) return v4;  // IPv6 disabled
  if (!v6.value) return v6;
  v4.value->insert(v4.value->end(), v6.value->begin(), v6.value->end());
  return v4;
}

ProcRead<FileNr> Procfs::FileNrs() const { return ParseRead(Read("sys/fs/file-nr"), ParseFileNr); }

ProcRead<int64_t> Procfs::FileMax() const {
  return ParseRead(Read("sys/fs/file-max"), ParseFileMax);
}

ProcRead<PortRange> Procfs::LocalPortRange() const {
  return ParseRead(Read("sys/net/ipv4/ip_local_port_range"), ParsePortRange);
}

}  // namespace pgconn
