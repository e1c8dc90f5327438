// Runs every poller's polls on a small pool of threads, in order of due time, instead of a
// thread per target. A poll that blocks (frozen backend, black-holed host) holds one worker
// until its client-side deadline; when a due poll finds no idle worker for `grow_after`, the
// pool grows (up to `max_workers`), so the healthy targets stay on time. Workers idle for
// `idle_exit` exit again (one stays).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <queue>
#include <random>
#include <string>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "pgconn/config.h"

namespace pgconn {

class PollScheduler {
 public:
  using Clock = std::chrono::steady_clock;
  using Poll = std::function<int()>;  // one poll; returns the consecutive failures after it
  using Crash = std::function<void(const std::string&)>;
  using JobId = uint64_t;

  struct Options {
    size_t max_workers = 100;
    Millis grow_after{250};   // how long a due poll may wait for a busy pool before it grows
    Millis idle_exit{60000};  // an idle worker beyond the first exits after this long
  };

  struct Stats {
    size_t workers = 0;  // alive
    size_t busy = 0;     // running a poll now
    size_t jobs = 0;
    uint64_t workers_started = 0;        // since construction
    double max_start_delay_seconds = 0;  // worst due-to-start delay of any poll so far
  };

  explicit PollScheduler(Options options);
  ~PollScheduler();  // joins every thread; a running poll finishes first
  PollScheduler(const PollScheduler&) = delete;
  PollScheduler& operator=(const PollScheduler&) = delete;

  // `poll` first runs after `first_delay`, then on the interval while it returns 0, else after
  // BackoffDelay (with jitter). An exception from `poll` goes to `on_crash` and ends the job.
  JobId Add(Millis interval, Millis first_delay, Poll poll, Crash on_crash);
  // The job never starts again; returns at once (a running poll may still finish).
  void Cancel(JobId id);
  // Cancel, then wait until a running poll of the job has finished.
  void Remove(JobId id);
  Stats stats() const;

 private:
  struct Job {
    Millis interval;
    Poll poll;
    Crash on_crash;
    Clock::time_point due;
    bool running = false;
    bool cancelled = false;
    std::thread::id runner;
  };
  using Timer = std::pair<Clock::time_point, JobId>;

  void Dispatch();
  void Work(uint64_t worker_id);
  void MoveDueLocked(Clock::time_point now);
  bool CanGrowLocked() const;  // a due poll waits and the pool is below its cap
  bool ShouldGrowLocked(Clock::time_point now) const;
  void StartWorkerLocked();
  // An idle worker. The dispatcher wakes one per due poll, the one idle the shortest time:
  // waking the whole pool for each poll (67 a second at 1,000 targets) cost a fleet a quarter
  // of a core in futex wake-ups, kept every worker from ever idling out, and those constant
  // short wake-ups made the scheduler hold back the publisher thread for hundreds of ms.
  struct Waiter {
    std::condition_variable wake;
    bool woken = false;
  };
  // Waits as a Waiter; false when the worker is to exit (stopping, or idle too long and not
  // the last one).
  bool WaitIdleLocked(std::unique_lock<std::mutex>& lock);
  void WakeIdleLocked();
  void RunJob(std::unique_lock<std::mutex>& lock, JobId id, Job& job);
  void RescheduleLocked(JobId id, Job& job, int failures);
  void JoinExited(std::unique_lock<std::mutex>& lock);

  const Options options_;
  mutable std::mutex mutex_;
  std::condition_variable dispatcher_wake_;
  std::condition_variable job_done_;
  std::unordered_map<JobId, Job> jobs_;
  std::priority_queue<Timer, std::vector<Timer>, std::greater<Timer>> timers_;
  std::deque<Timer> ready_;  // due, waiting for a worker: (due time, job)
  std::map<uint64_t, std::thread> workers_;
  std::vector<uint64_t> exited_;  // workers that returned, to be joined
  std::vector<Waiter*> waiters_;  // idle workers, the latest last
  size_t waking_ = 0;             // woken, not yet back on the lock
  size_t idle_ = 0;
  size_t busy_ = 0;
  uint64_t next_job_ = 1;
  uint64_t next_worker_ = 1;
  double max_start_delay_ = 0;
  std::minstd_rand random_;
  bool stopping_ = false;
  std::thread dispatcher_;  // last: starts after every member above exists
};

}  // namespace pgconn
