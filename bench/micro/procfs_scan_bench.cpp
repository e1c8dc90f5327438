// Cost of one /proc scan when a watched process holds 1,000 TCP sockets to a target.
// The benchmark process itself is the watched process ([[process]] pid_file = its pid): it
// listens on 127.0.0.1 and opens state.range(0) connections to itself (not accepted, so
// the server side sits in the accept queue and net/tcp has about twice as many lines).
//   - ProcessScan/FullScan: ProcessScanner::Scan + MapProcessScan, what the watcher does
//     every poll_interval. The target is loopback, so it also looks for a postmaster on
//     that port (none there: a walk over every process's stat, each scan).
//   - ProcessScan/FdTable: readdir + readlink of the process's fd directory only.
//   - ProcessScan/NetTcp: reading and parsing net/tcp + net/tcp6 only.
//   - ProcessScan/ParseNetTcp: parsing net/tcp, read once (the rest of NetTcp is the kernel
//     writing the file).
// Run: build-bench/bench/pgconn_micro_bench --benchmark_filter=ProcessScan
#include <arpa/inet.h>
#include <benchmark/benchmark.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "pgconn/process_metrics.h"
#include "pgconn/process_scan.h"
#include "pgconn/procfs.h"

namespace {

class ProcessScan : public benchmark::Fixture {
 public:
  void SetUp(const benchmark::State& state) override {
    const auto sockets = static_cast<int>(state.range(0));
    RaiseFdLimit(static_cast<rlim_t>(sockets) + 256);
    listener_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof(address);
    if (bind(listener_, reinterpret_cast<sockaddr*>(&address), length) != 0 ||
        listen(listener_, sockets + 16) != 0 ||
        getsockname(listener_, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
      throw std::runtime_error("cannot listen on 127.0.0.1");
    }
    port_ = ntohs(address.sin_port);
    for (int i = 0; i < sockets; ++i) {
      const int fd = socket(AF_INET, SOCK_STREAM, 0);
      if (fd < 0 || connect(fd, reinterpret_cast<sockaddr*>(&address), length) != 0) {
        throw std::runtime_error("connect failed after " + std::to_string(i) + " sockets");
      }
      clients_.push_back(fd);
    }
    char pid_file[] = "/tmp/pgconn-bench-XXXXXX";
    const int pid_fd = mkstemp(pid_file);
    const std::string pid = std::to_string(getpid()) + "\n";
    if (pid_fd < 0 || write(pid_fd, pid.data(), pid.size()) != static_cast<ssize_t>(pid.size())) {
      throw std::runtime_error("cannot write a pid file");
    }
    close(pid_fd);
    pid_file_ = pid_file;
  }

  void TearDown(const benchmark::State&) override {
    for (const int fd : clients_) close(fd);
    clients_.clear();
    close(listener_);
    std::remove(pid_file_.c_str());
  }

 protected:
  pgconn::ProcessScanner MakeScanner() const {
    pgconn::TargetConfig target;
    target.name = "main";
    target.dsn = "host=127.0.0.1 port=" + std::to_string(port_);
    return pgconn::ProcessScanner(
        "/proc", {{"bench", pgconn::ProcessMatch::kPidFile, pid_file_, ""}}, {target});
  }

 private:
  static void RaiseFdLimit(rlim_t needed) {
    rlimit limit{};
    getrlimit(RLIMIT_NOFILE, &limit);
    if (limit.rlim_cur >= needed) return;
    limit.rlim_cur = std::min(needed, limit.rlim_max);
    setrlimit(RLIMIT_NOFILE, &limit);
  }

  int listener_ = -1;
  int port_ = 0;
  std::vector<int> clients_;
  std::string pid_file_;
};

BENCHMARK_DEFINE_F(ProcessScan, FullScan)(benchmark::State& state) {
  pgconn::ProcessScanner scanner = MakeScanner();
  const pgconn::ScrapeErrorCounter errors(scanner.GroupNames());
  double sockets = 0;
  for (auto _ : state) {
    const pgconn::ProcessScan scan = scanner.Scan({});
    benchmark::DoNotOptimize(pgconn::MapProcessScan(scan, errors));
    sockets = scan.sockets ? static_cast<double>(scan.sockets->size()) : -1;
  }
  state.counters["net_tcp_lines"] = sockets;
}

BENCHMARK_DEFINE_F(ProcessScan, FdTable)(benchmark::State& state) {
  const pgconn::Procfs procfs("/proc");
  for (auto _ : state) benchmark::DoNotOptimize(procfs.Fds(getpid(), true));
}

BENCHMARK_DEFINE_F(ProcessScan, NetTcp)(benchmark::State& state) {
  const pgconn::Procfs procfs("/proc");
  for (auto _ : state) benchmark::DoNotOptimize(procfs.TcpSockets());
}

BENCHMARK_DEFINE_F(ProcessScan, ParseNetTcp)(benchmark::State& state) {
  const auto text = pgconn::ReadTextFile("/proc/net/tcp");
  if (!text.value) {
    state.SkipWithError("cannot read /proc/net/tcp");
    return;
  }
  for (auto _ : state) benchmark::DoNotOptimize(pgconn::ParseNetTcp(*text.value));
}

BENCHMARK_REGISTER_F(ProcessScan, FullScan)->Arg(1000)->Unit(benchmark::kMillisecond);
BENCHMARK_REGISTER_F(ProcessScan, FdTable)->Arg(1000)->Unit(benchmark::kMillisecond);
BENCHMARK_REGISTER_F(ProcessScan, NetTcp)->Arg(1000)->Unit(benchmark::kMillisecond);
BENCHMARK_REGISTER_F(ProcessScan, ParseNetTcp)->Arg(1000)->Unit(benchmark::kMillisecond);

}  // namespace
