#include "pgconn/exposition_chunks.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "pgconn/config.h"
#include "pgconn/render.h"
#include "pgconn/snapshot_assembler.h"
#include "support/gauge_family.h"
#include "support/inflate.h"

namespace pgconn {
namespace {

using testing::InflateFirstMember;
const auto Gauge = testing::TargetGauge;

// A target's part: pgconn_up and pgconn_max_connections carrying its label.
std::shared_ptr<const RenderedPart> TargetPart(const std::string& target, double value,
                                               FamilyHeads& heads) {
  return std::make_shared<const RenderedPart>(RenderFamilies(
      {Gauge("pgconn_up", target, 1), Gauge("pgconn_max_connections", target, value)}, &heads));
}

std::string Text(const GzipHead& head) {
  size_t left = 1;
  std::string text = InflateFirstMember(head.bytes + FinishGzip(head, ""), &left);
  EXPECT_EQ(left, 0u);
  return text;
}

TEST(ChunkExpositionTest, FamiliesOnceWithTheirSamplesByBucket) {
  FamilyHeads heads;
  const auto a = TargetPart("a", 100, heads);
  const auto b = TargetPart("b", 200, heads);
  const auto c = TargetPart("c", 300, heads);
  // c was stored in an earlier bucket than a and b: it comes first in every family.
  const auto chunks = ChunkExposition({{a, 7}, {b, 7}, {c, 6}});
  EXPECT_EQ(JoinChunks(chunks), StitchExposition({c.get(), a.get(), b.get()}));
  // Per family: its header, then one chunk per bucket.
  ASSERT_EQ(chunks.size(), 6u);
  EXPECT_EQ(chunks[0].pieces, std::vector<std::string_view>{a->families[0].head->header});
  EXPECT_EQ(chunks[1].key, (std::vector<const void*>{a->families[0].head.get(), c.get()}));
  EXPECT_EQ(chunks[2].key, (std::vector<const void*>{a->families[0].head.get(), a.get(), b.get()}));
  EXPECT_EQ(chunks[5].pieces, (std::vector<std::string_view>{a->Samples(a->families[1]),
                                                             b->Samples(b->families[1])}));
  // One bucket: the order StitchExposition gives.
  EXPECT_EQ(JoinChunks(ChunkExposition({{a, 1}, {b, 1}, {c, 1}})),
            RenderText(MergeFamilies(
                {{Gauge("pgconn_up", "a", 1), Gauge("pgconn_max_connections", "a", 100)},
                 {Gauge("pgconn_up", "b", 1), Gauge("pgconn_max_connections", "b", 200)},
                 {Gauge("pgconn_up", "c", 1), Gauge("pgconn_max_connections", "c", 300)}})));
  EXPECT_EQ(JoinChunks({WholeExposition({a.get(), b.get(), c.get()})}),
            StitchExposition({a.get(), b.get(), c.get()}));
}

TEST(GzipChunkCacheTest, OnlyChunksWithAChangedPartAreDeflatedAgain) {
  FamilyHeads heads;
  std::vector<ChunkSource> sources = {{TargetPart("a", 1, heads), 1},
                                      {TargetPart("b", 2, heads), 1},
                                      {TargetPart("c", 3, heads), 2}};
  auto parts = [&] {
    std::vector<std::shared_ptr<const RenderedPart>> all;
    for (const auto& source : sources) all.push_back(source.part);
    return all;
  };
  GzipChunkCache cache;
  auto chunks = ChunkExposition(sources);
  EXPECT_EQ(Text(cache.Compress(chunks, 1, parts())), JoinChunks(chunks));
  EXPECT_EQ(cache.deflated(), 6u);  // 2 headers, 2 families x 2 buckets
  EXPECT_EQ(cache.reused(), 0u);

  sources[2] = {TargetPart("c", 33, heads), 3};  // c polled again, in a later bucket
  chunks = ChunkExposition(sources);
  const std::string text = Text(cache.Compress(chunks, 1, parts()));
  EXPECT_EQ(text, JoinChunks(chunks));
  EXPECT_NE(text.find("pgconn_max_connections{target=\"c\"} 33"), std::string::npos);
  EXPECT_EQ(cache.deflated(), 2u);  // c's new chunk in each family
  EXPECT_EQ(cache.reused(), 4u);

  sources[0] = {TargetPart("a", 11, heads), 3};  // a leaves bucket 1: b's chunks change too
  chunks = ChunkExposition(sources);
  EXPECT_EQ(Text(cache.Compress(chunks, 1, parts())), JoinChunks(chunks));
  EXPECT_EQ(cache.deflated(), 4u);
  EXPECT_EQ(cache.reused(), 2u);

  EXPECT_EQ(Text(cache.Compress(chunks, 6, parts())), JoinChunks(chunks));
  EXPECT_EQ(cache.deflated(), 6u) << "another level deflates anew";

  const std::vector<ExpositionChunk> whole = {WholeExposition({sources[0].part.get()})};
  EXPECT_EQ(Text(cache.Compress(whole, 6, parts())), JoinChunks(whole));
  EXPECT_EQ(Text(cache.Compress(whole, 6, parts())), JoinChunks(whole));
  EXPECT_EQ(cache.deflated(), 1u) << "a chunk without a key is never reused";
}

// A fleet above the 1 MiB of text where the assembler switches to chunks: every publish's gzip
// still decodes to its text, with the targets polled since in it.
TEST(SnapshotAssemblerChunksTest, LargeFleetGzipFollowsEveryUpdate) {
  std::vector<TargetConfig> targets;
  for (int i = 0; i < 1500; ++i) {  // ~0.7 KiB each
    TargetConfig target;
    target.name = "t" + std::to_string(i);
    target.dsn = "host=127.0.0.1 dbname=postgres";
    targets.push_back(target);
  }
  SnapshotStore store;
  SnapshotAssembler assembler(targets, store, nullptr);
  assembler.HoldPublishing(true);
  TargetStatus status;
  status.up = true;
  status.polled = true;
  for (int round = 0; round < 3; ++round) {
    for (int i = round; i < 1500; i += 97) {
      status.last_success_unix = 1000.0 * round + i;
      assembler.Update(targets[i], status);
    }
    assembler.PublishNow();
    const auto snapshot = store.Current();
    ASSERT_GT(snapshot->text.Get().size(), size_t{1} << 20) << "below the chunked size";
    EXPECT_EQ(Text(snapshot->text_gzip), snapshot->text.Get());
    EXPECT_NE(snapshot->text.Get().find("pgconn_last_poll_success_timestamp_seconds{target=\"t" +
                                        std::to_string(round) + "\"} " +
                                        std::to_string(1000 * round + round)),
              std::string::npos);
  }
}

}  // namespace
}  // namespace pgconn
