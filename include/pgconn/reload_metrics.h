// pgconn_config_last_reload_*: whether the running config is the file's latest, as Prometheus
// itself reports it (prometheus_config_last_reload_successful).
#pragma once

#include "pgconn/render.h"

namespace pgconn {

struct ReloadStatus {
  bool last_successful = true;  // the start-up load counts as a successful one
  double last_success_unix = 0;
};

Families MapReloadStatus(const ReloadStatus& status);

}  // namespace pgconn
