// Pure mapping from one target's poll state to metric families. No I/O here.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "pgconn/accept_probe.h"
#include "pgconn/config.h"
#include "pgconn/failure.h"
#include "pgconn/render.h"
#include "pgconn/sample.h"
#include "pgconn/snapshot.h"

namespace pgconn {

// A poll's sample once recorded: read-only, and shared by the copies of a status (the poller
// keeps one, the assembler another; a 1,000-target fleet held each sample twice, ~7 MiB).
class RecordedSample {
 public:
  RecordedSample() = default;
  RecordedSample(TargetSample sample)  // NOLINT(google-explicit-constructor): assigned as a value
      : sample_(std::make_shared<const TargetSample>(std::move(sample))) {}
  explicit operator bool() const { return sample_ != nullptr; }
  bool has_value() const { return sample_ != nullptr; }
  const TargetSample& operator*() const { return *sample_; }
  const TargetSample* operator->() const { return sample_.get(); }
  void reset() { sample_.reset(); }

 private:
  std::shared_ptr<const TargetSample> sample_;
};

// The poller's view of one target after its latest poll.
struct TargetStatus {
  bool up = false;
  bool polled = false;  // false until the first poll finished
  std::optional<FailureReason> last_failure;
  std::string last_error;  // redacted
  RecordedSample sample;   // only when up
  double poll_duration_seconds = 0;
  std::optional<double> last_success_unix;
  std::array<uint64_t, kAllFailureReasons.size()> error_counts{};
  std::optional<AcceptProbeResult> accept_probe;  // the last poll's new-connection probe
  // pgconn_new_connections_total by {database, user, application}; capped, never shrinks.
  std::map<std::vector<std::string>, uint64_t> new_connections;
};

// Slots a provider setting keeps away from ordinary roles (see reserved_settings.h).
struct ProviderReserve {
  std::string setting;
  int64_t slots = 0;
};

// The arithmetic of the limit that really applies to ordinary roles.
struct Capacity {
  int64_t max_connections = 0;
  int64_t superuser_reserved = 0;
  std::optional<int64_t> reserved;                 // PG16+ reserved_connections
  int64_t usable = 0;                              // max minus every reserved slot
  int64_t client_connections = 0;                  // client backends, the exporter's own included
  int64_t available = 0;                           // usable minus client backends, floored at 0
  double utilization_ratio = 0;                    // client backends / usable
  std::vector<ProviderReserve> provider_reserved;  // already subtracted from usable
  int64_t ProviderReservedTotal() const {
    int64_t total = 0;
    for (const auto& reserve : provider_reserved) total += reserve.slots;
    return total;
  }
};

std::optional<Capacity> ComputeCapacity(const TargetSample& sample);

// States always exported (zero-filled), in PostgreSQL's spelling.
const std::vector<std::string>& KnownSessionStates();

// pgconn_connections rows after keeping `labels` and folding beyond `max_series`.
struct ConnectionSeries {
  std::vector<std::string> label_values;  // aligned with the kept label names
  int64_t sessions = 0;
};
std::vector<ConnectionSeries> FoldConnectionSeries(const std::vector<ActivityGroup>& groups,
                                                   const std::vector<std::string>& labels,
                                                   int max_series);

Families MapTarget(const TargetConfig& target, const TargetStatus& status);
TargetSummary SummarizeTarget(const TargetConfig& target, const TargetStatus& status);

inline constexpr const char* kClientBackend = "client backend";
inline constexpr const char* kOtherLabelValue = "__other__";

}  // namespace pgconn
