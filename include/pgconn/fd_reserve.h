// File descriptors for the listener when the process runs out of them.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace pgconn {

struct FdLimit {
  uint64_t soft_before = 0;
  uint64_t soft = 0;
  uint64_t hard = 0;
};
// Raises the soft RLIMIT_NOFILE to the hard limit (as Go programs do at start).
FdLimit RaiseFdLimit();

// Holds `count` spare descriptors (on /dev/null). A thread checks every `period` whether the
// table is full (dup() fails with EMFILE/ENFILE); if so it counts it, calls `on_exhausted`
// and frees one spare so civetweb's accept() can take the waiting scrape instead of spinning
// on the readable listener. Spares are taken back as soon as descriptors are free again.
class FdReserve {
 public:
  FdReserve(int count, int period_ms, std::function<void(uint64_t total)> on_exhausted);
  ~FdReserve();  // stops and joins the thread, closes the spares
  FdReserve(const FdReserve&) = delete;
  FdReserve& operator=(const FdReserve&) = delete;

  uint64_t exhausted_total() const { return exhausted_total_.load(); }
  int held() const { return held_.load(); }

 private:
  void Run();
  bool Full() const;
  void Refill();

  int wanted_;
  int period_ms_;
  std::function<void(uint64_t)> on_exhausted_;
  std::vector<int> spares_;  // only the thread touches it after construction
  std::atomic<uint64_t> exhausted_total_{0};
  std::atomic<int> held_{0};
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace pgconn
