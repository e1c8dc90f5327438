// Client-side deadlines for blocking libpq calls. A frozen backend never answers and a
// server-side statement_timeout cannot fire inside it, so when a deadline passes the
// watchdog shuts the socket down, which makes the blocked call fail at once.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <thread>

namespace pgconn {

class DeadlineWatchdog {
 public:
  using Clock = std::chrono::steady_clock;

  // Disarms on destruction; fired() tells whether the deadline shut the socket down.
  class Guard {
   public:
    Guard(DeadlineWatchdog& owner, uint64_t id) : owner_(owner), id_(id) {}
    ~Guard() { owner_.Disarm(id_); }
    Guard(const Guard&) = delete;
    Guard& operator=(const Guard&) = delete;
    bool fired() const { return owner_.Fired(id_); }

   private:
    DeadlineWatchdog& owner_;
    uint64_t id_;
  };

  DeadlineWatchdog();
  ~DeadlineWatchdog();
  DeadlineWatchdog(const DeadlineWatchdog&) = delete;
  DeadlineWatchdog& operator=(const DeadlineWatchdog&) = delete;

  // The socket must stay open until the Guard is destroyed.
  Guard Arm(int socket_fd, Clock::time_point deadline);

 private:
  struct Entry {
    int socket_fd;
    Clock::time_point deadline;
    bool fired = false;
  };

  void Disarm(uint64_t id);
  bool Fired(uint64_t id) const;
  void Run();
  void FireExpiredLocked(Clock::time_point now);

  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::map<uint64_t, Entry> entries_;
  uint64_t next_id_ = 1;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace pgconn
