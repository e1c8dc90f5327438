// `pgconn_exporter plan`: polls every target once and prints the capacity plan.
#pragma once

#include <string>

#include "pgconn/config_overrides.h"

namespace pgconn {

inline constexpr const char* kPlanDescription =
    "Polls every target once and prints the capacity arithmetic with live numbers: "
    "max_connections, reserved slots, each pool (size x instances = total, observed now), the "
    "reserve, the total needed, the headroom and a recommendation.";

// The plan goes to stdout, errors and logs to stderr. Returns the exit code: 0 every plan fits,
// 1 a plan does not fit (or a runtime failure), 2 bad configuration, 3 a target could not be
// polled (its plan is unknown).
int RunPlan(const std::string& config_file, const ConfigOverrides& overrides, bool json);

}  // namespace pgconn
