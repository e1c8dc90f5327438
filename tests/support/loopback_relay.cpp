#include "support/loopback_relay.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <stdexcept>
#include <utility>
#include <vector>

namespace pgconn::testing {
namespace {

sockaddr_in Address(const std::string& ip, int port) {
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  if (inet_pton(AF_INET, ip.c_str(), &address.sin_addr) != 1) {
    throw std::runtime_error("LoopbackRelay: bad IPv4 address " + ip);
  }
  return address;
}

sockaddr* AsSockaddr(sockaddr_in* address) { return reinterpret_cast<sockaddr*>(address); }

// A connected socket from `source` to 127.0.0.1:port; -1 on failure.
int ConnectFrom(const std::string& source, int port) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in local = Address(source, 0);
  sockaddr_in remote = Address("127.0.0.1", port);
  if (bind(fd, AsSockaddr(&local), sizeof(local)) != 0 ||
      connect(fd, AsSockaddr(&remote), sizeof(remote)) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

bool WriteAll(int fd, const char* data, ssize_t size) {
  while (size > 0) {
    const ssize_t written = send(fd, data, static_cast<size_t>(size), MSG_NOSIGNAL);
    if (written < 0 && errno == EINTR) continue;
    if (written <= 0) return false;
    data += written;
    size -= written;
  }
  return true;
}

// Moves what is readable on `from` to `to`; false at EOF or on an error.
bool Forward(int from, int to) {
  char buffer[65536];
  const ssize_t got = recv(from, buffer, sizeof(buffer), 0);
  if (got < 0 && errno == EINTR) return true;
  return got > 0 && WriteAll(to, buffer, got);
}

struct Pair {
  int client = -1;
  int server = -1;
};

}  // namespace

LoopbackRelay::LoopbackRelay(int target_port, std::string source_address)
    : target_port_(target_port), source_(std::move(source_address)) {
  listen_fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address = Address("127.0.0.1", 0);
  socklen_t length = sizeof(address);
  if (listen_fd_ < 0 || bind(listen_fd_, AsSockaddr(&address), sizeof(address)) != 0 ||
      listen(listen_fd_, 128) != 0 || getsockname(listen_fd_, AsSockaddr(&address), &length) != 0 ||
      pipe2(wake_, O_CLOEXEC) != 0) {
    const std::string error = std::strerror(errno);
    if (listen_fd_ >= 0) close(listen_fd_);
    throw std::runtime_error("LoopbackRelay: cannot listen: " + error);
  }
  port_ = ntohs(address.sin_port);
  thread_ = std::thread([this] {
    try {
      Run();
    } catch (...) {
      // The sessions it carried fail on their own; a test notices that.
    }
  });
}

LoopbackRelay::~LoopbackRelay() {
  const char stop = 1;
  if (write(wake_[1], &stop, 1) < 0) {
    // Nothing else to do: the thread is joined below either way once it sees the pipe.
  }
  if (thread_.joinable()) thread_.join();
  close(listen_fd_);
  close(wake_[0]);
  close(wake_[1]);
}

void LoopbackRelay::Run() {
  std::vector<Pair> pairs;
  while (true) {
    std::vector<pollfd> fds = {{wake_[0], POLLIN, 0}, {listen_fd_, POLLIN, 0}};
    for (const Pair& pair : pairs) {
      fds.push_back({pair.client, POLLIN, 0});
      fds.push_back({pair.server, POLLIN, 0});
    }
    if (poll(fds.data(), fds.size(), -1) < 0 && errno != EINTR) break;
    if (fds[0].revents != 0) break;
    std::vector<Pair> alive;
    for (std::size_t i = 0; i < pairs.size(); ++i) {
      const pollfd& client = fds[2 + 2 * i];
      const pollfd& server = fds[3 + 2 * i];
      bool ok = true;
      if (client.revents != 0) ok = Forward(pairs[i].client, pairs[i].server);
      if (ok && server.revents != 0) ok = Forward(pairs[i].server, pairs[i].client);
      if (ok) {
        alive.push_back(pairs[i]);
      } else {
        close(pairs[i].client);
        close(pairs[i].server);
      }
    }
    pairs = std::move(alive);
    if (fds[1].revents & POLLIN) {
      const int client = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      const int server = client < 0 ? -1 : ConnectFrom(source_, target_port_);
      if (server >= 0) {
        pairs.push_back({client, server});
      } else if (client >= 0) {
        close(client);
      }
    }
  }
  for (const Pair& pair : pairs) {
    close(pair.client);
    close(pair.server);
  }
}

void AllowLoopbackClients(const std::string& data_dir) {
  std::ofstream hba(data_dir + "/pg_hba.conf", std::ios::app);
  hba << "\n# pgconn tests: sessions relayed from 127.0.0.x (LoopbackRelay)\n"
      << "host all all 127.0.0.0/8 scram-sha-256\n";
  if (!hba) throw std::runtime_error("cannot append to " + data_dir + "/pg_hba.conf");
}

}  // namespace pgconn::testing
