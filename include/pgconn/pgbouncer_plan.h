// The capacity plan's PgBouncer lines: the server connections a PgBouncer may open, added to
// what the plan already needs on the [[target]] it pools for. Pure.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "pgconn/capacity_plan.h"
#include "pgconn/pgbouncer_metrics.h"

namespace pgconn {

struct PgbouncerBudgetPlan {
  std::string pgbouncer;
  std::string target;
  std::optional<std::int64_t> budget;   // nullopt when the console could not be read
  std::optional<std::int64_t> planned;  // the target's plan without the PgBouncer
  std::optional<std::int64_t> usable;   // the target's usable connections, when polled
  std::string error;                    // why a figure is missing (redacted)
  std::optional<std::int64_t> needed() const;
  bool exceeds() const;  // budget + planned above usable
};

// nullopt when the [[pgbouncer]] has no `target`.
std::optional<PgbouncerBudgetPlan> PlanPgbouncerBudget(const PgbouncerConfig& pgbouncer,
                                                       const PgbouncerStatus& status,
                                                       const std::vector<CapacityPlan>& plans);
std::string RenderPgbouncerBudgetsText(const std::vector<PgbouncerBudgetPlan>& budgets);
// 1 when a budget exceeds its server, 3 when a figure is unknown, else 0.
int PgbouncerBudgetExitCode(const std::vector<PgbouncerBudgetPlan>& budgets);

}  // namespace pgconn
