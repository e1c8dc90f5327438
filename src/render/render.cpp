#include "pgconn/render.h"

#include <prometheus/text_serializer.h>

#include <locale>
#include <sstream>
#include <unordered_map>
#include <utility>

namespace pgconn {

Families MergeFamilies(std::vector<Families> parts) {
  Families merged;
  std::unordered_map<std::string, size_t> index_by_name;
  for (auto& part : parts) {
    for (auto& family : part) {
      auto [it, inserted] = index_by_name.emplace(family.name, merged.size());
      if (inserted) {
        merged.push_back(std::move(family));
        continue;
      }
      auto& metrics = merged[it->second].metric;
      metrics.insert(metrics.end(), std::make_move_iterator(family.metric.begin()),
                     std::make_move_iterator(family.metric.end()));
    }
  }
  return merged;
}

std::string RenderText(const Families& families) {
  std::ostringstream out;
  // Sample values must not pick up a global locale's decimal separator.
  out.imbue(std::locale::classic());
  prometheus::TextSerializer().Serialize(out, families);
  return out.str();
}

}  // namespace pgconn
