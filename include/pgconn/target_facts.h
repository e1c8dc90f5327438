// The latest facts each target's poll learned that other workers need (data_directory and
// the fd-related settings for the /proc scan). Written by the pollers, read by the process
// watcher; kept when a later poll fails, so a full server is still looked at.
#pragma once

#include <map>
#include <mutex>
#include <string>

#include "pgconn/sample.h"
#include "pgconn/target_metrics.h"

namespace pgconn {

class TargetFacts {
 public:
  // Keeps the settings of a poll that read them; a failed poll changes nothing.
  void Record(const std::string& target, const TargetStatus& status) {
    if (!status.sample || !status.sample->settings) return;
    std::lock_guard<std::mutex> lock(mutex_);
    settings_[target] = *status.sample->settings;
  }

  // A target removed or restarted by a reload: its old server's facts no longer apply.
  void Forget(const std::string& target) {
    std::lock_guard<std::mutex> lock(mutex_);
    settings_.erase(target);
  }

  std::map<std::string, ServerSettings> Settings() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return settings_;
  }

 private:
  mutable std::mutex mutex_;
  std::map<std::string, ServerSettings> settings_;
};

}  // namespace pgconn
