#include "pgconn/plan_command.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <iostream>
#include <optional>

#include "pgconn/capacity_plan.h"
#include "pgconn/config.h"
#include "pgconn/exporter.h"
#include "pgconn/logging.h"
#include "pgconn/pgbouncer_plan.h"
#include "pgconn/plan_render.h"

namespace pgconn {
namespace {

constexpr int kUsageError = 2;

struct PlanFlags {
  std::string config_file;
  bool json = false;
  bool help = false;
};

// "--name=value" or "--name value", like the main flags.
std::optional<PlanFlags> ParsePlanFlags(const std::vector<std::string>& args, PlanFlags flags,
                                        std::string& error) {
  for (std::size_t i = 0; i < args.size(); ++i) {
    std::string name = args[i], value, shown = args[i];
    if (const std::size_t eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name.resize(eq);
    } else if ((name == "--config.file" || name == "--format") && i + 1 < args.size()) {
      value = args[++i];
      shown += " " + value;
    }
    if (name == "--config.file" && !value.empty()) {
      flags.config_file = value;
    } else if (name == "--format" && (value == "text" || value == "json")) {
      flags.json = value == "json";
    } else if ((name == "--help" || name == "-h") && shown == name) {
      flags.help = true;
    } else {
      error = "plan: invalid flag " + shown;
      return std::nullopt;
    }
  }
  return flags;
}

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

int RunPlanCommand(const std::vector<std::string>& args, const std::string& default_config_file) {
  PlanFlags defaults;
  defaults.config_file = default_config_file;
  std::string error;
  const auto flags = ParsePlanFlags(args, defaults, error);
  if (!flags) {
    std::cerr << "pgconn_exporter " << error << "\n\n" << kPlanUsage;
    return kUsageError;
  }
  if (flags->help) {
    std::cout << kPlanUsage;
    return 0;
  }
  try {
    std::vector<PgbouncerBudgetPlan> budgets;
    const std::vector<CapacityPlan> plans =
        PollAndPlan(LoadConfigFile(flags->config_file), budgets);
    std::cout << (flags->json ? RenderPlanJson(plans) : RenderPlanText(plans));
    if (!flags->json) std::cout << RenderPgbouncerBudgetsText(budgets);
    std::cout << std::flush;
    const int code = PlanExitCode(plans);
    const int budget_code = PgbouncerBudgetExitCode(budgets);
    return (code == 1 || budget_code == 1) ? 1 : std::max(code, budget_code);
  } catch (const ConfigError& config_error) {
    std::cerr << config_error.what() << "\n";
  } catch (const std::exception& other) {
    std::cerr << "pgconn_exporter plan: " << other.what() << "\n";
  }
  return kUsageError;
}

}  // namespace pgconn
