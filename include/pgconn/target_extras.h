// Target mapping beyond the core capacity families: visibility (can the session see other
// roles' sessions?), provider reserve settings, and the landing page's details. Pure.
#pragma once

#include <string>
#include <vector>

#include "pgconn/config.h"
#include "pgconn/family_builder.h"
#include "pgconn/render.h"
#include "pgconn/sample.h"
#include "pgconn/snapshot.h"
#include "pgconn/target_metrics.h"

namespace pgconn {

// Every provider setting the server knows with a non-negative integer value.
std::vector<ProviderReserve> ProviderReserves(const TargetSample& sample);

// The target's own reserved_settings the server does not know (or that are not integers).
std::vector<std::string> UnknownReservedSettings(const TargetConfig& target,
                                                 const TargetSample& sample);

// pgconn_target_visibility_complete, when the visibility collector answered.
void AddVisibility(Families& out, const Labels& base, const TargetSample& sample);

// Available-now, reserve lines, pools, visibility and the failure reason.
void AddSummaryDetails(TargetSummary& summary, const TargetConfig& target,
                       const TargetStatus& status);

}  // namespace pgconn
