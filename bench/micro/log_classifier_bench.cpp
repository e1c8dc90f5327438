// Lines per second the server log follower classifies (issue 14 target: >= 500,000 lines/s on
// one core, faster than PostgreSQL writes them). A realistic mix: mostly ordinary LOG lines,
// some refusals and authentication failures, in stderr, csvlog and jsonlog.
// Run: build/bench/pgconn_micro_bench --benchmark_filter="ClassifyLogLine|FollowAndClassify"
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "pgconn/log_classifier.h"
#include "pgconn/log_follower.h"

namespace {

std::vector<std::string> MixedLines() {
  const std::string prefix = "2026-11-30 22:00:00.123 UTC [4242] app@shop ";
  std::vector<std::string> lines;
  for (int i = 0; i < 1000; ++i) {
    switch (i % 10) {
      case 0:
        lines.push_back(prefix + "FATAL:  sorry, too many clients already");
        break;
      case 1:
        lines.push_back(prefix + "FATAL:  password authentication failed for user \"app\"");
        break;
      case 2:
        lines.push_back(
            "2026-11-30 22:00:00.123 UTC,\"app\",\"shop\",4242,\"10.1.2.3:51000\","
            "6568a0b0.1092,1,\"authentication\",2026-11-30 22:00:00 UTC,3/17,0,FATAL,53300,"
            "\"remaining connection slots are reserved for non-replication superuser "
            "connections\",,,,,,,,,\"\",\"client backend\",,0");
        break;
      case 3:
        lines.push_back(
            "{\"timestamp\":\"2026-11-30 22:00:00.123 UTC\",\"user\":\"app\",\"dbname\":"
            "\"shop\",\"pid\":4242,\"error_severity\":\"LOG\",\"message\":\"checkpoint "
            "starting: time\",\"backend_type\":\"checkpointer\"}");
        break;
      default:
        lines.push_back(prefix + "LOG:  duration: 0." + std::to_string(i) +
                        " ms  statement: SELECT * FROM orders WHERE id = $1");
    }
  }
  return lines;
}

void BM_ClassifyLogLine(benchmark::State& state) {
  const std::vector<std::string> lines = MixedLines();
  size_t bytes = 0;
  for (const auto& line : lines) bytes += line.size() + 1;
  int64_t events = 0;
  for (auto _ : state) {
    for (const auto& line : lines) {
      events += pgconn::ClassifyLogLine(line).kind != pgconn::LogEventKind::kNone;
    }
  }
  benchmark::DoNotOptimize(events);
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(lines.size()));
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(bytes));
  state.SetLabel("items/s = lines classified per second");
}
BENCHMARK(BM_ClassifyLogLine);

// The whole path: read(2) from a 200,000-line file, split into lines, classify each.
void BM_FollowAndClassify(benchmark::State& state) {
  char dir[] = "/tmp/pgconn_log_bench_XXXXXX";
  if (::mkdtemp(dir) == nullptr) {
    state.SkipWithError("mkdtemp failed");
    return;
  }
  const std::string data = std::string(dir) + "/data.log";
  const std::string followed = std::string(dir) + "/postgresql.log";
  const std::vector<std::string> mix = MixedLines();
  int64_t lines = 0, bytes = 0;
  {
    std::ofstream out(data, std::ios::binary);
    for (int copy = 0; copy < 200; ++copy) {
      for (const auto& line : mix) {
        out << line << '\n';
        ++lines;
        bytes += static_cast<int64_t>(line.size()) + 1;
      }
    }
  }
  int64_t events = 0;
  for (auto _ : state) {
    state.PauseTiming();
    std::remove(followed.c_str());
    pgconn::LogFollower follower(followed);  // missing now: read from the start once it appears
    if (::link(data.c_str(), followed.c_str()) != 0) {
      state.SkipWithError("link failed");
      break;
    }
    state.ResumeTiming();
    follower.Poll([&](std::string_view line) {
      events += pgconn::ClassifyLogLine(line).kind != pgconn::LogEventKind::kNone;
    });
  }
  benchmark::DoNotOptimize(events);
  std::remove(followed.c_str());
  std::remove(data.c_str());
  ::rmdir(dir);
  state.SetItemsProcessed(state.iterations() * lines);
  state.SetBytesProcessed(state.iterations() * bytes);
  state.SetLabel("items/s = lines read and classified per second");
}
BENCHMARK(BM_FollowAndClassify)->Unit(benchmark::kMillisecond);

}  // namespace
