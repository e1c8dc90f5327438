#include "pgconn/snapshot_assembler.h"

#include <malloc.h>
#include <zlib.h>

#include <algorithm>
#include <ctime>
#include <map>
#include <memory>
#include <optional>
#include <tuple>

#include "pgconn/thread_name.h"

namespace pgconn {
namespace {

double UnixNow() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

constexpr const char* kBackendProcesses = "pgconn_postgres_backend_processes";

// Above this much text (a fleet of ~50 targets), gzip at level 1 in chunks: a few times faster
// on this repetitive text, ~1.5x larger, and publishing runs every few hundred ms.
constexpr size_t kFastGzipBytes = 1 << 20;
constexpr int kFastGzipLevel = 1;
// The publisher waits at least this many times its last publish's CPU time, so publishing a
// large fleet costs at most ~10% of a core however often polls finish.
constexpr int kPublishDutyFactor = 9;
constexpr std::chrono::milliseconds kMaxPublishGap{5000};
// Each publish frees the previous snapshot and pollers free their last poll's text, in many
// threads' malloc arenas; glibc keeps those pages. Handing them back every so often kept a
// 1,000-target fleet's RSS ~15% lower (a few ms of the publisher's time each).
constexpr std::chrono::seconds kTrimGap{3};

std::chrono::nanoseconds ThreadCpuTime() {
  timespec now{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
  return std::chrono::seconds(now.tv_sec) + std::chrono::nanoseconds(now.tv_nsec);
}

std::optional<std::string> TargetLabel(const prometheus::ClientMetric& metric) {
  for (const auto& label : metric.label) {
    if (label.name == "target") return label.value;
  }
  return std::nullopt;
}

// The families' series grouped by their target label; series without one are left out.
std::map<std::string, Families> SplitByTarget(const Families& families) {
  std::map<std::string, Families> by_target;
  for (const auto& family : families) {
    std::map<std::string, prometheus::MetricFamily> split;
    for (const auto& metric : family.metric) {
      const auto target = TargetLabel(metric);
      if (!target) continue;
      auto [it, inserted] = split.try_emplace(*target);
      if (inserted) it->second = {family.name, family.help, family.type, {}};
      it->second.metric.push_back(metric);
    }
    for (auto& [target, part] : split) by_target[target].push_back(std::move(part));
  }
  return by_target;
}

std::map<std::string, int64_t> BackendProcesses(const Families& families) {
  std::map<std::string, int64_t> counts;
  for (const auto& family : families) {
    if (family.name != kBackendProcesses) continue;
    for (const auto& metric : family.metric) {
      if (const auto target = TargetLabel(metric)) {
        counts[*target] = static_cast<int64_t>(metric.gauge.value);
      }
    }
  }
  return counts;
}

// A large exposition in chunks by bucket, deflated fast; a small one in one stream, deflated
// smaller (chunks would cost ratio and save little: one poll touches every family).
std::pair<std::vector<ExpositionChunk>, int> LayOut(const std::vector<ChunkSource>& sources) {
  size_t size = 0;
  for (const auto& source : sources) size += source.part->samples.size();
  if (size > kFastGzipBytes) return {ChunkExposition(sources), kFastGzipLevel};
  std::vector<const RenderedPart*> parts;
  for (const auto& source : sources) parts.push_back(source.part.get());
  return {{WholeExposition(parts)}, Z_DEFAULT_COMPRESSION};
}

}  // namespace

// Renders the target's families once; its /probe text is stitched from the same chunks.
SnapshotAssembler::TargetPart SnapshotAssembler::MakeTargetPart(const TargetConfig& target,
                                                                const TargetStatus& status) {
  return TargetPart{
      std::make_shared<const RenderedPart>(RenderFamilies(MapTarget(target, status), &heads_)),
      SummarizeTarget(target, status)};
}

TargetStatus SnapshotAssembler::NotPolled() {
  TargetStatus not_polled;
  not_polled.last_error = "not polled yet";
  return not_polled;
}

SnapshotAssembler::SnapshotAssembler(const std::vector<TargetConfig>& targets, SnapshotStore& store,
                                     std::function<Families()> exporter_families)
    : store_(store), exporter_families_(std::move(exporter_families)) {
  for (const auto& target : targets) AddTarget(target);
  dirty_ = false;
  publisher_ = std::thread([this] { RunPublisher(); });
}

SnapshotAssembler::~SnapshotAssembler() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  publisher_.join();
}

void SnapshotAssembler::CarryFigures(const TargetSummary& previous, TargetSummary& next) {
  if (next.client_connections || !previous.client_connections) return;
  next.client_connections = previous.client_connections;
  next.usable_connections = previous.usable_connections;
  next.max_connections = previous.max_connections;
  next.available_connections = previous.available_connections;
  next.reserved_slots = previous.reserved_slots;
  next.pools = previous.pools;
  next.visibility_complete = previous.visibility_complete;
  next.figures_at_unix = previous.figures_at_unix;
  next.figures_stale = true;
}

void SnapshotAssembler::Update(const TargetConfig& target, const TargetStatus& status) {
  TargetConfig config;
  std::uint64_t generation = 0;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    const auto entry = entries_.find(target.name);
    if (entry == entries_.end()) return;
    config = entry->second.config;
    generation = entry->second.generation;
  }
  TargetPart part = MakeTargetPart(config, status);  // outside the lock: rendering takes a while
  {
    std::lock_guard<std::mutex> lock(mutex_);
    const auto entry = entries_.find(target.name);
    // Reconfigured meanwhile: its own render stands; the next poll brings a fresh status.
    if (entry == entries_.end() || entry->second.generation != generation) return;
    entry->second.status = status;
    auto previous = parts_.find(target.name);
    if (previous != parts_.end()) CarryFigures(previous->second.summary, part.summary);
    part.bucket = CurrentBucket();
    parts_[target.name] = std::move(part);
  }
  MarkDirty();
}

