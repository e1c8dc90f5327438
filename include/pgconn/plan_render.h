// `pgconn_exporter plan`: the capacity plan as a table for people or JSON for machines. Pure.
#pragma once

#include <string>
#include <vector>

#include "pgconn/capacity_plan.h"

namespace pgconn {

std::string RenderPlanText(const std::vector<CapacityPlan>& plans);
std::string RenderPlanJson(const std::vector<CapacityPlan>& plans);

// 0 when every plan fits, 1 when one does not, 3 when none is short but a target could not
// be polled (its plan is unknown).
int PlanExitCode(const std::vector<CapacityPlan>& plans);

}  // namespace pgconn
