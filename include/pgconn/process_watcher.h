// The periodic /proc scan: one worker thread beside the target pollers, same interval.
#pragma once

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "pgconn/config.h"
#include "pgconn/process_metrics.h"
#include "pgconn/process_scan.h"
#include "pgconn/render.h"
#include "pgconn/target_facts.h"

namespace spdlog {
class logger;
}

namespace pgconn {

class ProcessWatcher {
 public:
  using Publish = std::function<void(Families)>;

  ProcessWatcher(std::unique_ptr<ProcessScanner> scanner, const TargetFacts& facts, Millis interval,
                 Publish publish, std::shared_ptr<spdlog::logger> log);
  ~ProcessWatcher();  // stops and joins the thread
  ProcessWatcher(const ProcessWatcher&) = delete;
  ProcessWatcher& operator=(const ProcessWatcher&) = delete;

  void ScanOnce();  // scans, counts errors, logs new problems once, publishes
  void Start();     // scans on the interval in a thread of its own until destruction

 private:
  void Run();
  void LogFirstSeen(const std::vector<ScanProblem>& problems) const;

  std::unique_ptr<ProcessScanner> scanner_;
  const TargetFacts& facts_;
  Millis interval_;
  Publish publish_;
  std::shared_ptr<spdlog::logger> log_;
  std::mutex scan_mutex_;  // ScanOnce from --once and from the thread never overlap
  ScrapeErrorCounter errors_;

  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace pgconn
