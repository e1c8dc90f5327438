#include "pgconn/capacity_plan.h"

#include <algorithm>
#include <cstdio>
#include <functional>

namespace pgconn {
namespace {

constexpr std::int64_t kMaxReserveConnections = 1000000;
constexpr std::int64_t kMaxReserveHundredths = 100000;  // 1000%

std::string_view Trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

// Digits only, at most `max_digits` of them.
std::optional<std::int64_t> ParseDigits(std::string_view text, std::size_t max_digits) {
  if (text.empty() || text.size() > max_digits) return std::nullopt;
  std::int64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + (c - '0');
  }
  return value;
}

// "20" or "12.5" or "12.25" (a percentage without its '%') -> hundredths of a percent.
std::optional<std::int64_t> ParseHundredths(std::string_view text) {
  const std::size_t dot = text.find('.');
  const auto whole = ParseDigits(text.substr(0, dot), 4);
  if (!whole) return std::nullopt;
  if (dot == std::string_view::npos) return *whole * 100;
  std::string fraction(text.substr(dot + 1));
  if (fraction.empty() || fraction.size() > 2) return std::nullopt;
  fraction.resize(2, '0');
  const auto hundredths = ParseDigits(fraction, 2);
  if (!hundredths) return std::nullopt;
  return *whole * 100 + *hundredths;
}

bool ReadReserveTerm(std::string_view term, ReserveConfig& out, bool& seen_fixed,
                     bool& seen_percent) {
  if (!term.empty() && term.back() == '%') {
    const auto hundredths = ParseHundredths(Trim(term.substr(0, term.size() - 1)));
    if (!hundredths || seen_percent || *hundredths > kMaxReserveHundredths) return false;
    out.percent_hundredths = *hundredths;
    seen_percent = true;
    return true;
  }
  const auto fixed = ParseDigits(term, 7);
  if (!fixed || seen_fixed || *fixed > kMaxReserveConnections) return false;
  out.connections = *fixed;
  seen_fixed = true;
  return true;
}

// Largest n in [0, hi] with fits(n), given fits is monotonic and fits(0) holds.
std::int64_t LargestFitting(std::int64_t hi, const std::function<bool(std::int64_t)>& fits) {
  std::int64_t lo = 0;
  while (lo < hi) {
    const std::int64_t mid = lo + (hi - lo + 1) / 2;
    if (fits(mid)) {
      lo = mid;
    } else {
      hi = mid - 1;
    }
  }
  return lo;
}

std::int64_t OtherPoolsTotal(const std::vector<PoolConfig>& pools, std::size_t index) {
  std::int64_t total = 0;
  for (std::size_t i = 0; i < pools.size(); ++i) {
    if (i != index) total += pools[i].size * pools[i].instances;
  }
  return total;
}

ServerNow ServerFrom(const Capacity& capacity, const std::vector<PoolUsage>& usage) {
  ServerNow server;
  server.max_connections = capacity.max_connections;
  server.superuser_reserved = capacity.superuser_reserved;
  server.reserved = capacity.reserved;
  server.provider_reserved = capacity.provider_reserved;
  server.usable = capacity.usable;
  server.client_connections = capacity.client_connections;
  server.available = capacity.available;
  server.unpooled_now = capacity.client_connections;
  // Everything but the trailing __unpooled__ entry is pooled; the exporter's session is not.
  for (std::size_t i = 0; i + 1 < usage.size(); ++i) server.unpooled_now -= usage[i].open;
  return server;
}

PoolPlan PlanPool(const std::vector<PoolConfig>& pools, std::size_t index,
                  const ReserveConfig& reserve, const PoolUsage* usage,
                  const std::optional<ServerNow>& server, std::int64_t reserve_total) {
  const PoolConfig& pool = pools[index];
  PoolPlan plan;
  plan.pool = pool.name;
  plan.size_source = pool.size_source;
  plan.size = pool.size;
  plan.instances = pool.instances;
  plan.total = pool.size * pool.instances;
  if (usage) {
    plan.open_now = usage->open;
    plan.busy_now = usage->busy;
    plan.instances_now = usage->observed_instances;
  }
  if (server) {
    plan.instances_fit_now =
        InstancesFitNow(pool.size, server->available, reserve_total, server->unpooled_now);
    plan.max_size = MaxSizeThatFits(pools, index, reserve, server->usable);
    plan.max_instances = MaxInstancesThatFit(pools, index, reserve, server->usable);
  }
  return plan;
}

std::string Ratio(double value) {
  char text[32];
  std::snprintf(text, sizeof(text), "%.2f", value);
  return text;
}

void AddPoolNotes(const PoolConfig& pool, const PoolUsage& usage, std::vector<std::string>& notes) {
  if (usage.observed_instances && *usage.observed_instances > pool.instances) {
    notes.push_back(pool.name + ": " + std::to_string(*usage.observed_instances) +
                    " instances seen, " + std::to_string(pool.instances) + " planned");
  }
  double worst = 0;
  for (const auto& instance : usage.instances) worst = std::max(worst, instance.open_ratio);
  if (worst > 1) {
    notes.push_back(pool.name + ": more sessions open than the pool size " +
                    std::to_string(pool.size) + " allows (open ratio up to " + Ratio(worst) +
                    "): is the size right?");
  }
}

std::vector<std::string> Notes(const TargetConfig& target, const std::vector<PoolUsage>& usage,
                               const CapacityPlan& plan) {
  std::vector<std::string> notes;
  if (usage.size() != target.pools.size() + 1 || !plan.server) return notes;
  for (std::size_t i = 0; i < target.pools.size(); ++i) {
    AddPoolNotes(target.pools[i], usage[i], notes);
  }
  if (target.reserve.configured() && plan.server->unpooled_now > plan.arithmetic.reserve) {
    notes.push_back(std::to_string(plan.server->unpooled_now) +
                    " sessions match no pool (the exporter's own included): more than the "
                    "reserve of " +
                    std::to_string(plan.arithmetic.reserve));
  }
  return notes;
}

}  // namespace

