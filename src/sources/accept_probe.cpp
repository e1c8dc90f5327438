#include "pgconn/accept_probe.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>

#include "pgconn/conninfo.h"

namespace pgconn {
namespace {

using Clock = std::chrono::steady_clock;
// GSSENCRequest (1234 << 16 | 5680): answered 'G' or 'N' by the forked child, and closing
// right after logs nothing; an SSLRequest answered 'S' would log "could not accept SSL
// connection: EOF detected" on every probe when ssl = on.
constexpr uint32_t kGssEncRequestCode = 80877104;
constexpr const char* kDefaultSocketDir = "/var/run/postgresql";

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

int RemainingMs(Clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return static_cast<int>(std::max<int64_t>(0, left.count()));
}

// Waits for `events` on `fd` until the deadline; false on timeout or error.
bool WaitFor(int fd, short events, Clock::time_point deadline, std::string* error) {
  pollfd entry{fd, events, 0};
  while (true) {
    const int ready = ::poll(&entry, 1, RemainingMs(deadline));
    if (ready > 0) return true;
    if (ready == 0) {
      *error = "no answer before the probe deadline";
      return false;
    }
    if (errno != EINTR) {
      *error = std::string("poll: ") + std::strerror(errno);
      return false;
    }
  }
}

bool ConnectWithin(int fd, const sockaddr* addr, socklen_t len, Clock::time_point deadline,
                   std::string* error) {
  if (::connect(fd, addr, len) == 0) return true;
  if (errno != EINPROGRESS && errno != EAGAIN) {
    *error = std::string("connect: ") + std::strerror(errno);
    return false;
  }
  if (!WaitFor(fd, POLLOUT, deadline, error)) return false;
  int so_error = 0;
  socklen_t size = sizeof(so_error);
  ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &so_error, &size);
  if (so_error == 0) return true;
  *error = std::string("connect: ") + std::strerror(so_error);
  return false;
}

// Sends the GSSENCRequest and reads the one-byte answer.
bool Exchange(int fd, Clock::time_point deadline, std::string* error) {
  const uint32_t packet[2] = {htonl(8), htonl(kGssEncRequestCode)};
  if (::send(fd, packet, sizeof(packet), MSG_NOSIGNAL) != sizeof(packet)) {
    *error = std::string("send: ") + std::strerror(errno);
    return false;
  }
  if (!WaitFor(fd, POLLIN, deadline, error)) return false;
  char answer = 0;
  const ssize_t got = ::recv(fd, &answer, 1, 0);
  if (got == 1 && (answer == 'G' || answer == 'N' || answer == 'S')) return true;
  // An 'E' is an ErrorResponse: the postmaster is up but refuses (e.g. too many children).
  *error = got == 1 ? "unexpected answer '" + std::string(1, answer) + "'"
                    : "connection closed without an answer";
  return false;
}

bool ProbeUnix(const std::string& path, Clock::time_point deadline, std::string* error) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof(addr.sun_path)) {
    *error = "socket path too long: " + path;
    return false;
  }
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  Fd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (fd.get() < 0) {
    *error = std::string("socket: ") + std::strerror(errno);
    return false;
  }
  return ConnectWithin(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr), deadline,
                       error) &&
         Exchange(fd.get(), deadline, error);
}

bool ProbeTcp(const AcceptEndpoint& endpoint, Clock::time_point deadline, std::string* error) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  const int rc = ::getaddrinfo(endpoint.host.c_str(), endpoint.port.c_str(), &hints, &found);
  if (rc != 0) {
    *error = std::string("resolve: ") + ::gai_strerror(rc);
    return false;
  }
  std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> owned(found, &::freeaddrinfo);
  Fd fd(::socket(found->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (fd.get() < 0) {
    *error = std::string("socket: ") + std::strerror(errno);
    return false;
  }
  // Close with a reset: a normal close would leave our side in TIME_WAIT for a minute, one
  // ephemeral port per probe. The child waiting for our next packet exits without a log line.
  const linger abort_on_close{1, 0};
  ::setsockopt(fd.get(), SOL_SOCKET, SO_LINGER, &abort_on_close, sizeof(abort_on_close));
  return ConnectWithin(fd.get(), found->ai_addr, found->ai_addrlen, deadline, error) &&
         Exchange(fd.get(), deadline, error);
}

}  // namespace

std::optional<AcceptEndpoint> AcceptEndpointFor(const TargetConfig& target) {
  const auto hosts = DsnHosts(target.dsn);
  if (!hosts || hosts->empty()) return std::nullopt;
  const DsnHost& first = hosts->front();
  AcceptEndpoint endpoint;
  if (!first.port.empty()) endpoint.port = first.port;
  const std::string& host = first.hostaddr.empty() ? first.host : first.hostaddr;
  if (host.empty() || host.front() == '/') {
    const std::string dir = host.empty() ? kDefaultSocketDir : host;
    endpoint.socket_path = dir + "/.s.PGSQL." + endpoint.port;
  } else {
    endpoint.host = host;
  }
  return endpoint;
}

AcceptProbeResult ProbeAccept(const AcceptEndpoint& endpoint, std::chrono::milliseconds timeout) {
  const auto started = Clock::now();
  const auto deadline = started + timeout;
  AcceptProbeResult result;
  result.accepting = endpoint.socket_path.empty()
                         ? ProbeTcp(endpoint, deadline, &result.error)
                         : ProbeUnix(endpoint.socket_path, deadline, &result.error);
  result.duration_seconds = std::chrono::duration<double>(Clock::now() - started).count();
  return result;
}

AcceptProbeResult SharedAcceptProbe::Probe(const AcceptEndpoint& endpoint,
                                           std::chrono::milliseconds timeout,
                                           std::chrono::milliseconds max_age) {
  const std::string key =
      endpoint.socket_path.empty() ? endpoint.host + "\n" + endpoint.port : endpoint.socket_path;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = answers_.find(key);
    if (it != answers_.end() && Clock::now() - it->second.at < max_age) return it->second.result;
  }
  AcceptProbeResult result = probe_(endpoint, timeout);
  std::lock_guard<std::mutex> lock(mutex_);
  answers_[key] = Answer{Clock::now(), result};
  return result;
}

}  // namespace pgconn
