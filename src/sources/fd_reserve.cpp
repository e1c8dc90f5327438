#include "pgconn/fd_reserve.h"

#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <utility>

#include "pgconn/thread_name.h"

namespace pgconn {

FdLimit RaiseFdLimit() {
  FdLimit result;
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return result;
  result.soft_before = limit.rlim_cur;
  result.soft = limit.rlim_cur;
  result.hard = limit.rlim_max;
  if (limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &limit) == 0) result.soft = limit.rlim_max;
  }
  return result;
}

FdReserve::FdReserve(int count, int period_ms, std::function<void(uint64_t)> on_exhausted)
    : wanted_(count), period_ms_(period_ms), on_exhausted_(std::move(on_exhausted)) {
  Refill();
  thread_ = std::thread([this] { Run(); });
}

FdReserve::~FdReserve() {
  {
    const std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
  for (const int fd : spares_) close(fd);
}

bool FdReserve::Full() const {
  const int probe = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 0);
  if (probe >= 0) {
    close(probe);
    return false;
  }
  return errno == EMFILE || errno == ENFILE;
}

void FdReserve::Refill() {
  while (static_cast<int>(spares_.size()) < wanted_) {
    const int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (fd < 0) break;
    spares_.push_back(fd);
  }
  held_ = static_cast<int>(spares_.size());
}

void FdReserve::Run() {
  NameThisThread("pgconn-fdspare");
  std::unique_lock<std::mutex> lock(mutex_);
  while (
      !wake_.wait_for(lock, std::chrono::milliseconds(period_ms_), [this] { return stopping_; })) {
    if (!Full()) {
      // Keep one descriptor free for the listener; never take the last one back.
      if (static_cast<int>(spares_.size()) < wanted_) {
        const int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (fd >= 0 && Full()) {
          close(fd);
        } else if (fd >= 0) {
          spares_.push_back(fd);
        }
        held_ = static_cast<int>(spares_.size());
      }
      continue;
    }
    const uint64_t total = ++exhausted_total_;
    if (!spares_.empty()) {
      close(spares_.back());
      spares_.pop_back();
      held_ = static_cast<int>(spares_.size());
    }
    try {
      if (on_exhausted_) on_exhausted_(total);
    } catch (...) {
      // A failing log sink must not end the thread.
    }
  }
}

}  // namespace pgconn
