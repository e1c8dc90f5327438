// Turns per-target poll results into one immutable Snapshot, rendered once per publish.
#pragma once

#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "pgconn/config.h"
#include "pgconn/render.h"
#include "pgconn/snapshot.h"
#include "pgconn/target_metrics.h"

namespace pgconn {

class SnapshotAssembler {
 public:
  // `exporter_families` yields the exporter-wide families (build info, process_*), called
  // on every publish from the publishing thread.
  SnapshotAssembler(const std::vector<TargetConfig>& targets, SnapshotStore& store,
                    std::function<Families()> exporter_families);

  // Replaces the target's part and publishes a new snapshot. Thread-safe.
  void Update(const TargetConfig& target, const TargetStatus& status);
  // Builds and publishes from what is known now (used once at start-up).
  void PublishNow();
  // Replaces an extra, non-target part (e.g. "process", the /proc scan) and publishes.
  // Extras follow the targets, in the order they first arrived. Thread-safe.
  void UpdateExtra(const std::string& name, Families families);

 private:
  struct TargetPart {
    Families families;
    std::string text;
    TargetSummary summary;
  };
  void PublishLocked();

  std::mutex mutex_;
  std::vector<std::string> order_;  // config order, for a stable exposition
  std::map<std::string, TargetPart> parts_;
  std::vector<std::pair<std::string, Families>> extras_;
  SnapshotStore& store_;
  std::function<Families()> exporter_families_;
};

}  // namespace pgconn
