#include "pgconn/churn_metrics.h"

#include <algorithm>
#include <limits>

namespace pgconn {
namespace {

using prometheus::MetricType;

Labels With(Labels labels, const std::string& name, const std::string& value) {
  labels.emplace_back(name, value);
  return labels;
}

void AddDatabaseSessions(Families& out, const Labels& base,
                         const std::vector<DatabaseSessions>& databases) {
  FamilyBuilder sessions("pgconn_database_sessions_total",
                         "Sessions established to the database (pg_stat_database.sessions, "
                         "PostgreSQL 14+); rate() is new connections per second, exact.",
                         MetricType::Counter);
  FamilyBuilder ended("pgconn_database_sessions_ended_total",
                      "Sessions that ended abnormally, by reason: abandoned (client vanished), "
                      "fatal (a FATAL error), killed (terminated by an operator); PostgreSQL 14+.",
                      MetricType::Counter);
  FamilyBuilder seconds("pgconn_database_session_seconds_total",
                        "Time sessions spent connected to the database (session_time), "
                        "PostgreSQL 14+.",
                        MetricType::Counter);
  for (const auto& db : databases) {
    const Labels labels = With(base, "database", db.database);
    sessions.Add(labels, static_cast<double>(db.sessions));
    ended.Add(With(labels, "reason", "abandoned"), static_cast<double>(db.abandoned));
    ended.Add(With(labels, "reason", "fatal"), static_cast<double>(db.fatal));
    ended.Add(With(labels, "reason", "killed"), static_cast<double>(db.killed));
    seconds.Add(labels, db.session_seconds);
  }
  if (sessions.empty()) return;
  out.push_back(std::move(sessions).Build());
  out.push_back(std::move(ended).Build());
  out.push_back(std::move(seconds).Build());
}

void AddNewConnections(Families& out, const Labels& base,
                       const std::map<std::vector<std::string>, uint64_t>& counters) {
  FamilyBuilder family("pgconn_new_connections_total",
                       "Client sessions first seen with a backend_start after the previous "
                       "poll. A lower bound: sessions that open and close between two polls are "
                       "missed (pgconn_database_sessions_total counts them).",
                       MetricType::Counter);
  for (const auto& [key, count] : counters) {
    family.Add(With(With(With(base, "database", key[0]), "user", key[1]), "application", key[2]),
               static_cast<double>(count));
  }
  if (!family.empty()) out.push_back(std::move(family).Build());
}

struct AgeHistogram {
  int64_t sessions = 0;
  std::array<int64_t, kConnectionAgeBuckets.size()> buckets{};
  double sum = 0;
  void Add(const AgeHistogram& other) {
    sessions += other.sessions;
    for (size_t i = 0; i < buckets.size(); ++i) buckets[i] += other.buckets[i];
    sum += other.sum;
  }
};

// Per application, the largest max_series kept and the rest folded into "__other__".
std::map<std::string, AgeHistogram> AgesByApplication(const std::vector<ChurnGroup>& groups,
                                                      int max_series) {
  std::map<std::string, AgeHistogram> by_app;
  for (const auto& group : groups) {
    by_app[group.application].Add({group.sessions, group.age_buckets, group.age_sum_seconds});
  }
  if (static_cast<int>(by_app.size()) <= max_series) return by_app;
  std::vector<std::pair<std::string, AgeHistogram>> ranked(by_app.begin(), by_app.end());
  std::stable_sort(ranked.begin(), ranked.end(), [](const auto& a, const auto& b) {
    return a.second.sessions > b.second.sessions;
  });
  std::map<std::string, AgeHistogram> kept;
  for (size_t i = 0; i < ranked.size(); ++i) {
    const bool keep = static_cast<int>(i) < max_series;
    kept[keep ? ranked[i].first : kOtherLabelValue].Add(ranked[i].second);
  }
  return kept;
}

void AddConnectionAges(Families& out, const Labels& base, const std::vector<ChurnGroup>& groups,
                       int max_series) {
  prometheus::MetricFamily family;
  family.name = "pgconn_connection_age_seconds";
  family.help =
      "Age of the client sessions connected now (since backend_start), per application, the "
      "exporter's own excluded. A snapshot each poll: read it without rate(). A pool shows old "
      "connections; an app that does not pool shows sessions of a few seconds.";
  family.type = MetricType::Histogram;
  for (const auto& [application, ages] : AgesByApplication(groups, max_series)) {
    prometheus::ClientMetric metric;
    for (const auto& [name, value] : With(base, "application", application)) {
      metric.label.push_back({name, value});
    }
    metric.histogram.sample_count = static_cast<uint64_t>(ages.sessions);
    metric.histogram.sample_sum = ages.sum;
    for (size_t i = 0; i < kConnectionAgeBuckets.size(); ++i) {
      metric.histogram.bucket.push_back(
          {static_cast<uint64_t>(ages.buckets[i]), kConnectionAgeBuckets[i]});
    }
    metric.histogram.bucket.push_back(
        {static_cast<uint64_t>(ages.sessions), std::numeric_limits<double>::infinity()});
    family.metric.push_back(std::move(metric));
  }
  if (!family.metric.empty()) out.push_back(std::move(family));
}

void AddByClientAddr(Families& out, const Labels& base, const std::vector<ActivityGroup>& groups,
                     int max_series) {
  std::map<std::string, int64_t> by_addr;
  for (const auto& group : groups) {
    if (group.backend_type != kClientBackend || group.others == 0) continue;
    by_addr[group.client_addr.empty() ? "local" : group.client_addr] += group.others;
  }
  if (static_cast<int>(by_addr.size()) > max_series) {
    std::vector<std::pair<std::string, int64_t>> ranked(by_addr.begin(), by_addr.end());
    std::stable_sort(ranked.begin(), ranked.end(),
                     [](const auto& a, const auto& b) { return a.second > b.second; });
    by_addr.clear();
    for (size_t i = 0; i < ranked.size(); ++i) {
      by_addr[static_cast<int>(i) < max_series ? ranked[i].first : kOtherLabelValue] +=
          ranked[i].second;
    }
  }
  FamilyBuilder family("pgconn_client_connections_by_addr",
                       "Client backend sessions by client address (\"local\" for Unix sockets), "
                       "the exporter's own excluded; beyond max_connection_series folded into "
                       "\"__other__\". Opt-in: by_client_addr.");
  for (const auto& [addr, sessions] : by_addr) {
    family.Add(With(base, "client_addr", addr), static_cast<double>(sessions));
  }
  if (!family.empty()) out.push_back(std::move(family).Build());
}

}  // namespace

void AccumulateNewConnections(const TargetSample& sample, int max_series,
                              std::map<std::vector<std::string>, uint64_t>& counters) {
  if (!sample.churn) return;
  for (const auto& group : *sample.churn) {
    std::vector<std::string> key = {group.database, group.user, group.application};
    auto it = counters.find(key);
    if (it == counters.end()) {
      if (static_cast<int>(counters.size()) >= max_series) {
        key = {kOtherLabelValue, kOtherLabelValue, kOtherLabelValue};
      }
      it = counters.emplace(std::move(key), 0).first;
    }
    it->second += static_cast<uint64_t>(std::max<int64_t>(0, group.new_sessions));
  }
}

void AddChurnFamilies(Families& out, const Labels& base, const TargetConfig& target,
                      const TargetStatus& status) {
  AddNewConnections(out, base, status.new_connections);
  if (!status.up || !status.sample) return;
  const TargetSample& sample = *status.sample;
  if (sample.database_sessions) AddDatabaseSessions(out, base, *sample.database_sessions);
  if (sample.churn) AddConnectionAges(out, base, *sample.churn, target.max_connection_series);
  if (target.by_client_addr && sample.activity) {
    AddByClientAddr(out, base, *sample.activity, target.max_connection_series);
  }
}

}  // namespace pgconn
