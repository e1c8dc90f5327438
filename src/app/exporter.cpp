#include "pgconn/exporter.h"

#include <spdlog/spdlog.h>

#include <thread>

#include "pgconn/self_process.h"
#include "pgconn/target_session.h"

namespace pgconn {

std::string VersionString() {
  return std::string("pgconn_exporter ") + PGCONN_VERSION + " (revision " + PGCONN_REVISION + ")";
}

Exporter::Exporter(Config config, std::shared_ptr<spdlog::logger> log)
    : config_(std::move(config)),
      log_(std::move(log)),
      assembler_(config_.targets, store_, [this] { return ExporterFamilies(); }) {
  for (const auto& target : config_.targets) {
    pollers_.push_back(std::make_unique<TargetPoller>(
        target, MakePostgresSession(target, watchdog_), config_.exporter.poll_interval,
        [this](const TargetConfig& polled, const TargetStatus& status) {
          assembler_.Update(polled, status);
        },
        log_));
  }
  assembler_.PublishNow();
}

Exporter::~Exporter() {
  http_.reset();
  pollers_.clear();
}

void Exporter::Start() {
  HttpOptions options;
  options.listen_address = config_.exporter.listen_address;
  options.telemetry_path = config_.exporter.telemetry_path;
  options.version = VersionString();
  http_ = std::make_unique<HttpServer>(options, store_, log_);
  log_->info("{} listening on {}:{}{}", VersionString(),
             options.listen_address.substr(0, options.listen_address.rfind(':')), http_->port(),
             options.telemetry_path);
  for (auto& poller : pollers_) poller->Start();
}

bool Exporter::PollAllOnce() {
  std::vector<std::thread> threads;
  std::vector<char> up(pollers_.size(), 0);
  for (size_t i = 0; i < pollers_.size(); ++i) {
    threads.emplace_back([this, &up, i] { up[i] = pollers_[i]->PollOnce().up ? 1 : 0; });
  }
  for (auto& thread : threads) thread.join();
  return std::all_of(up.begin(), up.end(), [](char value) { return value != 0; });
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
