#include "pgconn/snapshot_assembler.h"

#include <algorithm>
#include <chrono>
#include <memory>

namespace pgconn {

SnapshotAssembler::SnapshotAssembler(const std::vector<TargetConfig>& targets, SnapshotStore& store,
                                     std::function<Families()> exporter_families)
    : store_(store), exporter_families_(std::move(exporter_families)) {
  for (const auto& target : targets) {
    TargetStatus not_polled;
    not_polled.last_error = "not polled yet";
    order_.push_back(target.name);
    TargetPart part{MapTarget(target, not_polled), "", SummarizeTarget(target, not_polled)};
    part.text = RenderText(part.families);
    parts_[target.name] = std::move(part);
  }
}

void SnapshotAssembler::Update(const TargetConfig& target, const TargetStatus& status) {
  TargetPart part{MapTarget(target, status), "", SummarizeTarget(target, status)};
  part.text = RenderText(part.families);
  std::lock_guard<std::mutex> lock(mutex_);
  parts_[target.name] = std::move(part);
  PublishLocked();
}

void SnapshotAssembler::PublishNow() {
  std::lock_guard<std::mutex> lock(mutex_);
  PublishLocked();
}

void SnapshotAssembler::UpdateExtra(const std::string& name, Families families) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = std::find_if(extras_.begin(), extras_.end(),
                         [&](const auto& extra) { return extra.first == name; });
  if (it == extras_.end()) it = extras_.insert(extras_.end(), {name, Families{}});
  it->second = std::move(families);
  PublishLocked();
}

void SnapshotAssembler::PublishLocked() {
  auto snapshot = std::make_shared<Snapshot>();
  std::vector<Families> pieces;
  pieces.push_back(exporter_families_ ? exporter_families_() : Families{});
  for (const auto& name : order_) {
    const TargetPart& part = parts_.at(name);
    pieces.push_back(part.families);
    snapshot->target_text[name] = part.text;
    snapshot->targets.push_back(part.summary);
  }
  for (const auto& extra : extras_) pieces.push_back(extra.second);
  snapshot->text = RenderText(MergeFamilies(std::move(pieces)));
  snapshot->text_gzip = GzipCompress(snapshot->text);
  snapshot->built_at_unix =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  store_.Publish(std::move(snapshot));
}

}  // namespace pgconn
