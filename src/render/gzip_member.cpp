#include "pgconn/gzip_member.h"

#include <zlib.h>

#include <limits>
#include <stdexcept>

namespace pgconn {
namespace {

constexpr int kGzipWindowBits = 15 + 16;  // zlib writes the gzip header (and, on finish, trailer)
constexpr int kRawWindowBits = -15;       // bare deflate blocks, no header: chunks of a member
constexpr int kMemLevel = 8;              // zlib's default
// A scrape's tail (the self-metrics, ~2 KiB) is bare deflate blocks continuing the member above.
// They need no history, so a 512-byte window and the smallest hash keep the per-scrape zlib
// state at a few KiB instead of ~270 KiB.
constexpr int kTailWindowBits = -9;
constexpr int kTailMemLevel = 1;
constexpr size_t kOutputStep = 64 * 1024;

void AppendLittleEndian32(std::string& out, uint64_t value) {
  for (int shift = 0; shift < 32; shift += 8) {
    out.push_back(static_cast<char>((value >> shift) & 0xffu));
  }
}

uint32_t Crc32(uint32_t crc, std::string_view data) {
  return static_cast<uint32_t>(
      crc32(crc, reinterpret_cast<const Bytef*>(data.data()), static_cast<uInt>(data.size())));
}

}  // namespace

// One zlib stream; deflateEnd on every path.
struct DeflateStream::Stream {
  z_stream z{};
  char scratch[kOutputStep];
  ~Stream() { deflateEnd(&z); }
};

DeflateStream::DeflateStream(int window_bits, int level, int mem_level)
    : stream_(std::make_unique<Stream>()) {
  if (deflateInit2(&stream_->z, level, Z_DEFLATED, window_bits, mem_level, Z_DEFAULT_STRATEGY) !=
      Z_OK) {
    stream_.reset();  // nothing to deflateEnd
    throw std::runtime_error("deflateInit2 failed");
  }
}

DeflateStream::~DeflateStream() = default;

void DeflateStream::Add(std::string_view data) {
  // zlib's avail_in is 32 bits: feed larger input in slices.
  constexpr size_t kSlice = std::numeric_limits<uInt>::max() / 2;
  while (data.size() > kSlice) {
    Run(data.substr(0, kSlice), Z_NO_FLUSH);
    data.remove_prefix(kSlice);
  }
  Run(data, Z_NO_FLUSH);
}

void DeflateStream::Reset() {
  if (deflateReset(&stream_->z) != Z_OK) throw std::runtime_error("deflateReset failed");
  out_.clear();
}

std::string DeflateStream::Finish(int flush) {
  Run({}, flush);
  out_.shrink_to_fit();  // the output grew in steps; keep only what it holds
  return std::move(out_);
}

void DeflateStream::Run(std::string_view data, int flush) {
  z_stream& z = stream_->z;
  // zlib's API is not const-correct; it never writes through next_in.
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  while (true) {
    z.next_out = reinterpret_cast<Bytef*>(stream_->scratch);
    z.avail_out = static_cast<uInt>(sizeof stream_->scratch);
    const int status = deflate(&z, flush);
    out_.append(stream_->scratch, sizeof stream_->scratch - z.avail_out);
    if (status == Z_STREAM_END) return;
    if (status != Z_OK && status != Z_BUF_ERROR) throw std::runtime_error("deflate failed");
    // Done when the input is used up and zlib left room (nothing more pending for this flush).
    if (z.avail_in == 0 && z.avail_out > 0 && flush != Z_FINISH) return;
  }
}

std::string GzipCompress(std::string_view text) {
  DeflateStream stream(kGzipWindowBits, Z_DEFAULT_COMPRESSION, kMemLevel);
  stream.Add(text);
  return stream.Finish(Z_FINISH);
}

ChunkDeflater::ChunkDeflater(int level) : stream_(kRawWindowBits, level, kMemLevel) {}

DeflatedChunk ChunkDeflater::Deflate(const std::vector<std::string_view>& pieces) {
  DeflatedChunk chunk;
  stream_.Reset();
  for (const auto piece : pieces) {
    stream_.Add(piece);
    chunk.crc = Crc32(chunk.crc, piece);
    chunk.size += piece.size();
  }
  chunk.bytes = stream_.Finish(Z_SYNC_FLUSH);
  return chunk;
}

GzipHead JoinGzipChunks(const std::vector<const DeflatedChunk*>& chunks) {
  // RFC 1952: deflate, no flags, no mtime, no extra flags, OS unix (what zlib writes).
  static constexpr char kHeader[] = {'\x1f', '\x8b', 8, 0, 0, 0, 0, 0, 0, 3};
  size_t bytes = sizeof kHeader;
  for (const auto* chunk : chunks) bytes += chunk->bytes.size();
  GzipHead head;
  head.bytes.reserve(bytes);
  head.bytes.append(kHeader, sizeof kHeader);
  for (const auto* chunk : chunks) {
    head.bytes.append(chunk->bytes);
    head.crc = static_cast<uint32_t>(
        crc32_combine(head.crc, chunk->crc, static_cast<z_off_t>(chunk->size)));
    head.size += chunk->size;
  }
  return head;
}

GzipHead StartGzip(std::string_view text, int level) {
  const DeflatedChunk chunk = ChunkDeflater(level).Deflate({text});
  return JoinGzipChunks({&chunk});
}

std::string FinishGzip(const GzipHead& head, std::string_view tail) {
  DeflateStream stream(kTailWindowBits, Z_DEFAULT_COMPRESSION, kTailMemLevel);
  stream.Add(tail);
  std::string out = stream.Finish(Z_FINISH);
  AppendLittleEndian32(out,
                       crc32_combine(head.crc, Crc32(0, tail), static_cast<z_off_t>(tail.size())));
  AppendLittleEndian32(out, head.size + tail.size());  // ISIZE: the length modulo 2^32
  return out;
}

}  // namespace pgconn
