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
#include "pgconn/render.h"
#include "pgconn/snapshot.h"
#include "pgconn/target_metrics.h"

namespace pgconn {

// A family's HELP/TYPE lines, shared by every part that renders the family the same way.
struct FamilyHead {
  std::string name;
  std::string header;  // "# HELP ..." and "# TYPE ..." lines
};

// Hands out one FamilyHead per distinct header: a fleet renders the same ~60 headers for every
// target, a third of its text. Thread-safe; grows with the distinct families only.
class FamilyHeads {
 public:
  std::shared_ptr<const FamilyHead> Intern(std::string name, std::string header);

 private:
  std::mutex mutex_;
  std::map<std::string, std::shared_ptr<const FamilyHead>> heads_;  // by name + header
};

// A part's families as text: the samples of all of them in one string (a string per family
// cost ~50 bytes each on top, at 60,000 families), and where each family's are.
struct RenderedPart {
  struct Family {
    std::shared_ptr<const FamilyHead> head;
    size_t begin = 0;
    size_t size = 0;
  };
  std::string samples;
  std::vector<Family> families;

  std::string_view Samples(const Family& family) const {
    return std::string_view(samples).substr(family.begin, family.size);
  }
};
// `heads` shares the headers with other parts; without it each part has its own.
RenderedPart RenderFamilies(const Families& families, FamilyHeads* heads = nullptr);
// Text exposition of several parts: each family once, its samples in part order.
std::string StitchExposition(const std::vector<const RenderedPart*>& parts);
// The same text handed to `write` in pieces, in order (nothing joined).
void VisitExposition(const std::vector<const RenderedPart*>& parts,
                     const std::function<void(std::string_view)>& write);

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
    std::map<std::string, RenderedPart> by_target;  // for /probe
  };
  using Extras = std::vector<std::shared_ptr<const ExtraPart>>;
  // A target's /probe text: its own part plus the extras' series carrying its label.
  static std::string ProbeText(const std::string& name, const RenderedPart& part,
                               const Extras& extras);
  void MarkDirty();
  void RunPublisher();

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

  std::mutex publish_mutex_;  // one publish at a time, so snapshots never go back in time
  SnapshotStore& store_;
  std::function<Families()> exporter_families_;
  std::thread publisher_;
};

}  // namespace pgconn
