#include "pgconn/snapshot_assembler.h"

#include <algorithm>
#include <ctime>
#include <map>
#include <memory>
#include <optional>
#include <unordered_map>

namespace pgconn {
namespace {

double UnixNow() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// Splits one family's text into its leading "# " comment lines and its samples.
RenderedFamily SplitRendered(const prometheus::MetricFamily& family, const std::string& text) {
  size_t body = 0;
  while (body < text.size() && text.compare(body, 2, "# ") == 0) {
    const size_t end = text.find('\n', body);
    body = end == std::string::npos ? text.size() : end + 1;
  }
  return RenderedFamily{family.name, text.substr(0, body), text.substr(body)};
}

constexpr const char* kBackendProcesses = "pgconn_postgres_backend_processes";

// Above this much text (a fleet of ~50 targets), gzip at level 1: a few times faster on this
// repetitive text, ~1.5x larger, and publishing runs every few hundred ms.
constexpr size_t kFastGzipBytes = 1 << 20;
constexpr int kFastGzipLevel = 1;
// The publisher waits at least this many times its last publish's CPU time, so publishing a
// large fleet costs at most ~10% of a core however often polls finish.
constexpr int kPublishDutyFactor = 9;
constexpr std::chrono::milliseconds kMaxPublishGap{5000};

std::chrono::nanoseconds ThreadCpuTime() {
  timespec now{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
  return std::chrono::seconds(now.tv_sec) + std::chrono::nanoseconds(now.tv_nsec);
}

// One part's text alone: its families are distinct, so no stitching is needed.
std::string PartText(const std::vector<RenderedFamily>& part) {
  size_t size = 0;
  for (const auto& family : part) size += family.header.size() + family.samples.size();
  std::string text;
  text.reserve(size);
  for (const auto& family : part) text.append(family.header).append(family.samples);
  return text;
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

}  // namespace

std::vector<RenderedFamily> RenderFamilies(const Families& families) {
  std::vector<RenderedFamily> rendered;
  rendered.reserve(families.size());
  for (const auto& family : families) {
    rendered.push_back(SplitRendered(family, RenderText({family})));
  }
  return rendered;
}

std::string StitchExposition(const std::vector<const std::vector<RenderedFamily>*>& parts) {
  std::vector<const RenderedFamily*> heads;  // first occurrence of each name, in order
  std::unordered_map<std::string, std::vector<const std::string*>> samples;
  size_t size = 0;
  for (const auto* part : parts) {
    for (const auto& family : *part) {
      auto& bodies = samples[family.name];
      if (bodies.empty()) {
        heads.push_back(&family);
        size += family.header.size();
      }
      bodies.push_back(&family.samples);
      size += family.samples.size();
    }
  }
  std::string text;
  text.reserve(size);
  for (const auto* head : heads) {
    text += head->header;
    for (const auto* body : samples[head->name]) text += *body;
  }
  return text;
}

// Renders the target's families once; its /probe text is stitched from the same chunks.
SnapshotAssembler::TargetPart SnapshotAssembler::MakeTargetPart(const TargetConfig& target,
                                                                const TargetStatus& status) {
  return TargetPart{std::make_shared<const std::vector<RenderedFamily>>(
                        RenderFamilies(MapTarget(target, status))),
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

std::string SnapshotAssembler::ProbeText(const std::string& name,
                                         const std::vector<RenderedFamily>& part,
                                         const PublishedExtras& extras) {
  std::vector<const std::vector<RenderedFamily>*> pieces = {&part};
  for (const auto& extra : extras.parts) {
    const auto& by_target = extras.by_target.at(extra.first);
    if (auto it = by_target.find(name); it != by_target.end()) pieces.push_back(&it->second);
  }
  return pieces.size() == 1 ? PartText(part) : StitchExposition(pieces);
}

void SnapshotAssembler::UpdateExtra(const std::string& name, Families families) {
  auto rendered = RenderFamilies(families);
  std::map<std::string, std::vector<RenderedFamily>> by_target;
  for (const auto& [target, part] : SplitByTarget(families))
    by_target[target] = RenderFamilies(part);
  auto backends = BackendProcesses(families);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    extras_by_target_[name] = std::move(by_target);
    backend_processes_[name] = std::move(backends);
    auto it = std::find_if(extras_.begin(), extras_.end(),
                           [&](const auto& extra) { return extra.first == name; });
    if (it == extras_.end()) it = extras_.insert(extras_.end(), {name, {}});
    it->second = std::move(rendered);
  }
  MarkDirty();
}

void SnapshotAssembler::RemoveExtra(const std::string& name) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    extras_.erase(std::remove_if(extras_.begin(), extras_.end(),
                                 [&](const auto& extra) { return extra.first == name; }),
                  extras_.end());
    extras_by_target_.erase(name);
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
// never wait for the stitching and gzip of a large fleet.
void SnapshotAssembler::PublishNow() {
  std::lock_guard<std::mutex> publishing(publish_mutex_);
  auto snapshot = std::make_shared<Snapshot>();
  const auto exporter_part = RenderFamilies(exporter_families_ ? exporter_families_() : Families{});
  std::vector<std::pair<std::string, std::shared_ptr<const std::vector<RenderedFamily>>>> targets;
  PublishedExtras extras;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    dirty_ = false;
    for (const auto& name : order_) {
      const TargetPart& part = parts_.at(name);
      targets.emplace_back(name, part.rendered);
      snapshot->targets.push_back(part.summary);
      for (const auto& [extra, counts] : backend_processes_) {
        if (auto it = counts.find(name); it != counts.end()) {
          snapshot->targets.back().backend_processes = it->second;
        }
      }
    }
    extras.parts = extras_;
    extras.by_target = extras_by_target_;
    snapshot->pgbouncers = pgbouncers_;
  }
  std::vector<const std::vector<RenderedFamily>*> pieces = {&exporter_part};
  for (const auto& [name, rendered] : targets) {
    pieces.push_back(rendered.get());
    snapshot->target_text[name] = ProbeText(name, *rendered, extras);
  }
  for (const auto& extra : extras.parts) pieces.push_back(&extra.second);
  snapshot->text = StitchExposition(pieces);
  snapshot->text_gzip =
      StartGzip(snapshot->text, snapshot->text.size() > kFastGzipBytes ? kFastGzipLevel : -1);
  snapshot->built_at_unix = UnixNow();
  store_.Publish(std::move(snapshot));
}

void SnapshotAssembler::RunPublisher() {
  auto last_publish = std::chrono::steady_clock::time_point{};
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
    lock.lock();
  }
}

}  // namespace pgconn
