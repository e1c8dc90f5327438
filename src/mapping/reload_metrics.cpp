#include "pgconn/reload_metrics.h"

#include "pgconn/family_builder.h"

namespace pgconn {

Families MapReloadStatus(const ReloadStatus& status) {
  Families out;
  AddGauge(out, "pgconn_config_last_reload_successful",
           "Whether the last configuration reload (SIGHUP or POST /-/reload) succeeded: 1, or 0 "
           "while a rejected file keeps the previous configuration running.",
           {}, status.last_successful ? 1 : 0);
  AddGauge(out, "pgconn_config_last_reload_success_timestamp_seconds",
           "Unix time of the last successful configuration load (start-up or reload).", {},
           status.last_success_unix);
  return out;
}

}  // namespace pgconn
