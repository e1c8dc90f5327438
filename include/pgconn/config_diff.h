// A reload as data: the running config against the new one, item by item, as a pure function
// (unit-tested), and a generic way to apply such a list. Items are paired by name; each kind of
// worker ([[target]] pollers today, others tomorrow) brings its own classifier and handlers.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "pgconn/config.h"

namespace pgconn {

enum class ChangeKind {
  kUnchanged,  // keep the worker and its last result
  kUpdated,    // keep the worker (and its session); only how its results are shown changed
  kRestarted,  // settings the worker was built with changed: close it, start a new one
  kAdded,
  kRemoved,
};
const char* ChangeKindName(ChangeKind kind);

template <typename T>
struct NamedChange {
  std::string name;
  ChangeKind kind = ChangeKind::kUnchanged;
  std::optional<T> before;  // absent for kAdded
  std::optional<T> after;   // absent for kRemoved
};

// Pairs `before` and `after` by `name` (removed first, then the new list in its order);
// `classify(old, new)` says what a pair that exists in both needs.
template <typename T, typename Classify>
std::vector<NamedChange<T>> DiffByName(const std::vector<T>& before, const std::vector<T>& after,
                                       Classify classify) {
  std::vector<NamedChange<T>> changes;
  auto find = [](const std::vector<T>& items, const std::string& name) -> const T* {
    for (const T& item : items) {
      if (item.name == name) return &item;
    }
    return nullptr;
  };
  for (const T& old_item : before) {
    if (!find(after, old_item.name)) {
      changes.push_back({old_item.name, ChangeKind::kRemoved, old_item, std::nullopt});
    }
  }
  for (const T& new_item : after) {
    const T* old_item = find(before, new_item.name);
    if (!old_item) {
      changes.push_back({new_item.name, ChangeKind::kAdded, std::nullopt, new_item});
    } else {
      changes.push_back({new_item.name, classify(*old_item, new_item), *old_item, new_item});
    }
  }
  return changes;
}

// What to do per kind; an empty handler means "nothing to do" for that kind.
template <typename T>
struct ChangeHandlers {
  std::function<void(const T& before)> remove;
  std::function<void(const T& before, const T& after)> restart;
  std::function<void(const T& before, const T& after)> update;
  std::function<void(const T& after)> add;
};

// Removals first (they free sessions and slots), then restarts, updates and additions.
template <typename T>
void ApplyChanges(const std::vector<NamedChange<T>>& changes, const ChangeHandlers<T>& handlers) {
  for (const auto& c : changes) {
    if (c.kind == ChangeKind::kRemoved && handlers.remove) handlers.remove(*c.before);
  }
  for (const auto& c : changes) {
    if (c.kind == ChangeKind::kRestarted && handlers.restart) handlers.restart(*c.before, *c.after);
  }
  for (const auto& c : changes) {
    if (c.kind == ChangeKind::kUpdated && handlers.update) handlers.update(*c.before, *c.after);
  }
  for (const auto& c : changes) {
    if (c.kind == ChangeKind::kAdded && handlers.add) handlers.add(*c.after);
  }
}

struct ConfigDiff {
  std::vector<NamedChange<TargetConfig>> targets;
  // [[process]], [exporter] procfs or a target's location changed: the /proc watcher restarts.
  bool processes_changed = false;
  bool pgbouncers_changed = false;  // any [[pgbouncer]] added, removed or changed
  bool logging_changed = false;
  bool web_changed = false;  // basic_auth_users: applied in place
  // Keys that only take effect on restart (the listener stays bound): "listen_address", ...
  std::vector<std::string> need_restart;
};

// Pure. Both configs are after shard selection and flag overrides.
ConfigDiff DiffConfigs(const Config& before, const Config& after);

// The per-target classifier DiffConfigs uses: connection settings (and the poll interval,
// which every poller is built with) restart; pools, labels, reserve and caps only update.
ChangeKind ClassifyTarget(const TargetConfig& before, const TargetConfig& after,
                          Millis poll_interval_before, Millis poll_interval_after);

// How many of `changes` have each kind, for the reload log line: "1 added, 2 unchanged".
std::string SummarizeChanges(const std::vector<NamedChange<TargetConfig>>& changes);

}  // namespace pgconn
