#include "pgconn/pgbouncer_plan.h"

#include <algorithm>

namespace pgconn {
namespace {

std::string Num(std::int64_t n) { return std::to_string(n); }

std::string Verdict(const PgbouncerBudgetPlan& b) {
  const auto needed = b.needed();
  if (!needed || !b.usable) return "UNKNOWN (" + b.error + ")";
  if (b.exceeds()) return "EXCEEDS THE SERVER (short by " + Num(*needed - *b.usable) + ")";
  return "FITS (headroom " + Num(*b.usable - *needed) + ")";
}

}  // namespace

std::optional<std::int64_t> PgbouncerBudgetPlan::needed() const {
  if (!budget) return std::nullopt;
  return *budget + planned.value_or(0);
}

bool PgbouncerBudgetPlan::exceeds() const {
  const auto total = needed();
  return total && usable && *total > *usable;
}

std::optional<PgbouncerBudgetPlan> PlanPgbouncerBudget(const PgbouncerConfig& pgbouncer,
                                                       const PgbouncerStatus& status,
                                                       const std::vector<CapacityPlan>& plans) {
  if (pgbouncer.target.empty()) return std::nullopt;
  PgbouncerBudgetPlan out;
  out.pgbouncer = pgbouncer.name();
  out.target = pgbouncer.target;
  if (status.health.up && status.sample) out.budget = ServerConnectionBudget(*status.sample);
  if (!out.budget) out.error = "pgbouncer: " + status.health.last_error;
  const auto plan = std::find_if(plans.begin(), plans.end(),
                                 [&](const CapacityPlan& p) { return p.target == out.target; });
  if (plan != plans.end()) {
    out.planned = plan->arithmetic.planned;
    if (plan->server) out.usable = plan->server->usable;
    if (!plan->server && out.error.empty()) out.error = "target: " + plan->error;
  }
  return out;
}

std::string RenderPgbouncerBudgetsText(const std::vector<PgbouncerBudgetPlan>& budgets) {
  std::string out;
  for (const auto& b : budgets) {
    out += "\npgbouncer " + b.pgbouncer + " -> target " + b.target + ": " + Verdict(b) + "\n";
    if (b.budget) {
      out += "  server connection budget (pool_size + reserve_pool per pool)  " + Num(*b.budget) +
             "\n";
    }
    if (b.planned)
      out +=
          "  + planned on the target without it                         " + Num(*b.planned) + "\n";
    if (b.usable)
      out +=
          "  usable on the target                                       " + Num(*b.usable) + "\n";
  }
  return out;
}

int PgbouncerBudgetExitCode(const std::vector<PgbouncerBudgetPlan>& budgets) {
  if (std::any_of(budgets.begin(), budgets.end(), [](const auto& b) { return b.exceeds(); })) {
    return 1;
  }
  const auto unknown = [](const auto& b) { return !b.needed() || !b.usable; };
  return std::any_of(budgets.begin(), budgets.end(), unknown) ? 3 : 0;
}

}  // namespace pgconn
