#include "pgconn/pool_metrics.h"

#include "pgconn/capacity_plan.h"
#include "pgconn/pool_usage.h"

namespace pgconn {
namespace {

Labels With(const Labels& base, std::string name, std::string value) {
  Labels labels = base;
  labels.emplace_back(std::move(name), std::move(value));
  return labels;
}

double D(std::int64_t value) { return static_cast<double>(value); }

void AddPoolShapes(Families& out, const Labels& base, const std::vector<PoolConfig>& pools,
                   const std::vector<PoolUsage>& usage) {
  FamilyBuilder size(
      "pgconn_pool_size",
      "Connections one instance of the app may open (its pool size), as configured.");
  FamilyBuilder expected("pgconn_pool_instances_expected",
                         "Instances of the app meant to run, as configured.");
  FamilyBuilder observed("pgconn_pool_instances",
                         "Distinct instances seen in pg_stat_activity now (pools split by "
                         "instance_by only).");
  for (std::size_t i = 0; i < pools.size(); ++i) {
    const Labels labels = With(base, "pool", pools[i].name);
    size.Add(labels, D(pools[i].size));
    expected.Add(labels, D(pools[i].instances));
    if (usage[i].observed_instances) observed.Add(labels, D(*usage[i].observed_instances));
  }
  out.push_back(std::move(size).Build());
  out.push_back(std::move(expected).Build());
  if (!observed.empty()) out.push_back(std::move(observed).Build());
}

void AddPoolConnections(Families& out, const Labels& base, const std::vector<PoolUsage>& usage) {
  FamilyBuilder family("pgconn_pool_connections",
                       "Client sessions of each pool by state, the exporter's own excluded; "
                       "sessions in no pool are in pool=\"__unpooled__\". Known states always "
                       "present.");
  for (const auto& pool : usage) {
    const Labels labels = With(base, "pool", pool.name);
    for (const auto& [state, sessions] : pool.by_state) {
      family.Add(With(labels, "state", state), D(sessions));
    }
  }
  out.push_back(std::move(family).Build());
}

void AddInstanceRatios(Families& out, const Labels& base, const std::vector<PoolUsage>& usage) {
  FamilyBuilder busy("pgconn_pool_busy_ratio",
                     "Sessions doing work (active, idle in transaction, fastpath) over the pool "
                     "size, per instance; 1 means requests wait for a connection.");
  FamilyBuilder open("pgconn_pool_open_ratio",
                     "Open sessions over the pool size, per instance; not clamped: far above 1 "
                     "means the configured size is wrong.");
  FamilyBuilder saturated("pgconn_pool_saturated",
                          "1 when an instance has all its connections open and none idle.");
  for (std::size_t i = 0; i + 1 < usage.size(); ++i) {
    const Labels pool = With(base, "pool", usage[i].name);
    for (const auto& instance : usage[i].instances) {
      const Labels labels =
          instance.instance.empty() ? pool : With(pool, "app_instance", instance.instance);
      busy.Add(labels, instance.busy_ratio);
      open.Add(labels, instance.open_ratio);
      saturated.Add(labels, instance.saturated ? 1 : 0);
    }
  }
  if (busy.empty()) return;  // split pools with no session yet
  out.push_back(std::move(busy).Build());
  out.push_back(std::move(open).Build());
  out.push_back(std::move(saturated).Build());
}

void AddPlan(Families& out, const Labels& base, const CapacityPlan& plan) {
  FamilyBuilder fit("pgconn_pool_instances_fit",
                    "More instances of the pool that could open their full pool right now, "
                    "keeping the unused part of the reserve free.");
  for (const auto& pool : plan.pools) {
    fit.Add(With(base, "pool", pool.pool), D(pool.instances_fit_now.value_or(0)));
  }
  if (!fit.empty()) out.push_back(std::move(fit).Build());
  AddGauge(out, "pgconn_capacity_planned_connections",
           "Sum over pools of size x expected instances, plus the reserve.", base,
           D(plan.arithmetic.planned));
  AddGauge(out, "pgconn_capacity_planned_headroom_connections",
           "Usable connections minus the planned ones; negative means deploying the planned "
           "instances will hit \"too many clients\".",
           base, D(plan.headroom.value_or(0)));
}

}  // namespace

void AddPoolFamilies(Families& out, const Labels& base, const TargetConfig& target,
                     const TargetSample& sample, const Capacity& capacity) {
  if ((target.pools.empty() && !target.reserve.configured()) || !sample.activity) return;
  const std::vector<PoolUsage> usage = ComputePoolUsage(target.pools, *sample.activity);
  if (!target.pools.empty()) {
    AddPoolShapes(out, base, target.pools, usage);
    AddPoolConnections(out, base, usage);
    AddInstanceRatios(out, base, usage);
  }
  AddPlan(out, base, PlanCapacity(target, capacity, usage));
}

}  // namespace pgconn