void SnapshotAssembler::AddTarget(const TargetConfig& target) {
  TargetPart part = MakeTargetPart(target, NotPolled());
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (entries_.count(target.name) == 0) order_.push_back(target.name);
    entries_[target.name] = TargetEntry{target, NotPolled(), next_generation_++};
    part.bucket = CurrentBucket();
    parts_[target.name] = std::move(part);
  }
  MarkDirty();
}

void SnapshotAssembler::RemoveTarget(const std::string& name) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    entries_.erase(name);
    parts_.erase(name);
    order_.erase(std::remove(order_.begin(), order_.end(), name), order_.end());
  }
  MarkDirty();
}

void SnapshotAssembler::ReconfigureTarget(const TargetConfig& target, bool keep_status) {
  TargetStatus status = NotPolled();
  if (keep_status) {
    std::lock_guard<std::mutex> lock(mutex_);
    const auto entry = entries_.find(target.name);
    if (entry != entries_.end()) status = entry->second.status;
  }
  TargetPart part = MakeTargetPart(target, status);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (entries_.count(target.name) == 0) order_.push_back(target.name);
    entries_[target.name] = TargetEntry{target, std::move(status), next_generation_++};
    auto previous = parts_.find(target.name);
    if (previous != parts_.end()) CarryFigures(previous->second.summary, part.summary);
    part.bucket = CurrentBucket();
    parts_[target.name] = std::move(part);
  }
  MarkDirty();
}

void SnapshotAssembler::SetOrder(const std::vector<std::string>& names) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    std::vector<std::string> order;
    for (const auto& name : names) {
      if (entries_.count(name) != 0 && std::find(order.begin(), order.end(), name) == order.end()) {
        order.push_back(name);
      }
    }
    for (const auto& name : order_) {  // known but not named: keep them, after
      if (std::find(order.begin(), order.end(), name) == order.end()) order.push_back(name);
    }
    order_ = std::move(order);
  }
  MarkDirty();
}

std::string SnapshotAssembler::ProbeText(const std::string& name, const RenderedPart& part,
                                         const Extras& extras) {
  std::vector<const RenderedPart*> pieces = {&part};
  for (const auto& extra : extras) {
    if (auto it = extra->by_target.find(name); it != extra->by_target.end()) {
      pieces.push_back(&it->second);
    }
  }
  return StitchExposition(pieces);
}

void SnapshotAssembler::UpdateExtra(const std::string& name, Families families) {
  auto extra = std::make_shared<ExtraPart>();
  extra->name = name;
  extra->rendered = RenderFamilies(families, &heads_);
  for (const auto& [target, part] : SplitByTarget(families)) {
    extra->by_target[target] = RenderFamilies(part, &heads_);
  }
  auto backends = BackendProcesses(families);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    backend_processes_[name] = std::move(backends);
    extra->bucket = CurrentBucket();
    auto it = std::find_if(extras_.begin(), extras_.end(),
                           [&](const auto& known) { return known->name == name; });
    if (it == extras_.end()) it = extras_.insert(extras_.end(), nullptr);
    *it = std::move(extra);
  }
  MarkDirty();
}

void SnapshotAssembler::RemoveExtra(const std::string& name) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    extras_.erase(std::remove_if(extras_.begin(), extras_.end(),
                                 [&](const auto& extra) { return extra->name == name; }),
                  extras_.end());
    backend_processes_.erase(name);
  }
  MarkDirty();
}

void SnapshotAssembler::UpdatePgbouncerSummary(PgbouncerSummary summary) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = std::find_if(pgbouncers_.begin(), pgbouncers_.end(),
                           [&](const auto& known) { return known.name == summary.name; });
    if (it == pgbouncers_.end()) it = pgbouncers_.insert(pgbouncers_.end(), PgbouncerSummary{});
    *it = std::move(summary);
  }
  MarkDirty();
}

