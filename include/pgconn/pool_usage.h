// What each [[pool]] of a target holds right now, per app instance. Pure.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "pgconn/config.h"
#include "pgconn/sample.h"

namespace pgconn {

// States of a session that is doing work for a request: it is not available to the app's pool.
bool IsBusyState(const std::string& state);

// One instance's sessions, or several instances folded into "__other__".
struct InstanceUsage {
  std::string instance;       // "" when the pool is not split by instance
  std::int64_t open = 0;      // sessions, the exporter's own excluded
  std::int64_t busy = 0;      // in a busy state
  std::int64_t idle = 0;      // state "idle": ready for the next request
  std::int64_t capacity = 0;  // connections it may open (the pool size per instance)
  double open_ratio = 0;      // open / capacity; not clamped: above 1 means the size is wrong
  double busy_ratio = 0;      // busy / capacity; 1 means requests wait for a connection
  bool saturated = false;     // every connection open and none idle
  std::int64_t folded = 1;    // instances this entry stands for
};

InstanceUsage MeasureInstance(std::string instance, std::int64_t open, std::int64_t busy,
                              std::int64_t idle, std::int64_t capacity);

// Keeps the `max_series` instances with the most sessions; the rest become one "__other__"
// entry that reports the worst ratio and saturation among them (so alerts still fire).
std::vector<InstanceUsage> FoldInstances(std::vector<InstanceUsage> instances, int max_series);

struct PoolUsage {
  std::string name;
  std::map<std::string, std::int64_t> by_state;  // known states always present
  std::int64_t open = 0;                         // the exporter's own session excluded
  std::int64_t busy = 0;
  std::optional<std::int64_t> observed_instances;  // only when split by instance
  std::vector<InstanceUsage> instances;            // folded; one unlabelled entry when not split
};

// One entry per pool in file order, then one for "__unpooled__" (which has no instances).
// Only client backends count; a pool that is not split measures size x instances as a unit.
std::vector<PoolUsage> ComputePoolUsage(const std::vector<PoolConfig>& pools,
                                        const std::vector<ActivityGroup>& activity);

}  // namespace pgconn
