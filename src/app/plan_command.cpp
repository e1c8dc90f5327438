#include "pgconn/plan_command.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <iostream>

#include "pgconn/capacity_plan.h"
#include "pgconn/config.h"
#include "pgconn/exporter.h"
#include "pgconn/logging.h"
#include "pgconn/pgbouncer_plan.h"
#include "pgconn/plan_render.h"

namespace pgconn {
namespace {

constexpr int kConfigError = 2;
constexpr int kRuntimeError = 1;

std::vector<CapacityPlan> PollAndPlan(Config config, std::vector<PgbouncerBudgetPlan>& budgets) {
  // Plan output is for people: keep routine info lines off the terminal.
  auto log =
      MakeLogger(std::max(config.exporter.log_level, LogLevel::kWarn), config.exporter.log_format);
  Exporter exporter(std::move(config), log);
  exporter.PollAllOnce();
  std::vector<CapacityPlan> plans;
  for (const auto& [target, status] : exporter.LastPolled()) {
    plans.push_back(ComputeCapacityPlan(target, status));
  }
  for (const auto& [pgbouncer, status] : exporter.LastPolledPgbouncers()) {
    if (auto budget = PlanPgbouncerBudget(pgbouncer, status, plans)) budgets.push_back(*budget);
  }
  return plans;
}

}  // namespace

int RunPlan(const std::string& config_file, const ConfigOverrides& overrides, bool json) {
  Config config;
  try {
    config = LoadConfigWithOverrides(config_file, overrides);
  } catch (const std::exception& config_error) {  // ConfigError or WebConfigError
    std::cerr << config_error.what() << "\n";
    return kConfigError;
  }
  try {
    std::vector<PgbouncerBudgetPlan> budgets;
    const std::vector<CapacityPlan> plans = PollAndPlan(std::move(config), budgets);
    std::cout << (json ? RenderPlanJson(plans, budgets)
                       : RenderPlanText(plans) + RenderPgbouncerBudgetsText(budgets))
              << std::flush;
    return CombinedPlanExitCode(plans, budgets);
  } catch (const std::exception& other) {
    std::cerr << "pgconn_exporter plan: " << other.what() << "\n";
  }
  return kRuntimeError;
}

}  // namespace pgconn
