#include "pgconn/fault_metrics.h"

namespace pgconn {

void AddFaultFamilies(Families& out, const Labels& base, const TargetStatus& status) {
  if (status.accept_probe) {
    AddGauge(out, "pgconn_accepting_connections",
             "1 when the server answered a new connection's GSSENCRequest within connect_timeout "
             "(no slot taken), else 0.",
             base, status.accept_probe->accepting ? 1 : 0);
    AddGauge(out, "pgconn_accept_probe_duration_seconds",
             "Time the last new-connection probe took (connect plus the GSSENCRequest answer).",
             base, status.accept_probe->duration_seconds);
  }
  if (status.up && status.sample && status.sample->login_role) {
    const LoginRoleCheck& role = *status.sample->login_role;
    AddGauge(out, "pgconn_login_role_valid",
             "1 when the exporter's role still exists, may log in and has not expired; 0 means "
             "the next login will fail although the current session still works.",
             base, role.exists && role.can_login && !role.expired ? 1 : 0);
  }
}

}  // namespace pgconn
