#include "pgconn/log_watcher.h"

#include <spdlog/spdlog.h>

#include <cstring>

#include "pgconn/thread_name.h"

namespace pgconn {

LogWatcher::LogWatcher(std::string target, std::string path, Millis publish_interval,
                       Publish publish, std::shared_ptr<spdlog::logger> log, Millis tick)
    : target_(std::move(target)),
      publish_interval_(publish_interval),
      publish_(std::move(publish)),
      log_(std::move(log)),
      tick_(tick),
      follower_(path) {
  status_.path = std::move(path);
  status_.follower = follower_.stats();
  was_open_ = follower_.stats().open;
  if (!was_open_) {
    log_->warn("target {}: cannot open server log {} yet ({}); retrying", target_, status_.path,
               std::strerror(follower_.stats().open_errno));
  }
}

LogWatcher::~LogWatcher() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void LogWatcher::Start() {
  thread_ = std::thread([this] {
    NameThisThread("pgconn-logwatch");
    try {
      Run();
    } catch (const std::exception& error) {
      log_->critical("target {}: server log follower stopped: {}", target_, error.what());
    } catch (...) {
      log_->critical("target {}: server log follower stopped by an unknown exception", target_);
    }
  });
}

void LogWatcher::PollOnce() {
  bool counted = false;
  ServerLogStatus copy;
  {
    std::lock_guard<std::mutex> lock(status_mutex_);
    follower_.Poll([&](std::string_view line) {
      counted = CountLogEvent(ClassifyLogLine(line), status_) || counted;
    });
    status_.follower = follower_.stats();
    copy = status_;
  }
  if (copy.follower.open != was_open_) {
    log_->info("target {}: server log {} {}", target_, copy.path,
               copy.follower.open ? "followed" : "lost");
    was_open_ = copy.follower.open;
  }
  // Publish at once on a refusal; otherwise once per interval (line counters, log_up).
  const auto now = std::chrono::steady_clock::now();
  if (!counted && now - last_publish_ < publish_interval_) return;
  last_publish_ = now;
  try {
    publish_(target_, copy);
  } catch (const std::exception& error) {
    log_->error("target {}: publishing server log counts failed: {}", target_, error.what());
  }
}

ServerLogStatus LogWatcher::status() const {
  std::lock_guard<std::mutex> lock(status_mutex_);
  return status_;
}

void LogWatcher::Run() {
  while (true) {
    PollOnce();
    std::unique_lock<std::mutex> lock(mutex_);
    if (wake_.wait_for(lock, tick_, [this] { return stopping_; })) return;
  }
}

}  // namespace pgconn
