#include "pgconn/target_extras.h"

#include "pgconn/family_builder.h"
#include "pgconn/pool_usage.h"
#include "pgconn/reserved_settings.h"

namespace pgconn {

std::vector<ProviderReserve> ProviderReserves(const TargetSample& sample) {
  std::vector<ProviderReserve> reserves;
  for (const auto& setting : sample.reserved_settings.value_or(std::vector<ReservedSetting>{})) {
    if (const auto slots = ReservedSlots(setting)) reserves.push_back({setting.name, *slots});
  }
  return reserves;
}

std::vector<std::string> UnknownReservedSettings(const TargetConfig& target,
                                                 const TargetSample& sample) {
  std::vector<std::string> unknown;
  if (!sample.reserved_settings) return unknown;
  for (const auto& name : target.reserved_settings) {
    bool known = false;
    for (const auto& setting : *sample.reserved_settings) {
      if (setting.name == name && ReservedSlots(setting)) known = true;
    }
    if (!known) unknown.push_back(name);
  }
  return unknown;
}

void AddVisibility(Families& out, const Labels& base, const TargetSample& sample) {
  if (!sample.visibility_complete) return;
  AddGauge(out, "pgconn_target_visibility_complete",
           "1 when the exporter's role sees every role's sessions (pg_read_all_stats, granted by "
           "pg_monitor, or superuser); at 0 other roles' state, ages and backend_type are "
           "unknown and the by-state figures are incomplete.",
           base, *sample.visibility_complete ? 1 : 0);
}

namespace {

void AddReserveLines(TargetSummary& summary, const Capacity& capacity) {
  summary.reserved_slots.emplace_back("superuser_reserved_connections",
                                      capacity.superuser_reserved);
  if (capacity.reserved)
    summary.reserved_slots.emplace_back("reserved_connections", *capacity.reserved);
  for (const auto& provider : capacity.provider_reserved) {
    summary.reserved_slots.emplace_back(provider.setting, provider.slots);
  }
}

void AddPools(TargetSummary& summary, const TargetConfig& target, const TargetSample& sample) {
  if (target.pools.empty() || !sample.activity) return;
  const auto usage = ComputePoolUsage(target.pools, *sample.activity);
  for (std::size_t i = 0; i < target.pools.size() && i < usage.size(); ++i) {
    const PoolConfig& pool = target.pools[i];
    summary.pools.push_back({pool.name, usage[i].busy, usage[i].open, pool.size * pool.instances});
  }
}

}  // namespace

void AddSummaryDetails(TargetSummary& summary, const TargetConfig& target,
                       const TargetStatus& status) {
  if (!status.up && status.last_failure) {
    summary.failure_reason = std::string(FailureReasonName(*status.last_failure));
  }
  if (!status.up || !status.sample) return;
  const auto capacity = ComputeCapacity(*status.sample);
  if (!capacity) return;
  summary.available_connections = capacity->available;
  summary.figures_at_unix = status.last_success_unix;
  summary.visibility_complete = status.sample->visibility_complete;
  AddReserveLines(summary, *capacity);
  AddPools(summary, target, *status.sample);
}

}  // namespace pgconn
