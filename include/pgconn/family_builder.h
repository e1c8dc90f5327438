// Small helpers for building prometheus::MetricFamily values in pure mapping code.
#pragma once

#include <prometheus/metric_family.h>

#include <string>
#include <utility>
#include <vector>

namespace pgconn {

using Labels = std::vector<std::pair<std::string, std::string>>;

class FamilyBuilder {
 public:
  FamilyBuilder(std::string name, std::string help,
                prometheus::MetricType type = prometheus::MetricType::Gauge) {
    family_.name = std::move(name);
    family_.help = std::move(help);
    family_.type = type;
  }

  FamilyBuilder& Add(const Labels& labels, double value) {
    prometheus::ClientMetric metric;
    for (const auto& [name, label_value] : labels) metric.label.push_back({name, label_value});
    if (family_.type == prometheus::MetricType::Counter) {
      metric.counter.value = value;
    } else {
      metric.gauge.value = value;
    }
    family_.metric.push_back(std::move(metric));
    return *this;
  }

  bool empty() const { return family_.metric.empty(); }
  prometheus::MetricFamily Build() { return std::move(family_); }

 private:
  prometheus::MetricFamily family_;
};

// Appends a single-sample family; the common case for per-target gauges.
inline void AddGauge(std::vector<prometheus::MetricFamily>& out, std::string name, std::string help,
                     const Labels& labels, double value) {
  out.push_back(FamilyBuilder(std::move(name), std::move(help)).Add(labels, value).Build());
}

}  // namespace pgconn
