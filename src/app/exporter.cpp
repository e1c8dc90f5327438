#include "pgconn/exporter.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <thread>

#include "pgconn/self_process.h"
#include "pgconn/shard.h"
#include "pgconn/target_session.h"

namespace pgconn {

std::string VersionString() {
  return std::string("pgconn_exporter ") + PGCONN_VERSION + " (revision " + PGCONN_REVISION + ")";
}

namespace {

// [exporter] shard: keeps only this exporter's share of the targets, and says which.
Config KeepShardTargets(Config config, spdlog::logger* log) {
  if (!config.exporter.shard) return config;
  const ShardConfig& shard = *config.exporter.shard;
  const size_t configured = config.targets.size();
  config.targets = TargetsInShard(config.targets, shard);
  // A PgBouncer console too belongs to one shard, so a fleet holds one session to it.
  auto& bouncers = config.pgbouncers;
  bouncers.erase(std::remove_if(bouncers.begin(), bouncers.end(),
                                [&](const PgbouncerConfig& pgbouncer) {
                                  return ShardOf(pgbouncer.name(), shard.count) != shard.index;
                                }),
                 bouncers.end());
  std::string names;
  for (const auto& target : config.targets) names += (names.empty() ? "" : ", ") + target.name;
  if (log != nullptr) {
    log->info("shard {} polls {} of {} targets: {}", FormatShard(shard), config.targets.size(),
              configured, names.empty() ? "none" : names);
  }
  return config;
}

}  // namespace

Exporter::Exporter(Config config, std::shared_ptr<spdlog::logger> log)
    : config_(KeepShardTargets(std::move(config), log.get())),
      log_(std::move(log)),
      assembler_(config_.targets, store_, [this] { return ExporterFamilies(); }) {
  for (const auto& target : config_.targets) {
    pollers_.push_back(std::make_unique<TargetPoller>(
        target, MakePostgresSession(target, watchdog_), config_.exporter.poll_interval,
        [this](const TargetConfig& polled, const TargetStatus& status) {
          facts_.Record(polled.name, status);
          assembler_.Update(polled, status);
        },
        log_));
  }
  process_watcher_ = std::make_unique<ProcessWatcher>(
      std::make_unique<ProcessScanner>(config_.exporter.procfs, config_.processes, config_.targets),
      facts_, config_.exporter.poll_interval,
      [this](Families families) { assembler_.UpdateExtra("process", std::move(families)); }, log_);
  for (const auto& pgbouncer : config_.pgbouncers) {
    pgbouncer_pollers_.push_back(MakePgbouncerPoller(pgbouncer));
  }
  assembler_.PublishNow();
}

Exporter::~Exporter() {
  http_.reset();
  for (auto& poller : pollers_) poller->RequestStop();
  for (auto& poller : pgbouncer_pollers_) poller->RequestStop();
  pgbouncer_pollers_.clear();
  process_watcher_.reset();
  pollers_.clear();
}

void Exporter::Start() {
  HttpOptions options;
  options.listen_address = config_.exporter.listen_address;
  options.telemetry_path = config_.exporter.telemetry_path;
  options.version = VersionString();
  options.basic_auth_users = config_.web.basic_auth_users;
  if (!config_.web.source_path.empty()) {
    log_->info("web config {}: basic auth {} ({} users)", config_.web.source_path,
               config_.web.auth_enabled() ? "required except on /healthz" : "off",
               config_.web.basic_auth_users.size());
  }
  http_ = std::make_unique<HttpServer>(options, store_, log_);
  log_->info("{} serving {} on port {}", VersionString(), options.telemetry_path, http_->port());
  // Spread first connects (25 ms apart, within one interval) so a fleet does not log in
  // all at once.
  const auto targets = static_cast<int64_t>(std::max<size_t>(1, pollers_.size()));
  const Millis step = std::min(Millis(25), config_.exporter.poll_interval / targets);
  for (size_t i = 0; i < pollers_.size(); ++i) pollers_[i]->Start(step * static_cast<int>(i));
  process_watcher_->Start();
  for (size_t i = 0; i < pgbouncer_pollers_.size(); ++i) {
    pgbouncer_pollers_[i]->Start(step * static_cast<int>(pollers_.size() + i));
  }
}

bool Exporter::PollAllOnce() {
  std::vector<std::thread> threads;
  std::vector<char> up(pollers_.size(), 0);
  last_statuses_.assign(pollers_.size(), TargetStatus{});
  for (size_t i = 0; i < pollers_.size(); ++i) {
    threads.emplace_back([this, &up, i] {
      last_statuses_[i] = pollers_[i]->PollOnce();
      up[i] = last_statuses_[i].up ? 1 : 0;
    });
  }
  PollPgbouncersOnce();
  for (auto& thread : threads) thread.join();
  process_watcher_->ScanOnce();  // after the polls, so it knows their data_directory
  assembler_.PublishNow();
  return std::all_of(up.begin(), up.end(), [](char value) { return value != 0; });
}

std::vector<std::pair<TargetConfig, TargetStatus>> Exporter::LastPolled() const {
  std::vector<std::pair<TargetConfig, TargetStatus>> polled;
  for (size_t i = 0; i < pollers_.size() && i < last_statuses_.size(); ++i) {
    polled.emplace_back(pollers_[i]->target(), last_statuses_[i]);
  }
  return polled;
}

std::unique_ptr<PgbouncerPoller> Exporter::MakePgbouncerPoller(const PgbouncerConfig& pgbouncer) {
  // Published as an extra part of its own, so its families follow the targets'.
  return std::make_unique<PgbouncerPoller>(
      pgbouncer, MakePgbouncerSession(pgbouncer, watchdog_), config_.exporter.poll_interval,
      [this](const PgbouncerConfig& polled, const PgbouncerStatus& status) {
        assembler_.UpdateExtra("pgbouncer " + polled.name(), MapPgbouncer(polled, status));
      },
      log_);
}

// Sequential: a console answers in milliseconds; a dead one costs its connect_timeout.
void Exporter::PollPgbouncersOnce() {
  last_pgbouncer_statuses_.clear();
  for (auto& poller : pgbouncer_pollers_) last_pgbouncer_statuses_.push_back(poller->PollOnce());
}

std::vector<std::pair<PgbouncerConfig, PgbouncerStatus>> Exporter::LastPolledPgbouncers() const {
  std::vector<std::pair<PgbouncerConfig, PgbouncerStatus>> polled;
  for (size_t i = 0; i < pgbouncer_pollers_.size() && i < last_pgbouncer_statuses_.size(); ++i) {
    polled.emplace_back(pgbouncer_pollers_[i]->config(), last_pgbouncer_statuses_[i]);
  }
  return polled;
}

Families Exporter::ExporterFamilies() const {
  Families out = MapBuildInfo(PGCONN_VERSION, PGCONN_REVISION);
  if (auto self = ReadSelfProcess("/proc")) {
    Families process = MapSelfProcess(*self);
    out.insert(out.end(), process.begin(), process.end());
  }
  return out;
}

}  // namespace pgconn
