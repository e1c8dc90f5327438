#include "pgconn/poll_notices.h"

#include <spdlog/spdlog.h>

#include "pgconn/target_extras.h"

namespace pgconn {

void PollNotices::Observe(const TargetConfig& target, const TargetSample& sample,
                          spdlog::logger& log) {
  if (sample.visibility_complete && sample.visibility_complete != visibility_complete_) {
    if (!*sample.visibility_complete) {
      log.warn(
          "target {}: visibility incomplete: the role lacks pg_read_all_stats (grant pg_monitor); "
          "other roles' sessions show as state \"unknown\" and ages and by-state counts are wrong",
          target.name);
    } else if (visibility_complete_) {
      log.info("target {}: visibility complete again (the role has pg_read_all_stats)",
               target.name);
    }
    visibility_complete_ = sample.visibility_complete;
  }
  for (const auto& name : UnknownReservedSettings(target, sample)) {
    if (!reported_unknown_.insert(name).second) continue;
    log.warn(
        "target {}: reserved_settings \"{}\" is not a setting this server knows (or not an "
        "integer); it is ignored",
        target.name, name);
  }
}

}  // namespace pgconn
