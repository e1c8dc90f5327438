// Pure mapping from a /proc scan to metric families, and the scrape-error counts kept across
// scans. No I/O here.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "pgconn/process_scan.h"
#include "pgconn/render.h"

namespace pgconn {

// The `reason` label of pgconn_process_scrape_errors_total: "permission", "malformed", "error".
std::string_view ScrapeErrorReason(ReadStatus status);

// pgconn_process_scrape_errors_total: scans in which a group had a failed read, by reason.
class ScrapeErrorCounter {
 public:
  // The groups' counters start at 0 for every reason.
  explicit ScrapeErrorCounter(const std::vector<std::string>& groups);

  // Counts one scan: at most one per group and reason. Returns the problems not seen before
  // (per group and reason; per file for host-wide ones), which the caller logs once.
  std::vector<ScanProblem> Add(const std::vector<ScanProblem>& problems);

  // group -> reason -> count
  const std::map<std::string, std::map<std::string, uint64_t>>& counts() const { return counts_; }

 private:
  void ZeroFill(const std::string& group);

  std::map<std::string, std::map<std::string, uint64_t>> counts_;
  std::set<std::string> told_;
};

// PostgreSQL's MaxBackends: max_connections + autovacuum_max_workers + 1 (the launcher) +
// max_worker_processes + max_wal_senders, each of which may hold max_files_per_process fds.
// On 18: autovacuum_worker_slots + 2 (launcher and slot sync worker) replace the autovacuum
// part (checked with `postgres -C`: 18 refuses max_connections one above this limit).
int64_t PostgresBackendSlots(const ServerSettings& settings);

Families MapProcessScan(const ProcessScan& scan, const ScrapeErrorCounter& errors);

}  // namespace pgconn
