#include "pgconn/plan_render.h"

#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <sstream>

namespace pgconn {
namespace {

constexpr int kValueColumn = 44;  // where numbers end in the arithmetic block

std::string Pad(std::string text, std::size_t width) {
  if (text.size() < width) text.append(width - text.size(), ' ');
  return text;
}

std::string PadLeft(const std::string& text, std::size_t width) {
  return text.size() < width ? std::string(width - text.size(), ' ') + text : text;
}

std::string Num(std::int64_t value) { return std::to_string(value); }

std::string OptNum(const std::optional<std::int64_t>& value) {
  return value ? std::to_string(*value) : "-";
}

// "  label ......... value" with the value right-aligned at kValueColumn.
std::string Line(const std::string& label, const std::string& value) {
  const std::string left = "  " + label;
  const std::size_t width = std::max<std::size_t>(kValueColumn, left.size() + 1 + value.size());
  return left + PadLeft(value, width - left.size()) + "\n";
}

std::string Verdict(const CapacityPlan& plan) {
  if (!plan.headroom) return "UNKNOWN (could not poll: " + plan.error + ")";
  if (plan.fits()) return "FITS (headroom " + Num(*plan.headroom) + ")";
  return "DOES NOT FIT (short by " + Num(-*plan.headroom) + ")";
}

std::string ServerBlock(const ServerNow& server) {
  std::string out = Line("max_connections", Num(server.max_connections));
  out += Line("- superuser_reserved_connections", Num(server.superuser_reserved));
  if (server.reserved) out += Line("- reserved_connections", Num(*server.reserved));
  for (const auto& provider : server.provider_reserved) {
    out += Line("- " + provider.setting, Num(provider.slots));
  }
  out += Line("= usable by ordinary roles", Num(server.usable));
  out += Line("in use now (client backends)", Num(server.client_connections));
  out += Line("available now", Num(server.available));
  return out;
}

std::string PoolTable(const CapacityPlan& plan) {
  std::size_t name_width = 12;
  for (const auto& pool : plan.pools) name_width = std::max(name_width, pool.pool.size() + 2);
  std::ostringstream out;
  out << "  " << Pad("pool", name_width) << "  size x instances =  total | open now  busy"
      << "  instances now  fit now\n";
  for (const auto& pool : plan.pools) {
    char row[160];
    std::snprintf(row, sizeof(row), "%6lld x %9lld = %6lld | %8s %5s %14s %8s\n",
                  static_cast<long long>(pool.size), static_cast<long long>(pool.instances),
                  static_cast<long long>(pool.total), OptNum(pool.open_now).c_str(),
                  OptNum(pool.busy_now).c_str(), OptNum(pool.instances_now).c_str(),
                  OptNum(pool.instances_fit_now).c_str());
    out << "  " << Pad(pool.pool, name_width) << row;
  }
  if (plan.server) {
    out << "  " << Pad("(unpooled, incl. the exporter)", name_width + 30)
        << PadLeft(Num(plan.server->unpooled_now), 8) << "\n";
  }
  return out.str();
}

std::string ArithmeticBlock(const CapacityPlan& plan) {
  const PlanArithmetic& a = plan.arithmetic;
  std::string reserve = "reserve " + FormatReserve(plan.reserve_config);
  if (a.buffer > 0) {
    const ReserveConfig percent{0, plan.reserve_config.percent_hundredths};
    reserve += " (" + Num(a.reserve_fixed) + " + " + FormatReserve(percent) + " of " +
               Num(a.pools + a.reserve_fixed) + ")";
  }
  std::string out = Line("pools (size x instances)", Num(a.pools));
  out += Line("+ " + reserve, Num(a.reserve));
  out += Line("= needed", Num(a.planned));
  if (plan.server) {
    out += Line("usable", Num(plan.server->usable));
    out += Line("headroom (usable - needed)", Num(*plan.headroom));
  }
  return out;
}

std::string PoolAdvice(const PoolPlan& pool) {
  if (!pool.max_size && !pool.max_instances) return "";
  std::string out = "    " + pool.pool + ": ";
  if (pool.max_size && *pool.max_size == 0) return out + "no instance fits beside the others\n";
  if (pool.max_size) {
    out += "at most " + Num(*pool.max_size) + " per instance x " + Num(pool.instances);
  }
  if (pool.max_instances) {
    out += std::string(pool.max_size ? ", or " : "") + "at most " + Num(*pool.max_instances) +
           " instances of " + Num(pool.size);
  }
  return out + " (other pools unchanged)\n";
}

std::string Recommendation(const CapacityPlan& plan) {
  if (!plan.recommended_max_connections) return "";
  const std::int64_t slots = *plan.recommended_max_connections - plan.arithmetic.planned;
  std::string out = "  recommendation:\n";
  out += plan.fits() ? "    the plan fits; the smallest max_connections for it is "
                     : "    raise max_connections to at least ";
  out += Num(*plan.recommended_max_connections) + " (" + Num(plan.arithmetic.planned) +
         " needed + " + Num(slots) + " reserved slots; changing it needs a restart)";
  out += plan.fits() ? "\n" : ", or shrink a pool:\n";
  for (const auto& pool : plan.pools) out += PoolAdvice(pool);
  return out;
}

std::string TargetText(const CapacityPlan& plan) {
  std::string out = "target " + plan.target + ": " + Verdict(plan) + "\n";
  if (plan.server) out += ServerBlock(*plan.server) + "\n";
  if (!plan.pools.empty()) out += PoolTable(plan) + "\n";
  out += ArithmeticBlock(plan);
  out += Recommendation(plan);
  if (!plan.notes.empty()) out += "  notes:\n";
  for (const auto& note : plan.notes) out += "    " + note + "\n";
  return out;
}

using Json = nlohmann::ordered_json;  // keeps the field order below in the output

Json OrNull(const std::optional<std::int64_t>& value) { return value ? Json(*value) : Json(); }

Json ProviderReservedJson(const ServerNow& server) {
  Json settings = Json::object();
  for (const auto& provider : server.provider_reserved) settings[provider.setting] = provider.slots;
  return settings;
}

Json ServerJson(const ServerNow& server) {
  return Json{{"max_connections", server.max_connections},
              {"superuser_reserved_connections", server.superuser_reserved},
              {"reserved_connections", OrNull(server.reserved)},
              {"provider_reserved_connections", ProviderReservedJson(server)},
              {"usable_connections", server.usable},
              {"client_connections", server.client_connections},
              {"available_connections", server.available},
              {"unpooled_connections", server.unpooled_now}};
}

Json PoolJson(const PoolPlan& pool) {
  return Json{{"pool", pool.pool},
              {"size", pool.size},
              {"size_source", pool.size_source},
              {"instances", pool.instances},
              {"total", pool.total},
              {"open_now", OrNull(pool.open_now)},
              {"busy_now", OrNull(pool.busy_now)},
              {"instances_now", OrNull(pool.instances_now)},
              {"instances_fit_now", OrNull(pool.instances_fit_now)},
              {"max_size", OrNull(pool.max_size)},
              {"max_instances", OrNull(pool.max_instances)}};
}

Json TargetJson(const CapacityPlan& plan) {
  Json pools = Json::array();
  for (const auto& pool : plan.pools) pools.push_back(PoolJson(pool));
  const PlanArithmetic& a = plan.arithmetic;
  return Json{{"target", plan.target},
              {"fits", plan.headroom ? Json(plan.fits()) : Json()},
              {"error", plan.error.empty() ? Json() : Json(plan.error)},
              {"server", plan.server ? ServerJson(*plan.server) : Json()},
              {"pools", pools},
              {"pools_total", a.pools},
              {"reserve", FormatReserve(plan.reserve_config)},
              {"reserve_fixed", a.reserve_fixed},
              {"reserve_buffer", a.buffer},
              {"reserve_total", a.reserve},
              {"planned_connections", a.planned},
              {"headroom_connections", OrNull(plan.headroom)},
              {"recommended_max_connections", OrNull(plan.recommended_max_connections)},
              {"notes", plan.notes}};
}

}  // namespace

std::string RenderPlanText(const std::vector<CapacityPlan>& plans) {
  std::string out;
  for (std::size_t i = 0; i < plans.size(); ++i) out += (i ? "\n" : "") + TargetText(plans[i]);
  return out;
}

Json BudgetJson(const PgbouncerBudgetPlan& budget) {
  return Json{{"pgbouncer", budget.pgbouncer},
              {"target", budget.target},
              {"server_connection_budget", OrNull(budget.budget)},
              {"planned_without_it", OrNull(budget.planned)},
              {"usable_connections", OrNull(budget.usable)},
              {"needed", OrNull(budget.needed())},
              {"exceeds", budget.exceeds()},
              {"error", budget.error.empty() ? Json() : Json(budget.error)}};
}

std::string RenderPlanJson(const std::vector<CapacityPlan>& plans) {
  return RenderPlanJson(plans, {});
}

std::string RenderPlanJson(const std::vector<CapacityPlan>& plans,
                           const std::vector<PgbouncerBudgetPlan>& budgets) {
  Json targets = Json::array();
  for (const auto& plan : plans) targets.push_back(TargetJson(plan));
  const int code = CombinedPlanExitCode(plans, budgets);
  Json out{{"fits", code == 3 ? Json() : Json(code == 0)}, {"targets", targets}};
  if (!budgets.empty()) {
    Json pgbouncers = Json::array();
    for (const auto& budget : budgets) pgbouncers.push_back(BudgetJson(budget));
    out["pgbouncers"] = pgbouncers;
  }
  // Names and errors come from config and servers: replace invalid UTF-8 instead of throwing.
  return out.dump(-1, ' ', false, Json::error_handler_t::replace) + "\n";
}

int CombinedPlanExitCode(const std::vector<CapacityPlan>& plans,
                         const std::vector<PgbouncerBudgetPlan>& budgets) {
  const int code = PlanExitCode(plans);
  const int budget_code = PgbouncerBudgetExitCode(budgets);
  return (code == 1 || budget_code == 1) ? 1 : std::max(code, budget_code);
}

int PlanExitCode(const std::vector<CapacityPlan>& plans) {
  const auto short_of = [](const CapacityPlan& plan) { return plan.headroom && !plan.fits(); };
  if (std::any_of(plans.begin(), plans.end(), short_of)) return 1;
  const auto unknown = [](const CapacityPlan& plan) { return !plan.headroom; };
  return std::any_of(plans.begin(), plans.end(), unknown) ? 3 : 0;
}

}  // namespace pgconn
