#include "pgconn/exporter.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <thread>

#include "pgconn/logging.h"
#include "pgconn/reload_metrics.h"
#include "pgconn/self_process.h"
#include "pgconn/shard.h"
#include "pgconn/target_session.h"
#include "pgconn/thread_name.h"
#include "pgconn_version.h"

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

double UnixNow() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

PollScheduler::Options PollSchedulerOptions(const ExporterConfig& exporter) {
  PollScheduler::Options options;
  options.max_workers = static_cast<size_t>(std::max(1, exporter.poller_threads));
  return options;
}

}  // namespace

Exporter::Exporter(Config config, std::shared_ptr<spdlog::logger> log)
    : config_(KeepShardTargets(std::move(config), log.get())),
      log_(std::move(log)),
      assembler_(config_.targets, store_, [this] { return ExporterFamilies(); }),
      scheduler_(PollSchedulerOptions(config_.exporter)) {
  last_reload_success_unix_ = UnixNow();
  for (const auto& target : config_.targets) pollers_.push_back(MakePoller(target));
  process_watcher_ = MakeProcessWatcher();
  for (const auto& target : config_.targets) AddLogWatcher(target, false);
  for (const auto& pgbouncer : config_.pgbouncers) {
    pgbouncer_pollers_.push_back(MakePgbouncerPoller(pgbouncer));
    AddPgbouncerLogWatcher(pgbouncer, false);
  }
  assembler_.PublishNow();
}

std::unique_ptr<TargetPoller> Exporter::MakePoller(const TargetConfig& target) {
  return std::make_unique<TargetPoller>(
      target,
      MakePostgresSession(target, watchdog_, accept_probes_, config_.exporter.poll_interval / 2),
      config_.exporter.poll_interval,
      [this](const TargetConfig& polled, const TargetStatus& status) {
        facts_.Record(polled.name, status);
        assembler_.Update(polled, status);
      },
      log_, &scheduler_);
}

std::unique_ptr<ProcessWatcher> Exporter::MakeProcessWatcher() {
  return std::make_unique<ProcessWatcher>(
      std::make_unique<ProcessScanner>(config_.exporter.procfs, config_.processes, config_.targets),
      facts_, config_.exporter.poll_interval,
      [this](Families families) { assembler_.UpdateExtra("process", std::move(families)); }, log_);
}

// server_log: each followed log's counters are an extra part of the snapshot.
void Exporter::AddLogWatcher(const TargetConfig& target, bool start) {
  if (target.server_log.empty()) return;
  auto publish = [this](const std::string& name, const ServerLogStatus& status) {
    assembler_.UpdateExtra("server_log/" + name, MapServerLog(name, status));
  };
  log_watchers_.push_back(std::make_unique<LogWatcher>(
      target.name, target.server_log, config_.exporter.poll_interval, publish, log_));
  publish(target.name, log_watchers_.back()->status());
  if (start) log_watchers_.back()->Start();
}

// The extra is keyed "pgbouncer_log/NAME", apart from the target's "server_log/NAME".
void Exporter::AddPgbouncerLogWatcher(const PgbouncerConfig& pgbouncer, bool start) {
  if (pgbouncer.log.empty()) return;
  auto publish = [this](const std::string& name, const ServerLogStatus& status) {
    assembler_.UpdateExtra("pgbouncer_log/" + name, MapPgbouncerLog(name, status));
  };
  pgbouncer_log_watchers_.push_back(std::make_unique<LogWatcher>(
      pgbouncer.name(), pgbouncer.log, config_.exporter.poll_interval, publish, log_));
  publish(pgbouncer.name(), pgbouncer_log_watchers_.back()->status());
  if (start) pgbouncer_log_watchers_.back()->Start();
}

