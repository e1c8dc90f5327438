// The capacity arithmetic operators do by hand: pools x instances + reserve against the
// connections the server really accepts, with live numbers. Pure.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pgconn/config.h"
#include "pgconn/pool_usage.h"
#include "pgconn/target_metrics.h"

namespace pgconn {

// "10", "20%", "12.5%", "10 + 20%" (either order); nullopt when malformed.
std::optional<ReserveConfig> ParseReserve(std::string_view text);
// The inverse, for people: "10 + 20%", "0".
std::string FormatReserve(const ReserveConfig& reserve);

struct PlanArithmetic {
  std::int64_t pools = 0;          // sum of size x instances
  std::int64_t reserve_fixed = 0;  // the absolute part of the reserve
  std::int64_t buffer = 0;         // the percentage of (pools + reserve_fixed), rounded up
  std::int64_t reserve = 0;        // reserve_fixed + buffer
  std::int64_t planned = 0;        // pools + reserve
};
PlanArithmetic PlanConnections(std::int64_t pools_total, const ReserveConfig& reserve);
PlanArithmetic PlanConnections(const std::vector<PoolConfig>& pools, const ReserveConfig& reserve);

// More instances of a pool of `size` that could open their full pool now: the available
// connections minus the part of the reserve that unpooled sessions do not use already.
std::int64_t InstancesFitNow(std::int64_t size, std::int64_t available, std::int64_t reserve,
                             std::int64_t unpooled_now);

// Largest size (instances) of pools[index] whose plan still fits `usable`, the other pools
// unchanged; 0 when not even an empty pool fits, nullopt when the answer is unbounded.
std::optional<std::int64_t> MaxSizeThatFits(const std::vector<PoolConfig>& pools, std::size_t index,
                                            const ReserveConfig& reserve, std::int64_t usable);
std::optional<std::int64_t> MaxInstancesThatFit(const std::vector<PoolConfig>& pools,
                                                std::size_t index, const ReserveConfig& reserve,
                                                std::int64_t usable);

struct PoolPlan {
  std::string pool;
  std::string size_source;
  std::int64_t size = 0;
  std::int64_t instances = 0;
  std::int64_t total = 0;                // size x instances
  std::optional<std::int64_t> open_now;  // live numbers need the server
  std::optional<std::int64_t> busy_now;
  std::optional<std::int64_t> instances_now;      // split pools only
  std::optional<std::int64_t> instances_fit_now;  // live; needs the server
  std::optional<std::int64_t> max_size;           // see MaxSizeThatFits; needs the server
  std::optional<std::int64_t> max_instances;
};

struct ServerNow {
  std::int64_t max_connections = 0;
  std::int64_t superuser_reserved = 0;
  std::optional<std::int64_t> reserved;  // PG16+ reserved_connections
  std::int64_t usable = 0;
  std::int64_t client_connections = 0;  // the exporter's own included
  std::int64_t available = 0;
  std::int64_t unpooled_now = 0;  // client backends in no pool, the exporter's own included
  std::vector<ProviderReserve> provider_reserved;  // e.g. rds.rds_superuser_reserved_connections
};

struct CapacityPlan {
  std::string target;
  ReserveConfig reserve_config;
  PlanArithmetic arithmetic;
  std::vector<PoolPlan> pools;
  std::optional<ServerNow> server;       // nullopt when the target could not be polled
  std::string error;                     // why not (redacted)
  std::optional<std::int64_t> headroom;  // usable - planned
  std::optional<std::int64_t> recommended_max_connections;  // smallest that fits the plan
  std::vector<std::string> notes;                           // live observations worth a look
  bool fits() const { return headroom && *headroom >= 0; }
};

// From a capacity and the pool usage already computed (MapTarget), or from a poll status.
CapacityPlan PlanCapacity(const TargetConfig& target, const std::optional<Capacity>& capacity,
                          const std::vector<PoolUsage>& usage);
CapacityPlan ComputeCapacityPlan(const TargetConfig& target, const TargetStatus& status);

}  // namespace pgconn
