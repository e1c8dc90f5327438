// Pure helpers that turn metric families into bytes.
#pragma once

#include <prometheus/metric_family.h>

#include <string>
#include <vector>

namespace pgconn {

using Families = std::vector<prometheus::MetricFamily>;

// Families with the same name (one per target) become one family, in first-seen order.
Families MergeFamilies(std::vector<Families> parts);

// Prometheus text exposition format 0.0.4.
std::string RenderText(const Families& families);

}  // namespace pgconn
