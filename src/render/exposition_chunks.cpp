#include "pgconn/exposition_chunks.h"

#include <algorithm>
#include <numeric>
#include <unordered_map>
#include <utility>

namespace pgconn {
namespace {

struct BucketBody {
  uint64_t bucket;
  const RenderedPart* part;
  std::string_view samples;
};

struct FamilyBodies {
  const FamilyHead* head = nullptr;
  std::vector<BucketBody> bodies;
};

// Source indices by bucket, source order within one.
std::vector<size_t> ByBucket(const std::vector<ChunkSource>& sources) {
  std::vector<size_t> order(sources.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return sources[a].bucket < sources[b].bucket; });
  return order;
}

void AppendBucketChunks(const FamilyBodies& family, std::vector<ExpositionChunk>& chunks) {
  for (size_t i = 0; i < family.bodies.size();) {
    ExpositionChunk chunk;
    chunk.key.push_back(family.head);
    const uint64_t bucket = family.bodies[i].bucket;
    for (; i < family.bodies.size() && family.bodies[i].bucket == bucket; ++i) {
      chunk.key.push_back(family.bodies[i].part);
      chunk.pieces.push_back(family.bodies[i].samples);
    }
    chunks.push_back(std::move(chunk));
  }
}

}  // namespace

std::vector<ExpositionChunk> ChunkExposition(const std::vector<ChunkSource>& sources) {
  std::vector<std::string_view> names;  // first occurrence in source order
  std::unordered_map<std::string_view, FamilyBodies> families;
  for (const auto& source : sources) {
    for (const auto& family : source.part->families) {
      auto& entry = families[family.head->name];
      if (!entry.head) {
        entry.head = family.head.get();
        names.push_back(family.head->name);
      }
    }
  }
  for (const size_t index : ByBucket(sources)) {
    const auto& source = sources[index];
    for (const auto& family : source.part->families) {
      if (family.size == 0) continue;
      families[family.head->name].bodies.push_back(
          {source.bucket, source.part.get(), source.part->Samples(family)});
    }
  }
  std::vector<ExpositionChunk> chunks;
  for (const auto name : names) {
    const auto& family = families[name];
    chunks.push_back({{family.head}, {family.head->header}});
    AppendBucketChunks(family, chunks);
  }
  return chunks;
}

ExpositionChunk WholeExposition(const std::vector<const RenderedPart*>& parts) {
  ExpositionChunk chunk;
  VisitExposition(parts, [&chunk](std::string_view piece) { chunk.pieces.push_back(piece); });
  return chunk;
}

std::string JoinChunks(const std::vector<ExpositionChunk>& chunks) {
  size_t size = 0;
  for (const auto& chunk : chunks) {
    for (const auto piece : chunk.pieces) size += piece.size();
  }
  std::string text;
  text.reserve(size);
  for (const auto& chunk : chunks) {
    for (const auto piece : chunk.pieces) text.append(piece);
  }
  return text;
}

GzipHead GzipChunkCache::Compress(const std::vector<ExpositionChunk>& chunks, int level,
                                  std::vector<std::shared_ptr<const RenderedPart>> alive) {
  if (level != level_) chunks_.clear();  // the same key, deflated otherwise
  level_ = level;
  reused_ = deflated_ = 0;
  ChunkDeflater deflater(level);
  std::map<Key, std::shared_ptr<const DeflatedChunk>> kept;
  std::vector<std::shared_ptr<const DeflatedChunk>> ordered;
  ordered.reserve(chunks.size());
  for (const auto& chunk : chunks) {
    std::shared_ptr<const DeflatedChunk> deflated;
    if (const auto it = chunks_.find(chunk.key); it != chunks_.end() && !chunk.key.empty()) {
      deflated = it->second;
      ++reused_;
    } else {
      deflated = std::make_shared<const DeflatedChunk>(deflater.Deflate(chunk.pieces));
      ++deflated_;
    }
    if (!chunk.key.empty()) kept.emplace(chunk.key, deflated);
    ordered.push_back(std::move(deflated));
  }
  std::vector<const DeflatedChunk*> joined;
  joined.reserve(ordered.size());
  for (const auto& deflated : ordered) joined.push_back(deflated.get());
  GzipHead head = JoinGzipChunks(joined);
  chunks_ = std::move(kept);
  alive_ = std::move(alive);
  return head;
}

}  // namespace pgconn
