#include "pgconn/poll_scheduler.h"

#include <algorithm>

#include "pgconn/clock_math.h"
#include "pgconn/poll_loop.h"
#include "pgconn/thread_name.h"

namespace pgconn {

PollScheduler::PollScheduler(Options options)
    : options_(std::move(options)),
      random_(std::random_device{}()),
      dispatcher_([this] { Dispatch(); }) {}

PollScheduler::~PollScheduler() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  dispatcher_wake_.notify_all();
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (Waiter* waiter : waiters_) waiter->wake.notify_one();
  }
  dispatcher_.join();
  std::map<uint64_t, std::thread> workers;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    workers.swap(workers_);
  }
  for (auto& [id, thread] : workers) thread.join();
}

PollScheduler::JobId PollScheduler::Add(Millis interval, Millis first_delay, Poll poll,
                                        Crash on_crash) {
  std::lock_guard<std::mutex> lock(mutex_);
  const JobId id = next_job_++;
  Job& job = jobs_[id];
  job.interval = interval;
  job.poll = std::move(poll);
  job.on_crash = std::move(on_crash);
  job.due = SaturatingAdd<Clock>(Clock::now(), first_delay);
  timers_.emplace(job.due, id);
  dispatcher_wake_.notify_one();
  return id;
}

void PollScheduler::Cancel(JobId id) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = jobs_.find(id);
  if (it == jobs_.end()) return;
  if (it->second.running) {
    it->second.cancelled = true;  // its worker erases it when the poll returns
  } else {
    jobs_.erase(it);  // its timer or ready entry is skipped once the job is gone
  }
}

void PollScheduler::Remove(JobId id) {
  std::unique_lock<std::mutex> lock(mutex_);
  auto it = jobs_.find(id);
  if (it == jobs_.end()) return;
  it->second.cancelled = true;
  // Removed from inside its own poll: waiting would never end; the worker erases it.
  if (it->second.running && it->second.runner == std::this_thread::get_id()) return;
  job_done_.wait(lock, [&] {
    auto found = jobs_.find(id);
    return found == jobs_.end() || !found->second.running;
  });
  jobs_.erase(id);
}

PollScheduler::Stats PollScheduler::stats() const {
  std::lock_guard<std::mutex> lock(mutex_);
  Stats stats;
  stats.workers = workers_.size() - exited_.size();
  stats.busy = busy_;
  stats.jobs = jobs_.size();
  stats.workers_started = next_worker_ - 1;
  stats.max_start_delay_seconds = max_start_delay_;
  return stats;
}

// Stale entries (a cancelled job, or one re-added under the same due time) are skipped.
void PollScheduler::MoveDueLocked(Clock::time_point now) {
  while (!timers_.empty() && timers_.top().first <= now) {
    const Timer timer = timers_.top();
    timers_.pop();
    auto it = jobs_.find(timer.second);
    if (it == jobs_.end() || it->second.running || it->second.due != timer.first) continue;
    ready_.push_back(timer);
  }
}

bool PollScheduler::CanGrowLocked() const {
  return !ready_.empty() && idle_ < ready_.size() &&
         workers_.size() - exited_.size() < options_.max_workers;
}

bool PollScheduler::ShouldGrowLocked(Clock::time_point now) const {
  if (!CanGrowLocked()) return false;
  return workers_.size() == exited_.size() || ready_.front().first + options_.grow_after <= now;
}

void PollScheduler::StartWorkerLocked() {
  const uint64_t id = next_worker_++;
  workers_.emplace(id, std::thread([this, id] { Work(id); }));
}

void PollScheduler::JoinExited(std::unique_lock<std::mutex>& lock) {
  if (exited_.empty()) return;
  std::vector<std::thread> threads;
  for (uint64_t id : exited_) {
    auto it = workers_.find(id);
    if (it == workers_.end()) continue;
    threads.push_back(std::move(it->second));
    workers_.erase(it);
  }
  exited_.clear();
  lock.unlock();
  for (auto& thread : threads) thread.join();  // each has returned or is about to
  lock.lock();
}

