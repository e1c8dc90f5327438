// `pgconn_exporter plan`: polls every target once and prints the capacity plan.
#pragma once

#include <string>
#include <vector>

namespace pgconn {

inline constexpr const char* kPlanUsage =
    R"(usage: pgconn_exporter plan [--config.file=PATH] [--format=text|json]

Polls every target once and prints the capacity arithmetic with live numbers: max_connections,
reserved slots, each pool (size x instances = total, observed now), the reserve, the total
needed, the headroom and a recommendation.

Exit status: 0 every plan fits, 1 a plan does not fit, 2 bad flags or configuration,
3 a target could not be polled (its plan is unknown).
)";

// `args` are the arguments after "plan"; the plan goes to stdout, errors and logs to stderr.
int RunPlanCommand(const std::vector<std::string>& args, const std::string& default_config_file);

}  // namespace pgconn
