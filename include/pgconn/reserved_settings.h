// Settings by which managed PostgreSQL providers (and forks) keep connection slots away from
// ordinary roles, on top of PostgreSQL's own superuser_reserved_connections and
// reserved_connections. Plain helpers shared by config, sources and mapping.
#pragma once

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pgconn/config.h"
#include "pgconn/sample.h"

namespace pgconn {

// Amazon RDS and Aurora PostgreSQL: slots only rds_superuser members may take (default 2).
inline constexpr const char* kRdsSuperuserReserved = "rds.rds_superuser_reserved_connections";

// Read on every target; absent settings simply read NULL.
inline const std::vector<std::string>& BuiltInReservedSettings() {
  static const std::vector<std::string> kNames = {kRdsSuperuserReserved};
  return kNames;
}

inline bool IsBuiltInReservedSetting(const std::string& name) {
  const auto& names = BuiltInReservedSettings();
  return std::find(names.begin(), names.end(), name) != names.end();
}

// A setting identifier as PostgreSQL spells custom ones ("acme.reserved"): letters, digits,
// '_' and '.', not starting with a digit or '.'.
inline bool IsSettingName(std::string_view name) {
  if (name.empty() || name.size() > 63 || name[0] == '.' || (name[0] >= '0' && name[0] <= '9')) {
    return false;
  }
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '.';
  });
}

// The built-in names, then the target's own, each once.
inline std::vector<std::string> ReservedSettingNames(const TargetConfig& target) {
  std::vector<std::string> names = BuiltInReservedSettings();
  for (const auto& name : target.reserved_settings) {
    if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(name);
  }
  return names;
}

// Slots a setting reserves: nullopt when the server does not know it or its value is not a
// non-negative integer.
inline std::optional<int64_t> ReservedSlots(const ReservedSetting& setting) {
  if (!setting.value || setting.value->empty() || setting.value->size() > 9) return std::nullopt;
  int64_t slots = 0;
  for (const char c : *setting.value) {
    if (c < '0' || c > '9') return std::nullopt;
    slots = slots * 10 + (c - '0');
  }
  return slots;
}

}  // namespace pgconn