void SnapshotAssembler::RemovePgbouncerSummary(const std::string& name) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    pgbouncers_.erase(std::remove_if(pgbouncers_.begin(), pgbouncers_.end(),
                                     [&](const auto& known) { return known.name == name; }),
                      pgbouncers_.end());
  }
  MarkDirty();
}

void SnapshotAssembler::HoldPublishing(bool hold) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    held_ = hold;
  }
  wake_.notify_all();
}

void SnapshotAssembler::MarkDirty() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    dirty_ = true;
  }
  wake_.notify_all();
}

// Only pointers and small parts are copied under the lock: pollers finishing meanwhile
// never wait for the gzip of a large fleet. The snapshot shares the rendered parts: its full
// text is joined only if a scrape without gzip asks, /probe texts per request.
void SnapshotAssembler::PublishNow() {
  std::lock_guard<std::mutex> publishing(publish_mutex_);
  auto snapshot = std::make_shared<Snapshot>();
  std::vector<ChunkSource> sources = {{std::make_shared<const RenderedPart>(
      RenderFamilies(exporter_families_ ? exporter_families_() : Families{}, &heads_))}};
  auto extras = std::make_shared<Extras>();
  const auto names = TakeTargets(*snapshot, sources, *extras);
  for (size_t i = 0; i < names.size(); ++i) {
    snapshot->target_text.Add(names[i], [name = names[i], rendered = sources[i + 1].part, extras] {
      return ProbeText(name, *rendered, *extras);
    });
  }
  for (const auto& extra : *extras) {
    sources.push_back(
        {std::shared_ptr<const RenderedPart>(extra, &extra->rendered), extra->bucket});
  }
  SetExposition(*snapshot, sources);
  snapshot->built_at_unix = UnixNow();
  store_.Publish(std::move(snapshot));
}

std::vector<std::string> SnapshotAssembler::TakeTargets(Snapshot& snapshot,
                                                        std::vector<ChunkSource>& sources,
                                                        Extras& extras) {
  std::lock_guard<std::mutex> lock(mutex_);
  dirty_ = false;
  sources.front().bucket = CurrentBucket();
  ++publishes_;
  for (const auto& name : order_) {
    const TargetPart& part = parts_.at(name);
    sources.push_back({part.rendered, part.bucket});
    snapshot.targets.push_back(part.summary);
    for (const auto& [extra, counts] : backend_processes_) {
      if (auto it = counts.find(name); it != counts.end()) {
        snapshot.targets.back().backend_processes = it->second;
      }
    }
  }
  extras = extras_;
  snapshot.pgbouncers = pgbouncers_;
  return order_;
}

void SnapshotAssembler::SetExposition(Snapshot& snapshot, const std::vector<ChunkSource>& sources) {
  struct Layout {
    std::vector<ExpositionChunk> chunks;
    std::vector<std::shared_ptr<const RenderedPart>> parts;  // what the chunks' text points into
  };
  auto layout = std::make_shared<Layout>();
  int level = 0;
  std::tie(layout->chunks, level) = LayOut(sources);
  for (const auto& source : sources) layout->parts.push_back(source.part);
  snapshot.text_gzip = gzip_chunks_.Compress(layout->chunks, level, layout->parts);
  for (auto& chunk : layout->chunks) std::vector<const void*>().swap(chunk.key);  // the cache's
  snapshot.text = LazyText(
      std::function<std::string()>([layout = std::shared_ptr<const Layout>(std::move(layout))] {
        return JoinChunks(layout->chunks);
      }));
}

void SnapshotAssembler::RunPublisher() {
  NameThisThread("pgconn-publish");
  auto last_publish = std::chrono::steady_clock::time_point{};
  auto last_trim = std::chrono::steady_clock::now();
  std::chrono::steady_clock::duration gap = kMinPublishGap;
  std::unique_lock<std::mutex> lock(mutex_);
  while (true) {
    wake_.wait(lock, [this] { return stopping_ || (dirty_ && !held_); });
    // Coalesce: parts that finish within the gap ride along with this publish.
    if (wake_.wait_until(lock, last_publish + gap, [this] { return stopping_; })) return;
    if (held_) continue;
    lock.unlock();
    const auto cpu_before = ThreadCpuTime();
    try {
      PublishNow();
    } catch (const std::exception&) {
      // Keep serving the previous snapshot; the next part update retries.
    }
    last_publish = std::chrono::steady_clock::now();
    gap = std::clamp<std::chrono::steady_clock::duration>(
        (ThreadCpuTime() - cpu_before) * kPublishDutyFactor, kMinPublishGap, kMaxPublishGap);
    if (last_publish - last_trim >= kTrimGap) {  // not counted in the gap: it is no publish
      malloc_trim(0);
      last_trim = last_publish;
    }
    lock.lock();
  }
}

}  // namespace pgconn
