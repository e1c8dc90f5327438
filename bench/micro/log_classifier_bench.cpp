// Lines per second the server log follower classifies (issue 14 target: >= 500,000 lines/s on
// one core, faster than PostgreSQL writes them). A realistic mix: mostly ordinary LOG lines,
// some refusals and authentication failures, in stderr, csvlog and jsonlog.
// Run: build/bench/pgconn_micro_bench --benchmark_filter=ClassifyLogLine
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "pgconn/log_classifier.h"

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

}  // namespace