void Exporter::StopPgbouncerLogWatchers() {
  for (auto& watcher : pgbouncer_log_watchers_) {
    const std::string name = watcher->target();
    watcher.reset();  // joins: nothing publishes for it afterwards
    assembler_.RemoveExtra("pgbouncer_log/" + name);
  }
  pgbouncer_log_watchers_.clear();
}

Exporter::~Exporter() {
  http_.reset();
  pgbouncer_log_watchers_.clear();
  log_watchers_.clear();
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
  options.enable_lifecycle = http_lifecycle_;
  if (loader_) {
    options.reload = [this]() -> std::optional<std::string> {
      ReloadResult result = Reload();
      if (result.ok) return std::nullopt;
      return result.error;
    };
  }
  if (!config_.web.source_path.empty()) {
    log_->info("web config {}: basic auth {} ({} users)", config_.web.source_path,
               config_.web.auth_enabled() ? "required except on /healthz" : "off",
               config_.web.basic_auth_users.size());
  }
  http_ = std::make_unique<HttpServer>(options, store_, log_);
  log_->info("{} serving {} on port {}", VersionString(), options.telemetry_path, http_->port());
  // Spread first connects (25 ms apart, within half an interval) so a fleet does not log in
  // all at once, yet every target is polled within its first interval.
  const auto targets = static_cast<int64_t>(std::max<size_t>(1, pollers_.size()));
  const Millis step = std::min(Millis(25), config_.exporter.poll_interval / (2 * targets));
  for (size_t i = 0; i < pollers_.size(); ++i) pollers_[i]->Start(step * static_cast<int>(i));
  process_watcher_->Start();
  for (auto& watcher : log_watchers_) watcher->Start();
  for (auto& watcher : pgbouncer_log_watchers_) watcher->Start();
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
      NameThisThread("pgconn-once");
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
        assembler_.UpdatePgbouncerSummary(SummarizePgbouncer(polled, status));
      },
      log_, &scheduler_);
}

void Exporter::RestartPgbouncerPollers() {
  for (auto& poller : pgbouncer_pollers_) poller->RequestStop();
  for (auto& poller : pgbouncer_pollers_) {
    const std::string name = poller->config().name();
    poller.reset();  // joins: nothing publishes for it afterwards
    assembler_.RemoveExtra("pgbouncer " + name);
    assembler_.RemovePgbouncerSummary(name);
  }
  pgbouncer_pollers_.clear();
  StopPgbouncerLogWatchers();
  for (const auto& pgbouncer : config_.pgbouncers) {
    pgbouncer_pollers_.push_back(MakePgbouncerPoller(pgbouncer));
    pgbouncer_pollers_.back()->Start(Millis(0));
    AddPgbouncerLogWatcher(pgbouncer, true);
  }
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
  Families reload = MapReloadStatus({last_reload_ok_.load(), last_reload_success_unix_.load()});
  out.insert(out.end(), reload.begin(), reload.end());
  if (auto self = ReadSelfProcess("/proc")) {
    Families process = MapSelfProcess(*self);
    out.insert(out.end(), process.begin(), process.end());
  }
  return out;
}

void Exporter::EnableReload(ConfigLoader loader, bool http_lifecycle) {
  loader_ = std::move(loader);
  http_lifecycle_ = http_lifecycle;
}

Exporter::ReloadResult Exporter::Reload() {
  const std::lock_guard<std::mutex> lock(reload_mutex_);
  ReloadResult result;
  try {
    if (!loader_) throw std::runtime_error("reloading is not enabled in this mode");
    Config next = KeepShardTargets(loader_(), log_.get());
    assembler_.HoldPublishing(true);  // scrapes see the old config or the new, never half
    ApplyConfig(std::move(next));
    last_reload_ok_ = true;
    last_reload_success_unix_ = UnixNow();
    result.ok = true;
  } catch (const std::exception& error) {
    result.error = error.what();
  } catch (...) {
    result.error = "unknown error";
  }
  try {
    assembler_.HoldPublishing(false);
    if (!result.ok) {
      last_reload_ok_ = false;
      log_->error("reload failed, the previous configuration keeps running: {}", result.error);
    }
    assembler_.PublishNow();  // the reload metrics and removed targets show at once
  } catch (...) {
    // Logging or publishing failed; the publisher thread retries on the next poll.
  }
  return result;
}

