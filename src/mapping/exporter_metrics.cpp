#include "pgconn/family_builder.h"
#include "pgconn/self_process.h"

namespace pgconn {

Families MapSelfProcess(const SelfProcess& process) {
  Families out;
  out.push_back(FamilyBuilder("process_cpu_seconds_total",
                              "Total user and system CPU time spent in seconds.",
                              prometheus::MetricType::Counter)
                    .Add({}, process.cpu_seconds)
                    .Build());
  AddGauge(out, "process_open_fds", "Number of open file descriptors.", {},
           static_cast<double>(process.open_fds));
  if (process.max_fds) {
    AddGauge(out, "process_max_fds", "Maximum number of open file descriptors.", {},
             static_cast<double>(*process.max_fds));
  }
  AddGauge(out, "process_resident_memory_bytes", "Resident memory size in bytes.", {},
           static_cast<double>(process.resident_bytes));
  AddGauge(out, "process_virtual_memory_bytes", "Virtual memory size in bytes.", {},
           static_cast<double>(process.virtual_bytes));
  AddGauge(out, "process_start_time_seconds",
           "Start time of the process since unix epoch in seconds.", {}, process.start_time_unix);
  return out;
}

Families MapBuildInfo(const std::string& version, const std::string& revision) {
  Families out;
  AddGauge(out, "pgconn_exporter_build_info",
           "A metric with a constant '1' value labeled by version and revision of the build.",
           {{"version", version}, {"revision", revision}}, 1);
  return out;
}

}  // namespace pgconn
