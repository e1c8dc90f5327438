// Owns one target's server log follower and the thread that drives it. Create one per
// [[target]] with server_log; destroying it stops and joins the thread (config reload can
// add and remove watchers at run time).
#pragma once

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "pgconn/config.h"
#include "pgconn/refusal_metrics.h"

namespace spdlog {
class logger;
}

namespace pgconn {

class LogWatcher {
 public:
  using Publish = std::function<void(const std::string& target, const ServerLogStatus&)>;
  static constexpr Millis kDefaultTick{200};

  // Opens the log at its end now, so nothing written from here on is missed.
  LogWatcher(std::string target, std::string path, Millis publish_interval, Publish publish,
             std::shared_ptr<spdlog::logger> log, Millis tick = kDefaultTick);
  ~LogWatcher();  // stops and joins the thread
  LogWatcher(const LogWatcher&) = delete;
  LogWatcher& operator=(const LogWatcher&) = delete;

  void Start();
  // Reads what is new and publishes; what the thread does every tick. For tests and --once.
  void PollOnce();
  ServerLogStatus status() const;
  const std::string& target() const { return target_; }

 private:
  void Run();

  std::string target_;
  Millis publish_interval_;
  Publish publish_;
  std::shared_ptr<spdlog::logger> log_;
  Millis tick_;
  LogFollower follower_;
  std::chrono::steady_clock::time_point last_publish_{};
  bool was_open_ = false;

  mutable std::mutex status_mutex_;
  ServerLogStatus status_;

  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace pgconn
