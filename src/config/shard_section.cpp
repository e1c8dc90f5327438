// [exporter] shard = "i/n": which share of the targets this exporter polls.
#include <string>

#include "pgconn/shard.h"
#include "sections.h"

namespace pgconn::config {

void ReadExporterShardKey(TableReader& exporter, ExporterConfig& out) {
  const auto text = exporter.OptionalString("shard");
  if (!text) return;
  const auto shard = ParseShard(*text);
  if (!shard) {
    exporter.Fail("shard",
                  "invalid value \"" + *text +
                      "\" (expected \"INDEX/COUNT\" with 0 <= INDEX < COUNT, e.g. \"0/3\")");
  }
  out.shard = *shard;
}

}  // namespace pgconn::config
