// Turns per-target poll results into one immutable Snapshot. Each part (a target, or an
// extra such as the /proc scan) is rendered once by the thread that produced it; a
// publisher thread then stitches the parts together, at most every kMinPublishGap, so
// a fleet of targets finishing their polls costs one assembly, not one per target; after a
// costly publish (a large fleet) it waits longer, so publishing stays under ~10% of a core.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "pgconn/config.h"
#include "pgconn/exposition_chunks.h"
#include "pgconn/render.h"
#include "pgconn/rendered_part.h"
#include "pgconn/snapshot.h"
#include "pgconn/target_metrics.h"

namespace pgconn {

class SnapshotAssembler {
 public:
  static constexpr std::chrono::milliseconds kMinPublishGap{200};

  // `exporter_families` yields the exporter-wide families (build info, process_*), called
  // on every publish from the publishing thread.
  SnapshotAssembler(const std::vector<TargetConfig>& targets, SnapshotStore& store,
                    std::function<Families()> exporter_families);
  ~SnapshotAssembler();  // stops and joins the publisher thread
  SnapshotAssembler(const SnapshotAssembler&) = delete;
  SnapshotAssembler& operator=(const SnapshotAssembler&) = delete;

  // Replaces the target's part; the publisher thread publishes it shortly. Thread-safe.
  // Rendered with the config the assembler holds for that name (see ReconfigureTarget);
  // ignored for a name it does not know (a poller that was removed by a reload).
  void Update(const TargetConfig& target, const TargetStatus& status);

  // Reload. Each is thread-safe and marks the snapshot dirty.
  // A new target, shown as "not polled yet" after the known ones until its first Update.
  void AddTarget(const TargetConfig& target);
  // Drops the target's part: its series leave the next snapshot.
  void RemoveTarget(const std::string& name);
  // New settings for a known target: re-rendered from its last status, or (keep_status false,
  // a restarted poller) reset to "not polled yet".
  void ReconfigureTarget(const TargetConfig& target, bool keep_status);
  // Exposition order of the targets (names the assembler does not know are skipped).
  void SetOrder(const std::vector<std::string>& names);
  // While held, the publisher thread waits, so no scrape sees half a reload; PublishNow
  // still publishes. Release with false.
  void HoldPublishing(bool hold);
  // Replaces an extra, non-target part (e.g. "process", the /proc scan). Extras follow the
  // targets, in the order they first arrived. Thread-safe.
  void UpdateExtra(const std::string& name, Families families);
  void RemoveExtra(const std::string& name);
  // Replaces a [[pgbouncer]]'s landing-page summary (by name); Remove drops it. Thread-safe.
  void UpdatePgbouncerSummary(PgbouncerSummary summary);
  void RemovePgbouncerSummary(const std::string& name);
  // Builds and publishes from what is known now, in the calling thread (start-up, --once).
  void PublishNow();

 private:
  struct TargetPart {
    // Shared with a publish in progress; /probe text is stitched from it at publish.
    std::shared_ptr<const RenderedPart> rendered;
    TargetSummary summary;
    uint64_t bucket = 0;  // CurrentBucket() when it was stored
  };
  TargetPart MakeTargetPart(const TargetConfig& target, const TargetStatus& status);
  // What a target is rendered from; `generation` tells a render raced by a reconfigure.
  struct TargetEntry {
    TargetConfig config;
    TargetStatus status;
    std::uint64_t generation = 0;
  };
  static TargetStatus NotPolled();
  // Keeps the last known figures on the landing page while the target is down.
  static void CarryFigures(const TargetSummary& previous, TargetSummary& next);
  // An extra as rendered once per update; publishes and /probe texts share it.
  struct ExtraPart {
    std::string name;
    RenderedPart rendered;
    uint64_t bucket = 0;
    std::map<std::string, RenderedPart> by_target;  // for /probe
  };
  using Extras = std::vector<std::shared_ptr<const ExtraPart>>;
  // A target's /probe text: its own part plus the extras' series carrying its label.
  static std::string ProbeText(const std::string& name, const RenderedPart& part,
                               const Extras& extras);
  // Parts stored within a few publishes of each other share a bucket: in a large fleet's gzip,
  // the chunks of the buckets that polls left alone are reused. Caller holds mutex_.
  uint64_t CurrentBucket() const { return publishes_ / kPublishesPerBucket; }
  static constexpr uint64_t kPublishesPerBucket = 2;
  void MarkDirty();
  void RunPublisher();
  // Under the lock: the targets' parts (after the exporter's, first in `sources`), summaries
  // and the extras as they are now; returns the targets' names in order.
  std::vector<std::string> TakeTargets(Snapshot& snapshot, std::vector<ChunkSource>& sources,
                                       Extras& extras);
  // The snapshot's text and gzip from the parts, reusing the last publish's unchanged chunks.
  void SetExposition(Snapshot& snapshot, const std::vector<ChunkSource>& sources);

  FamilyHeads heads_;
  std::mutex mutex_;  // guards the parts and the publisher's state
  std::condition_variable wake_;
  bool dirty_ = false;
  bool stopping_ = false;
  bool held_ = false;
  std::vector<std::string> order_;  // config order, for a stable exposition
  std::map<std::string, TargetPart> parts_;
  std::map<std::string, TargetEntry> entries_;  // same keys as parts_
  std::uint64_t next_generation_ = 1;
  Extras extras_;  // in the order they first arrived
  // Extra name -> target -> postmaster children counted in the /proc scan.
  std::map<std::string, std::map<std::string, int64_t>> backend_processes_;
  std::vector<PgbouncerSummary> pgbouncers_;  // first-published order
  uint64_t publishes_ = 0;

  std::mutex publish_mutex_;    // one publish at a time, so snapshots never go back in time
  GzipChunkCache gzip_chunks_;  // guarded by publish_mutex_
  SnapshotStore& store_;
  std::function<Families()> exporter_families_;
  std::thread publisher_;
};

}  // namespace pgconn