std::optional<ReserveConfig> ParseReserve(std::string_view text) {
  ReserveConfig out;
  bool seen_fixed = false, seen_percent = false;
  std::string_view rest = text;
  while (true) {
    const std::size_t plus = rest.find('+');
    const std::string_view term = Trim(rest.substr(0, plus));
    if (!ReadReserveTerm(term, out, seen_fixed, seen_percent)) return std::nullopt;
    if (plus == std::string_view::npos) return out;
    rest.remove_prefix(plus + 1);
  }
}

std::string FormatReserve(const ReserveConfig& reserve) {
  const std::string fixed = std::to_string(reserve.connections);
  if (reserve.percent_hundredths == 0) return fixed;
  const std::int64_t fraction = reserve.percent_hundredths % 100;
  std::string percent = std::to_string(reserve.percent_hundredths / 100);
  if (fraction != 0) {
    percent += fraction % 10 == 0 ? "." + std::to_string(fraction / 10)
                                  : (fraction < 10 ? ".0" : ".") + std::to_string(fraction);
  }
  return reserve.connections == 0 ? percent + "%" : fixed + " + " + percent + "%";
}

PlanArithmetic PlanConnections(std::int64_t pools_total, const ReserveConfig& reserve) {
  PlanArithmetic plan;
  plan.pools = pools_total;
  plan.reserve_fixed = reserve.connections;
  const std::int64_t base = pools_total + reserve.connections;
  plan.buffer = (base * reserve.percent_hundredths + 9999) / 10000;  // rounded up: never short
  plan.reserve = plan.reserve_fixed + plan.buffer;
  plan.planned = plan.pools + plan.reserve;
  return plan;
}

PlanArithmetic PlanConnections(const std::vector<PoolConfig>& pools, const ReserveConfig& reserve) {
  std::int64_t total = 0;
  for (const auto& pool : pools) total += pool.size * pool.instances;
  return PlanConnections(total, reserve);
}

std::int64_t InstancesFitNow(std::int64_t size, std::int64_t available, std::int64_t reserve,
                             std::int64_t unpooled_now) {
  const std::int64_t free =
      available - std::max<std::int64_t>(0, reserve - std::max<std::int64_t>(0, unpooled_now));
  return free > 0 && size > 0 ? free / size : 0;
}

std::optional<std::int64_t> MaxSizeThatFits(const std::vector<PoolConfig>& pools, std::size_t index,
                                            const ReserveConfig& reserve, std::int64_t usable) {
  const std::int64_t instances = pools[index].instances;
  if (instances == 0) return std::nullopt;
  const std::int64_t others = OtherPoolsTotal(pools, index);
  auto fits = [&](std::int64_t size) {
    return PlanConnections(others + size * instances, reserve).planned <= usable;
  };
  if (!fits(0)) return 0;
  return LargestFitting(std::max<std::int64_t>(0, usable), fits);
}

std::optional<std::int64_t> MaxInstancesThatFit(const std::vector<PoolConfig>& pools,
                                                std::size_t index, const ReserveConfig& reserve,
                                                std::int64_t usable) {
  const std::int64_t size = pools[index].size;
  if (size == 0) return std::nullopt;
  const std::int64_t others = OtherPoolsTotal(pools, index);
  auto fits = [&](std::int64_t instances) {
    return PlanConnections(others + size * instances, reserve).planned <= usable;
  };
  if (!fits(0)) return 0;
  return LargestFitting(std::max<std::int64_t>(0, usable), fits);
}

CapacityPlan PlanCapacity(const TargetConfig& target, const std::optional<Capacity>& capacity,
                          const std::vector<PoolUsage>& usage) {
  CapacityPlan plan;
  plan.target = target.name;
  plan.reserve_config = target.reserve;
  plan.arithmetic = PlanConnections(target.pools, target.reserve);
  const bool have_usage = usage.size() == target.pools.size() + 1;
  if (capacity && have_usage) plan.server = ServerFrom(*capacity, usage);
  for (std::size_t i = 0; i < target.pools.size(); ++i) {
    plan.pools.push_back(PlanPool(target.pools, i, target.reserve, have_usage ? &usage[i] : nullptr,
                                  plan.server, plan.arithmetic.reserve));
  }
  if (plan.server) {
    plan.headroom = plan.server->usable - plan.arithmetic.planned;
    plan.recommended_max_connections = plan.arithmetic.planned + plan.server->superuser_reserved +
                                       plan.server->reserved.value_or(0);
    for (const auto& provider : plan.server->provider_reserved) {
      *plan.recommended_max_connections += provider.slots;
    }
  }
  plan.notes = Notes(target, usage, plan);
  return plan;
}

CapacityPlan ComputeCapacityPlan(const TargetConfig& target, const TargetStatus& status) {
  std::optional<Capacity> capacity;
  std::vector<PoolUsage> usage;
  if (status.up && status.sample) capacity = ComputeCapacity(*status.sample);
  if (capacity) usage = ComputePoolUsage(target.pools, *status.sample->activity);
  CapacityPlan plan = PlanCapacity(target, capacity, usage);
  if (!capacity) plan.error = status.polled ? status.last_error : "not polled";
  if (!capacity && plan.error.empty()) plan.error = "no capacity figures";
  return plan;
}

}  // namespace pgconn
