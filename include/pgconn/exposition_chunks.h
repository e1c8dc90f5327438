// A large fleet's exposition in chunks that a publish can reuse compressed. Parts rendered
// close together in time (one bucket) are written next to each other in every family, so the
// targets polled since the last publish touch a few chunks per family instead of all the text,
// and only those are compressed again (a publish of 1,000 targets deflated ~15 MiB each time).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "pgconn/gzip_member.h"
#include "pgconn/rendered_part.h"

namespace pgconn {

struct ChunkSource {
  std::shared_ptr<const RenderedPart> part;
  uint64_t bucket = 0;  // parts of one bucket share chunks
};

struct ExpositionChunk {
  // What the text is made of (a family's head, then parts): while those live, the same key
  // means the same text. Empty: never reused.
  std::vector<const void*> key;
  std::vector<std::string_view> pieces;
};

// Each family once, in the order the sources first have it: its header as a chunk of its own,
// then a chunk per bucket (ascending) with that family's samples from the bucket's parts, in
// source order. Valid exposition text, as StitchExposition's with the parts reordered by bucket.
std::vector<ExpositionChunk> ChunkExposition(const std::vector<ChunkSource>& sources);
// StitchExposition's text as one chunk (a small exposition compresses better in one stream).
ExpositionChunk WholeExposition(const std::vector<const RenderedPart*>& parts);
std::string JoinChunks(const std::vector<ExpositionChunk>& chunks);

// The compressed chunks of the last call, reused by the next one for chunks with the same key.
class GzipChunkCache {
 public:
  // `alive` must own every part (and through them every head) the chunks' keys point to: the
  // cache keeps them until the next call, so no later part can reuse a cached key's address.
  GzipHead Compress(const std::vector<ExpositionChunk>& chunks, int level,
                    std::vector<std::shared_ptr<const RenderedPart>> alive);
  size_t reused() const { return reused_; }  // by the last call
  size_t deflated() const { return deflated_; }

 private:
  using Key = std::vector<const void*>;
  std::map<Key, std::shared_ptr<const DeflatedChunk>> chunks_;
  std::vector<std::shared_ptr<const RenderedPart>> alive_;
  int level_ = 0;
  size_t reused_ = 0;
  size_t deflated_ = 0;
};

}  // namespace pgconn
