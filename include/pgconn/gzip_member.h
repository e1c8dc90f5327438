// One gzip member built in two parts: the snapshot's text once per publish (by the poller's
// publisher thread), the per-request self-metrics after it (by the HTTP worker). Readers that stop
// after the first member (curl --compressed, Python's zlib with windowBits 31) then see the whole
// /metrics body.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace pgconn {

struct GzipHead {
  std::string bytes;  // gzip header + the text's deflate blocks, sync-flushed, no final block
  uint32_t crc = 0;   // CRC-32 of the text
  uint64_t size = 0;  // the text's length
};

// `level` is zlib's: -1 its default, 1 fastest .. 9 smallest.
// A whole member at once (zlib's default level).
std::string GzipCompress(std::string_view text);

GzipHead StartGzip(std::string_view text, int level = -1);

// zlib deflate fed in pieces; the output grows in steps and is trimmed at the end.
class DeflateStream {
 public:
  DeflateStream(int window_bits, int level, int mem_level);
  ~DeflateStream();
  DeflateStream(const DeflateStream&) = delete;
  DeflateStream& operator=(const DeflateStream&) = delete;
  void Add(std::string_view data);
  std::string Finish(int flush);  // zlib's Z_SYNC_FLUSH or Z_FINISH; Reset before more input
  void Reset();                   // a new stream with the same settings, zlib's memory kept

 private:
  void Run(std::string_view data, int flush);
  struct Stream;
  std::unique_ptr<Stream> stream_;
  std::string out_;
};

// Raw deflate blocks of some text, ending byte-aligned and not final (a sync flush), so chunks
// deflated apart can follow each other in one stream: none refers back into another.
struct DeflatedChunk {
  std::string bytes;
  uint32_t crc = 0;   // CRC-32 of the chunk's text
  uint64_t size = 0;  // its length
};

// Deflates chunks one after another with one zlib state (~270 KiB, allocated once).
class ChunkDeflater {
 public:
  explicit ChunkDeflater(int level);
  DeflatedChunk Deflate(const std::vector<std::string_view>& pieces);

 private:
  DeflateStream stream_;
};

// A gzip header and the chunks after it: the head of a member whose text is the chunks' texts
// joined in this order.
GzipHead JoinGzipChunks(const std::vector<const DeflatedChunk*>& chunks);

// The rest of the member: `tail`'s deflate blocks ending with the final one, then the CRC-32
// and length of text + tail (RFC 1952 trailer).
std::string FinishGzip(const GzipHead& head, std::string_view tail);

}  // namespace pgconn
