// A TCP relay that makes test sessions arrive from a chosen loopback address (127.0.0.x), so
// PostgreSQL sees distinct client_addr values. Needed because libpq cannot choose its source
// address, and Linux picks 127.0.0.1 as the source for every 127.0.0.0/8 destination (the
// local route's preferred source), so connecting *to* 127.0.0.2 is not enough.
#pragma once

#include <string>
#include <thread>

namespace pgconn::testing {

class LoopbackRelay {
 public:
  // Listens on 127.0.0.1:port(); each accepted connection is forwarded to
  // 127.0.0.1:target_port from `source_address`. The server's pg_hba.conf must accept it
  // (see AllowLoopbackClients). Throws std::runtime_error when it cannot listen.
  LoopbackRelay(int target_port, std::string source_address);
  ~LoopbackRelay();  // stops the thread, closes every relayed connection
  LoopbackRelay(const LoopbackRelay&) = delete;
  LoopbackRelay& operator=(const LoopbackRelay&) = delete;

  int port() const { return port_; }
  const std::string& source_address() const { return source_; }

 private:
  void Run();

  int target_port_;
  std::string source_;
  int listen_fd_ = -1;
  int wake_[2] = {-1, -1};  // a pipe: written once to stop Run()
  int port_ = 0;
  std::thread thread_;
};

// Appends "host all all 127.0.0.0/8 scram-sha-256" to a TestPostgres data directory's
// pg_hba.conf; reload the server afterwards (SELECT pg_reload_conf()).
void AllowLoopbackClients(const std::string& data_dir);

}  // namespace pgconn::testing
