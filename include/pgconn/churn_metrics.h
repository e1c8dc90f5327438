// Issue 14, pure: connection churn (new sessions, session counters, connection ages) and
// connections by client address.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "pgconn/config.h"
#include "pgconn/family_builder.h"
#include "pgconn/render.h"
#include "pgconn/sample.h"
#include "pgconn/target_metrics.h"

namespace pgconn {

// Adds this poll's new sessions to the counters. A group not seen before, once `max_series`
// groups exist, counts under {"__other__","__other__","__other__"}, so memory stays bounded.
void AccumulateNewConnections(const TargetSample& sample, int max_series,
                              std::map<std::vector<std::string>, uint64_t>& counters);

void AddChurnFamilies(Families& out, const Labels& base, const TargetConfig& target,
                      const TargetStatus& status);

}  // namespace pgconn
