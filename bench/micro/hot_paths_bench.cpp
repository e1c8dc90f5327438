// Micro-benchmarks of the exporter's hot paths, on synthetic data shaped like a real poll:
//   - MapTarget: rows of pg_stat_activity (GROUP BY) -> metric families, per target
//   - MergeFamilies + RenderText: a snapshot of ~500 series -> text format 0.0.4
//   - GzipCompress: that text -> gzip (done once per publish, never per scrape)
//   - SnapshotAssembler::Update: everything one finished poll costs, for 1..200 targets
//   - SnapshotStore::Current: the whole per-scrape cost on our side (a shared_ptr copy)
// Run: build-bench/bench/pgconn_micro_bench  (bench/run.sh runs it and reports the numbers).
#include <benchmark/benchmark.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "pgconn/config.h"
#include "pgconn/gzip_member.h"
#include "pgconn/render.h"
#include "pgconn/sample.h"
#include "pgconn/self_process.h"
#include "pgconn/snapshot.h"
#include "pgconn/snapshot_assembler.h"
#include "pgconn/target_metrics.h"

namespace {

using pgconn::ActivityGroup;
using pgconn::Families;
using pgconn::TargetConfig;
using pgconn::TargetSample;
using pgconn::TargetStatus;

const char* const kStates[] = {"idle", "active", "idle in transaction"};

// `client_groups` distinct (database, user, application, state) rows of client backends,
// plus the usual background processes.
TargetSample MakeSample(int client_groups) {
  TargetSample sample;
  pgconn::ServerSettings settings;
  settings.server_version_num = 150010;
  settings.max_connections = 1000;
  settings.superuser_reserved_connections = 3;
  settings.max_worker_processes = 8;
  settings.autovacuum_max_workers = 3;
  settings.max_wal_senders = 10;
  settings.max_files_per_process = 1000;
  sample.settings = settings;
  std::vector<ActivityGroup> groups;
  for (int i = 0; i < client_groups; ++i) {
    ActivityGroup g;
    g.backend_type = pgconn::kClientBackend;
    g.database = "db" + std::to_string(i % 3);
    g.user = "role" + std::to_string(i % 4);
    g.application = "app-" + std::to_string(i / 3);
    g.client_addr = "10.0.0." + std::to_string(i % 250);
    g.state = kStates[i % 3];
    g.sessions = 1 + i % 17;
    g.others = g.sessions;
    g.lock_waiting = i % 11 == 0 ? 1 : 0;
    g.oldest_xact_seconds = 0.5 * i;
    g.oldest_state_change_seconds = 0.25 * i;
    g.longest_query_seconds = g.state == std::string("active") ? 0.1 * i : 0;
    groups.push_back(g);
  }
  for (const char* type : {"autovacuum launcher", "background writer", "checkpointer",
                           "logical replication launcher", "walwriter"}) {
    ActivityGroup g;
    g.backend_type = type;
    g.state = "unknown";
    g.sessions = 1;
    groups.push_back(g);
  }
  sample.activity = groups;
  sample.databases = std::vector<pgconn::DatabaseLimit>{{"db0", -1}, {"db1", 200}, {"db2", -1}};
  sample.roles = std::vector<pgconn::RoleLimit>{
      {"role0", -1}, {"role1", 50}, {"role2", -1}, {"role3", -1}, {"pgconn_exporter", 3}};
  for (const char* name : {"settings", "activity", "databases", "roles"}) {
    sample.collectors.push_back({name, true, 0.0012, ""});
  }
  return sample;
}

TargetStatus MakeStatus(int client_groups) {
  TargetStatus status;
  status.up = true;
  status.polled = true;
  status.sample = MakeSample(client_groups);
  status.poll_duration_seconds = 0.0051;
  status.last_success_unix = 1.7e9;
  return status;
}

TargetConfig MakeTarget(int index) {
  TargetConfig target;
  target.name = "target" + std::to_string(index);
  target.dsn = "host=127.0.0.1 port=5432 dbname=postgres user=pgconn_exporter";
  return target;
}

size_t CountSeries(const Families& families) {
  size_t n = 0;
  for (const auto& f : families) n += f.metric.size();
  return n;
}

// Five targets of 60 client groups each, plus build info: ~500 series.
constexpr int kSnapshotTargets = 5;
constexpr int kSnapshotGroups = 60;

std::vector<Families> SnapshotParts() {
  std::vector<Families> parts;
  parts.push_back(pgconn::MapBuildInfo("0.1.0", "bench"));
  for (int t = 0; t < kSnapshotTargets; ++t) {
    parts.push_back(pgconn::MapTarget(MakeTarget(t), MakeStatus(kSnapshotGroups)));
  }
  return parts;
}

void BM_MapTarget(benchmark::State& state) {
  const int groups = static_cast<int>(state.range(0));
  const TargetConfig target = MakeTarget(0);
  const TargetStatus status = MakeStatus(groups);
  size_t series = 0;
  for (auto _ : state) {
    Families families = pgconn::MapTarget(target, status);
    series = CountSeries(families);
    benchmark::DoNotOptimize(families);
  }
  state.SetItemsProcessed(state.iterations() * (groups + 5));  // activity rows mapped
  state.counters["series"] = static_cast<double>(series);
}
BENCHMARK(BM_MapTarget)->Arg(12)->Arg(60)->Arg(500)->Unit(benchmark::kMicrosecond);

void BM_MergeFamilies_500(benchmark::State& state) {
  const std::vector<Families> parts = SnapshotParts();
  size_t series = 0;
  for (auto _ : state) {
    std::vector<Families> copy = parts;  // MergeFamilies consumes its input, as in publish
    Families merged = pgconn::MergeFamilies(std::move(copy));
    series = CountSeries(merged);
    benchmark::DoNotOptimize(merged);
  }
  state.counters["series"] = static_cast<double>(series);
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(series));
}
BENCHMARK(BM_MergeFamilies_500)->Unit(benchmark::kMicrosecond);

