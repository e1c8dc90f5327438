// One-series gauge families for tests that stitch or merge rendered parts.
#pragma once

#include <prometheus/metric_family.h>

#include <string>

namespace pgconn::testing {

// `name`{target="`target`"} `value`, with "help of `name`" as its HELP.
inline prometheus::MetricFamily TargetGauge(const std::string& name, const std::string& target,
                                            double value) {
  prometheus::MetricFamily family{name, "help of " + name, prometheus::MetricType::Gauge, {}};
  prometheus::ClientMetric metric;
  metric.label = {{"target", target}};
  metric.gauge.value = value;
  family.metric.push_back(metric);
  return family;
}

}  // namespace pgconn::testing
