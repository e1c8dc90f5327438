#include "pgconn/process_watcher.h"

#include <spdlog/spdlog.h>

#include <chrono>

#include "pgconn/clock_math.h"
#include "pgconn/thread_name.h"

namespace pgconn {
namespace {

using SteadyClock = std::chrono::steady_clock;

constexpr const char* kCapabilityHint =
    "reading another user's /proc/PID/fd needs the same user, CAP_SYS_PTRACE or "
    "CAP_DAC_READ_SEARCH (see docs/deploy.md)";

}  // namespace

ProcessWatcher::ProcessWatcher(std::unique_ptr<ProcessScanner> scanner, const TargetFacts& facts,
                               Millis interval, Publish publish,
                               std::shared_ptr<spdlog::logger> log)
    : scanner_(std::move(scanner)),
      facts_(facts),
      interval_(interval),
      publish_(std::move(publish)),
      log_(std::move(log)),
      errors_(scanner_->GroupNames()) {}

ProcessWatcher::~ProcessWatcher() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void ProcessWatcher::ScanOnce() {
  std::lock_guard<std::mutex> lock(scan_mutex_);
  try {
    const auto started = SteadyClock::now();
    ProcessScan scan = scanner_->Scan(facts_.Settings());
    scan.duration_seconds = std::chrono::duration<double>(SteadyClock::now() - started).count();
    LogFirstSeen(errors_.Add(scan.problems));
    log_->debug("/proc scan took {:.1f} ms", scan.duration_seconds * 1000);
    publish_(MapProcessScan(scan, errors_));
  } catch (const std::exception& error) {
    log_->error("/proc scan failed: {}", error.what());
  }
}

void ProcessWatcher::LogFirstSeen(const std::vector<ScanProblem>& problems) const {
  for (const ScanProblem& problem : problems) {
    const std::string who = problem.group.empty() ? "host" : "process " + problem.group;
    if (problem.status == ReadStatus::kPermission) {
      log_->warn("{}: cannot read {}: permission denied; {}", who, problem.path, kCapabilityHint);
    } else if (problem.status == ReadStatus::kMalformed) {
      log_->warn("{}: {} is malformed; its numbers are left out", who, problem.path);
    } else if (!problem.path.empty() && problem.path[0] == '/') {
      log_->warn("{}: cannot read {}", who, problem.path);
    } else {
      log_->warn("{}: {} failed", who, problem.path);  // e.g. resolving a target's host name
    }
  }
}

void ProcessWatcher::Start() {
  thread_ = std::thread([this] {
    NameThisThread("pgconn-procscan");
    try {
      Run();
    } catch (const std::exception& error) {
      log_->critical("process watcher stopped: {}", error.what());
    } catch (...) {
      log_->critical("process watcher stopped by an unknown exception");
    }
  });
}

void ProcessWatcher::Run() {
  auto next = SteadyClock::now();
  while (true) {
    ScanOnce();
    next = std::max(SaturatingAdd<SteadyClock>(next, interval_), SteadyClock::now());
    std::unique_lock<std::mutex> lock(mutex_);
    if (wake_.wait_until(lock, next, [this] { return stopping_; })) return;
  }
}

}  // namespace pgconn