void BM_RenderText_500(benchmark::State& state) {
  const Families merged = pgconn::MergeFamilies(SnapshotParts());
  size_t bytes = 0;
  for (auto _ : state) {
    std::string text = pgconn::RenderText(merged);
    bytes = text.size();
    benchmark::DoNotOptimize(text);
  }
  state.counters["series"] = static_cast<double>(CountSeries(merged));
  state.counters["text_bytes"] = static_cast<double>(bytes);
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(CountSeries(merged)));
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(bytes));
}
BENCHMARK(BM_RenderText_500)->Unit(benchmark::kMicrosecond);

void BM_GzipCompress_500(benchmark::State& state) {
  const std::string text = pgconn::RenderText(pgconn::MergeFamilies(SnapshotParts()));
  size_t out = 0;
  for (auto _ : state) {
    std::string gz = pgconn::GzipCompress(text);
    out = gz.size();
    benchmark::DoNotOptimize(gz);
  }
  state.counters["text_bytes"] = static_cast<double>(text.size());
  state.counters["gzip_bytes"] = static_cast<double>(out);
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(text.size()));
}
BENCHMARK(BM_GzipCompress_500)->Unit(benchmark::kMicrosecond);

// Everything one finished poll costs on our side once its rows are read: map the target,
// render its part, merge all targets, render and gzip the whole snapshot, publish. With
// one poller thread per target this runs once per target per interval.
void BM_PublishOnePoll(benchmark::State& state) {
  const int targets = static_cast<int>(state.range(0));
  std::vector<TargetConfig> configs;
  for (int t = 0; t < targets; ++t) configs.push_back(MakeTarget(t));
  pgconn::SnapshotStore store;
  pgconn::SnapshotAssembler assembler(configs, store,
                                      [] { return pgconn::MapBuildInfo("0.1.0", "bench"); });
  const TargetStatus status = MakeStatus(12);  // ~12 groups: the fleet run's 90 sessions
  for (const auto& c : configs) assembler.Update(c, status);
  size_t i = 0;
  for (auto _ : state) {
    assembler.Update(configs[i++ % configs.size()], status);
  }
  const auto snapshot = store.Current();
  state.counters["text_bytes"] = static_cast<double>(snapshot->text.Get().size());
  state.counters["gzip_bytes"] = static_cast<double>(snapshot->text_gzip.bytes.size());
  // CPU one full poll cycle costs: every target publishes once.
  // (1/targets x iterations / time) inverted = time per iteration x targets.
  state.counters["cycle_cpu_s"] = benchmark::Counter(
      1.0 / targets, benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
}
BENCHMARK(BM_PublishOnePoll)->Arg(1)->Arg(50)->Arg(200)->Unit(benchmark::kMillisecond);

// One publish of a large fleet between two others, as the publisher thread runs it: `targets`
// targets of 110 client groups each (~18 KiB of text per target, as in bench.py's fleet),
// `changed` of them re-polled since the last publish (1,000 targets at 15 s finish ~67 polls/s).
void BM_PublishFleet(benchmark::State& state) {
  const int targets = static_cast<int>(state.range(0));
  const int changed = static_cast<int>(state.range(1));
  std::vector<TargetConfig> configs;
  for (int t = 0; t < targets; ++t) configs.push_back(MakeTarget(t));
  pgconn::SnapshotStore store;
  pgconn::SnapshotAssembler assembler(configs, store,
                                      [] { return pgconn::MapBuildInfo("0.1.0", "bench"); });
  assembler.HoldPublishing(true);  // only the loop below publishes
  const TargetStatus status = MakeStatus(110);
  for (const auto& c : configs) assembler.Update(c, status);
  assembler.PublishNow();
  // Steady state first: one round of re-polls, `changed` per publish, spreads the parts over
  // buckets as in a running fleet. Right after start-up they all share one bucket, whose chunks
  // every publish deflates again; a run of ~25 iterations measured only that (30 vs 5.7 ms).
  size_t next = 0;
  while (next < configs.size()) {
    for (int i = 0; i < changed; ++i) assembler.Update(configs[next++ % configs.size()], status);
    assembler.PublishNow();
  }
  for (auto _ : state) {
    state.PauseTiming();
    for (int i = 0; i < changed; ++i) assembler.Update(configs[next++ % configs.size()], status);
    state.ResumeTiming();
    assembler.PublishNow();
  }
  const auto snapshot = store.Current();
  state.counters["text_bytes"] = static_cast<double>(snapshot->text.Get().size());
  state.counters["gzip_bytes"] = static_cast<double>(snapshot->text_gzip.bytes.size());
}
BENCHMARK(BM_PublishFleet)
    ->Args({1000, 20})
    ->Args({1000, 1000})
    ->Unit(benchmark::kMillisecond)
    ->MeasureProcessCPUTime();

// The scrape path on our side: take the current snapshot (mutex + shared_ptr copy).
void BM_ScrapeSnapshotCopy(benchmark::State& state) {
  static pgconn::SnapshotStore store;
  if (state.thread_index() == 0) {
    auto snapshot = std::make_shared<pgconn::Snapshot>();
    snapshot->text = pgconn::LazyText(pgconn::RenderText(pgconn::MergeFamilies(SnapshotParts())));
    snapshot->text_gzip = pgconn::StartGzip(snapshot->text.Get());
    store.Publish(snapshot);
  }
  for (auto _ : state) {
    auto current = store.Current();
    benchmark::DoNotOptimize(current->text_gzip.bytes.data());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ScrapeSnapshotCopy)->Threads(1)->Threads(4)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
