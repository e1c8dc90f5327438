// Pool saturation and capacity-plan families of one target (see docs/metrics.md). Pure.
#pragma once

#include "pgconn/config.h"
#include "pgconn/family_builder.h"
#include "pgconn/render.h"
#include "pgconn/sample.h"
#include "pgconn/target_metrics.h"

namespace pgconn {

// Appends the pgconn_pool_* and pgconn_capacity_planned_* families; nothing for a target
// without [[pool]] entries and without a reserve. Needs a sample with activity.
void AddPoolFamilies(Families& out, const Labels& base, const TargetConfig& target,
                     const TargetSample& sample, const Capacity& capacity);

}  // namespace pgconn