void PollScheduler::Dispatch() {
  NameThisThread("pgconn-dispatch");
  std::unique_lock<std::mutex> lock(mutex_);
  while (!stopping_) {
    JoinExited(lock);
    const auto now = Clock::now();
    MoveDueLocked(now);
    WakeIdleLocked();
    if (ShouldGrowLocked(now)) {
      StartWorkerLocked();
      ++idle_;  // idle until it takes a job, so one overdue poll grows one worker
    }
    auto wake = timers_.empty() ? Clock::time_point::max() : timers_.top().first;
    if (CanGrowLocked()) wake = std::min(wake, ready_.front().first + options_.grow_after);
    if (wake == Clock::time_point::max()) {
      dispatcher_wake_.wait(lock);
    } else {
      dispatcher_wake_.wait_until(lock, wake);
    }
  }
}

void PollScheduler::WakeIdleLocked() {
  while (!waiters_.empty() && waking_ < ready_.size()) {
    Waiter* waiter = waiters_.back();
    waiters_.pop_back();
    waiter->woken = true;
    ++waking_;
    waiter->wake.notify_one();
  }
}

bool PollScheduler::WaitIdleLocked(std::unique_lock<std::mutex>& lock) {
  Waiter self;
  waiters_.push_back(&self);
  ++idle_;
  self.wake.wait_for(lock, options_.idle_exit, [&] { return stopping_ || self.woken; });
  --idle_;
  if (self.woken) {
    --waking_;
  } else {  // still listed: the dispatcher pops the ones it wakes
    waiters_.erase(std::find(waiters_.begin(), waiters_.end(), &self));
  }
  if (stopping_) return false;
  return self.woken || workers_.size() - exited_.size() <= 1;  // idle too long: shrink
}

void PollScheduler::Work(uint64_t worker_id) {
  NameThisThread("pgconn-poll");
  std::unique_lock<std::mutex> lock(mutex_);
  --idle_;  // the dispatcher counted this worker idle before it ran
  while (!stopping_) {
    if (ready_.empty()) {
      if (!WaitIdleLocked(lock)) break;
      if (ready_.empty()) continue;  // a worker back from a poll took it first
    }
    const Timer timer = ready_.front();
    ready_.pop_front();
    auto it = jobs_.find(timer.second);
    if (it == jobs_.end() || it->second.running) continue;
    const double delay = std::chrono::duration<double>(Clock::now() - timer.first).count();
    max_start_delay_ = std::max(max_start_delay_, delay);
    RunJob(lock, it->first, it->second);
  }
  exited_.push_back(worker_id);
  dispatcher_wake_.notify_one();
}

// Runs with `lock` released; `job` stays valid because a running job is never erased by
// another thread (Cancel and Remove leave it to this one).
void PollScheduler::RunJob(std::unique_lock<std::mutex>& lock, JobId id, Job& job) {
  job.running = true;
  job.runner = std::this_thread::get_id();
  ++busy_;
  lock.unlock();
  int failures = 0;
  std::string crash;
  try {
    failures = job.poll();
  } catch (const std::exception& error) {
    crash = error.what();
  } catch (...) {
    crash = "unknown exception";
  }
  if (!crash.empty()) {
    try {
      job.on_crash(crash);
    } catch (...) {
      // Nothing left to tell; the job ends either way.
    }
  }
  lock.lock();
  --busy_;
  job.running = false;
  if (job.cancelled || !crash.empty()) {
    jobs_.erase(id);
  } else {
    RescheduleLocked(id, job, failures);
  }
  job_done_.notify_all();
}

void PollScheduler::RescheduleLocked(JobId id, Job& job, int failures) {
  const auto now = Clock::now();
  if (failures == 0) {
    // Keep the cadence; after a long poll, start the next one now instead of bursting.
    job.due = std::max(SaturatingAdd<Clock>(job.due, job.interval), now);
  } else {
    std::uniform_real_distribution<double> jitter(0.8, 1.2);
    job.due = SaturatingAdd<Clock>(now, BackoffDelay(job.interval, failures, jitter(random_)));
  }
  timers_.emplace(job.due, id);
  dispatcher_wake_.notify_one();
}

}  // namespace pgconn
