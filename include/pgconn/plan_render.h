// `pgconn_exporter plan`: the capacity plan as a table for people or JSON for machines. Pure.
#pragma once

#include <string>
#include <vector>

#include "pgconn/capacity_plan.h"
#include "pgconn/pgbouncer_plan.h"

namespace pgconn {

std::string RenderPlanText(const std::vector<CapacityPlan>& plans);
std::string RenderPlanJson(const std::vector<CapacityPlan>& plans);
// The same, with a "pgbouncers" array of budgets (omitted when empty) counted in "fits".
std::string RenderPlanJson(const std::vector<CapacityPlan>& plans,
                           const std::vector<PgbouncerBudgetPlan>& budgets);

// 0 when every plan fits, 1 when one does not, 3 when none is short but a target could not
// be polled (its plan is unknown).
int PlanExitCode(const std::vector<CapacityPlan>& plans);
// `plan`'s exit code with PgBouncer budgets: 1 when anything does not fit, else the worst.
int CombinedPlanExitCode(const std::vector<CapacityPlan>& plans,
                         const std::vector<PgbouncerBudgetPlan>& budgets);

}  // namespace pgconn
