#include "pgconn/deadline_watchdog.h"

#include <sys/socket.h>

#include <algorithm>

#include "pgconn/thread_name.h"

namespace pgconn {

DeadlineWatchdog::DeadlineWatchdog() : thread_([this] { Run(); }) {}

DeadlineWatchdog::~DeadlineWatchdog() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

DeadlineWatchdog::Guard DeadlineWatchdog::Arm(int socket_fd, Clock::time_point deadline) {
  uint64_t id = 0;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    id = next_id_++;
    entries_[id] = Entry{socket_fd, deadline};
  }
  wake_.notify_all();
  return Guard(*this, id);
}

void DeadlineWatchdog::Disarm(uint64_t id) {
  std::lock_guard<std::mutex> lock(mutex_);
  entries_.erase(id);
}

bool DeadlineWatchdog::Fired(uint64_t id) const {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = entries_.find(id);
  return it != entries_.end() && it->second.fired;
}

// Runs under mutex_, so a Guard cannot disarm (and its owner close the socket) mid-shutdown.
void DeadlineWatchdog::FireExpiredLocked(Clock::time_point now) {
  for (auto& [id, entry] : entries_) {
    if (!entry.fired && entry.deadline <= now) {
      ::shutdown(entry.socket_fd, SHUT_RDWR);
      entry.fired = true;
    }
  }
}

void DeadlineWatchdog::Run() {
  NameThisThread("pgconn-deadline");
  std::unique_lock<std::mutex> lock(mutex_);
  while (!stopping_) {
    FireExpiredLocked(Clock::now());
    auto next = Clock::time_point::max();
    for (const auto& [id, entry] : entries_) {
      if (!entry.fired) next = std::min(next, entry.deadline);
    }
    if (next == Clock::time_point::max()) {
      wake_.wait(lock);
    } else {
      wake_.wait_until(lock, next);
    }
  }
}

}  // namespace pgconn
