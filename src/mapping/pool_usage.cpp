#include "pgconn/pool_usage.h"

#include <algorithm>

#include "pgconn/pool_match.h"
#include "pgconn/target_metrics.h"

namespace pgconn {
namespace {

struct Counts {
  std::int64_t open = 0;
  std::int64_t busy = 0;
  std::int64_t idle = 0;
};

void Count(Counts& counts, const ActivityGroup& group) {
  counts.open += group.others;
  if (IsBusyState(group.state)) counts.busy += group.others;
  if (group.state == "idle") counts.idle += group.others;
}

PoolUsage EmptyUsage(std::string name) {
  PoolUsage usage;
  usage.name = std::move(name);
  for (const auto& state : KnownSessionStates()) usage.by_state[state] = 0;
  return usage;
}

void Finish(const PoolConfig& pool, const std::map<std::string, Counts>& per_instance,
            PoolUsage& usage) {
  if (pool.instance_by == InstanceBy::kNone) {
    // Not split: the whole pool is one unit of size x instances.
    const auto it = per_instance.find("");
    const Counts counts = it == per_instance.end() ? Counts{} : it->second;
    const std::int64_t capacity = pool.size * std::max<std::int64_t>(1, pool.instances);
    usage.instances.push_back(MeasureInstance("", counts.open, counts.busy, counts.idle, capacity));
    return;
  }
  std::vector<InstanceUsage> instances;
  for (const auto& [name, counts] : per_instance) {
    instances.push_back(MeasureInstance(name, counts.open, counts.busy, counts.idle, pool.size));
  }
  usage.observed_instances = static_cast<std::int64_t>(per_instance.size());
  usage.instances = FoldInstances(std::move(instances), pool.max_instance_series);
}

InstanceUsage FoldedOther(std::vector<InstanceUsage>::const_iterator begin,
                          std::vector<InstanceUsage>::const_iterator end) {
  InstanceUsage other;
  other.instance = kOtherLabelValue;
  other.folded = 0;
  for (auto it = begin; it != end; ++it) {
    other.open += it->open;
    other.busy += it->busy;
    other.idle += it->idle;
    other.capacity += it->capacity;
    other.open_ratio = std::max(other.open_ratio, it->open_ratio);
    other.busy_ratio = std::max(other.busy_ratio, it->busy_ratio);
    other.saturated = other.saturated || it->saturated;
    other.folded += it->folded;
  }
  return other;
}

}  // namespace

bool IsBusyState(const std::string& state) {
  return state == "active" || state == "idle in transaction" ||
         state == "idle in transaction (aborted)" || state == "fastpath function call";
}

InstanceUsage MeasureInstance(std::string instance, std::int64_t open, std::int64_t busy,
                              std::int64_t idle, std::int64_t capacity) {
  InstanceUsage usage;
  usage.instance = std::move(instance);
  usage.open = open;
  usage.busy = busy;
  usage.idle = idle;
  usage.capacity = capacity;
  if (capacity > 0) {
    usage.open_ratio = static_cast<double>(open) / static_cast<double>(capacity);
    usage.busy_ratio = static_cast<double>(busy) / static_cast<double>(capacity);
  }
  usage.saturated = capacity > 0 && open >= capacity && idle == 0;
  return usage;
}

std::vector<InstanceUsage> FoldInstances(std::vector<InstanceUsage> instances, int max_series) {
  const auto keep = static_cast<std::size_t>(std::max(0, max_series));
  if (instances.size() <= keep) return instances;
  // The busiest keep their own series; ties break on the name so the output is stable.
  std::sort(instances.begin(), instances.end(), [](const auto& a, const auto& b) {
    return a.open != b.open ? a.open > b.open : a.instance < b.instance;
  });
  InstanceUsage other =
      FoldedOther(instances.begin() + static_cast<std::ptrdiff_t>(keep), instances.end());
  instances.resize(keep);
  std::sort(instances.begin(), instances.end(),
            [](const auto& a, const auto& b) { return a.instance < b.instance; });
  instances.push_back(std::move(other));
  return instances;
}

std::vector<PoolUsage> ComputePoolUsage(const std::vector<PoolConfig>& pools,
                                        const std::vector<ActivityGroup>& activity) {
  std::vector<PoolUsage> usage;
  for (const auto& pool : pools) usage.push_back(EmptyUsage(pool.name));
  usage.push_back(EmptyUsage(kUnpooledPool));
  std::vector<std::map<std::string, Counts>> per_instance(pools.size());
  for (const auto& group : activity) {
    if (group.backend_type != kClientBackend || group.others == 0) continue;
    const auto index = FindPool(pools, group);
    PoolUsage& pool_usage = usage[index.value_or(pools.size())];
    pool_usage.by_state[group.state] += group.others;
    pool_usage.open += group.others;
    if (IsBusyState(group.state)) pool_usage.busy += group.others;
    if (index) Count(per_instance[*index][InstanceOf(pools[*index], group)], group);
  }
  for (std::size_t i = 0; i < pools.size(); ++i) Finish(pools[i], per_instance[i], usage[i]);
  return usage;
}

}  // namespace pgconn
