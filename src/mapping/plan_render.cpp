#include "pgconn/plan_render.h"

#include <algorithm>
#include <cstdio>
#include <sstream>

#include "pgconn/logging.h"

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

// A JSON object written field by field; values are numbers, strings, null or raw JSON.
class JsonObject {
 public:
  JsonObject& Raw(const std::string& key, const std::string& json) {
    out_ += (out_.empty() ? "{" : ",") + Quote(key) + ":" + json;
    return *this;
  }
  JsonObject& Int(const std::string& key, std::int64_t value) { return Raw(key, Num(value)); }
  JsonObject& Int(const std::string& key, const std::optional<std::int64_t>& value) {
    return Raw(key, value ? Num(*value) : "null");
  }
  JsonObject& Str(const std::string& key, const std::string& value) {
    return Raw(key, Quote(value));
  }
  std::string Close() const { return (out_.empty() ? "{" : out_) + "}"; }
  static std::string Quote(const std::string& text) { return "\"" + JsonEscape(text) + "\""; }

 private:
  std::string out_;
};

std::string JsonArray(const std::vector<std::string>& items) {
  std::string out = "[";
  for (std::size_t i = 0; i < items.size(); ++i) out += (i ? "," : "") + items[i];
  return out + "]";
}

std::string ProviderReservedJson(const ServerNow& server) {
  JsonObject settings;
  for (const auto& provider : server.provider_reserved)
    settings.Int(provider.setting, provider.slots);
  return settings.Close();
}

std::string ServerJson(const ServerNow& server) {
  return JsonObject()
      .Int("max_connections", server.max_connections)
      .Int("superuser_reserved_connections", server.superuser_reserved)
      .Int("reserved_connections", server.reserved)
      .Raw("provider_reserved_connections", ProviderReservedJson(server))
      .Int("usable_connections", server.usable)
      .Int("client_connections", server.client_connections)
      .Int("available_connections", server.available)
      .Int("unpooled_connections", server.unpooled_now)
      .Close();
}

std::string PoolJson(const PoolPlan& pool) {
  return JsonObject()
      .Str("pool", pool.pool)
      .Int("size", pool.size)
      .Str("size_source", pool.size_source)
      .Int("instances", pool.instances)
      .Int("total", pool.total)
      .Int("open_now", pool.open_now)
      .Int("busy_now", pool.busy_now)
      .Int("instances_now", pool.instances_now)
      .Int("instances_fit_now", pool.instances_fit_now)
      .Int("max_size", pool.max_size)
      .Int("max_instances", pool.max_instances)
      .Close();
}

std::string TargetJson(const CapacityPlan& plan) {
  std::vector<std::string> pools, notes;
  for (const auto& pool : plan.pools) pools.push_back(PoolJson(pool));
  for (const auto& note : plan.notes) notes.push_back(JsonObject::Quote(note));
  const PlanArithmetic& a = plan.arithmetic;
  return JsonObject()
      .Str("target", plan.target)
      .Raw("fits", plan.headroom ? (plan.fits() ? "true" : "false") : "null")
      .Raw("error", plan.error.empty() ? "null" : JsonObject::Quote(plan.error))
      .Raw("server", plan.server ? ServerJson(*plan.server) : "null")
      .Raw("pools", JsonArray(pools))
      .Int("pools_total", a.pools)
      .Str("reserve", FormatReserve(plan.reserve_config))
      .Int("reserve_fixed", a.reserve_fixed)
      .Int("reserve_buffer", a.buffer)
      .Int("reserve_total", a.reserve)
      .Int("planned_connections", a.planned)
      .Int("headroom_connections", plan.headroom)
      .Int("recommended_max_connections", plan.recommended_max_connections)
      .Raw("notes", JsonArray(notes))
      .Close();
}

}  // namespace

std::string RenderPlanText(const std::vector<CapacityPlan>& plans) {
  std::string out;
  for (std::size_t i = 0; i < plans.size(); ++i) out += (i ? "\n" : "") + TargetText(plans[i]);
  return out;
}

std::string RenderPlanJson(const std::vector<CapacityPlan>& plans) {
  std::vector<std::string> targets;
  for (const auto& plan : plans) targets.push_back(TargetJson(plan));
  const int code = PlanExitCode(plans);
  return JsonObject()
             .Raw("fits", code == 0 ? "true" : (code == 1 ? "false" : "null"))
             .Raw("targets", JsonArray(targets))
             .Close() +
         "\n";
}

int PlanExitCode(const std::vector<CapacityPlan>& plans) {
  const auto short_of = [](const CapacityPlan& plan) { return plan.headroom && !plan.fits(); };
  if (std::any_of(plans.begin(), plans.end(), short_of)) return 1;
  const auto unknown = [](const CapacityPlan& plan) { return !plan.headroom; };
  return std::any_of(plans.begin(), plans.end(), unknown) ? 3 : 0;
}

}  // namespace pgconn