void Exporter::StopLogWatcher(const std::string& name) {
  auto it = std::find_if(log_watchers_.begin(), log_watchers_.end(),
                         [&](const auto& watcher) { return watcher->target() == name; });
  if (it == log_watchers_.end()) return;
  log_watchers_.erase(it);  // joins its thread: nothing publishes for it afterwards
  assembler_.RemoveExtra("server_log/" + name);
}

void Exporter::StopPoller(const std::string& name) {
  for (auto it = pollers_.begin(); it != pollers_.end(); ++it) {
    if ((*it)->target().name == name) {
      pollers_.erase(it);  // joins the thread and closes the session
      return;
    }
  }
}

ChangeHandlers<TargetConfig> Exporter::TargetChangeHandlers() {
  ChangeHandlers<TargetConfig> handlers;
  handlers.remove = [this](const TargetConfig& before) {
    StopPoller(before.name);
    StopLogWatcher(before.name);
    facts_.Forget(before.name);
    assembler_.RemoveTarget(before.name);
  };
  handlers.restart = [this](const TargetConfig& before, const TargetConfig& after) {
    StopPoller(before.name);
    StopLogWatcher(before.name);
    facts_.Forget(before.name);
    assembler_.ReconfigureTarget(after, false);
    pollers_.push_back(MakePoller(after));
    pollers_.back()->Start();
    AddLogWatcher(after, true);
  };
  handlers.update = [this](const TargetConfig&, const TargetConfig& after) {
    assembler_.ReconfigureTarget(after, true);  // same session; pools, labels, reserve
  };
  handlers.add = [this](const TargetConfig& after) {
    assembler_.AddTarget(after);
    pollers_.push_back(MakePoller(after));
    pollers_.back()->Start();
    AddLogWatcher(after, true);
  };
  return handlers;
}

void Exporter::ApplyConfig(Config next) {
  for (const auto& warning : next.warnings) log_->warn("{}", warning);
  ConfigDiff diff = DiffConfigs(config_, next);
  for (const auto& key : diff.need_restart) {
    log_->warn("reload: [exporter] {} changed; it takes effect on restart", key);
  }
  next.exporter.listen_address = config_.exporter.listen_address;  // the listener stays bound
  next.exporter.telemetry_path = config_.exporter.telemetry_path;
  const Config previous = std::exchange(config_, std::move(next));  // MakePoller reads config_
  try {
    ApplyChanges(diff.targets, TargetChangeHandlers());
  } catch (...) {
    config_ = previous;  // what is left running was built from both; the next reload sorts it out
    throw;
  }
  std::vector<std::string> order;
  for (const auto& target : config_.targets) order.push_back(target.name);
  assembler_.SetOrder(order);
  if (diff.processes_changed) {
    process_watcher_.reset();
    process_watcher_ = MakeProcessWatcher();
    process_watcher_->ScanOnce();  // replaces the old scan's series before the next publish
    process_watcher_->Start();
  }
  if (diff.pgbouncers_changed) RestartPgbouncerPollers();
  if (diff.logging_changed) {
    ConfigureLogger(*log_, config_.exporter.log_level, config_.exporter.log_format);
  }
  if (diff.web_changed && http_) http_->SetBasicAuthUsers(config_.web.basic_auth_users);
  for (const auto& change : diff.targets) {
    if (change.kind != ChangeKind::kUnchanged) {
      log_->info("reload: target {} {}", change.name, ChangeKindName(change.kind));
    }
  }
  log_->info("reloaded {}: targets {}", config_.source_path, SummarizeChanges(diff.targets));
}

}  // namespace pgconn
