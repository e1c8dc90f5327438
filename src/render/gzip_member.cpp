#include "pgconn/gzip_member.h"

#include <zlib.h>

#include <limits>
#include <stdexcept>

namespace pgconn {
namespace {

constexpr int kGzipWindowBits = 15 + 16;  // zlib writes the gzip header (and, on finish, trailer)
constexpr int kRawWindowBits = -15;       // bare deflate blocks: they continue the member above
constexpr int kMemLevel = 8;              // zlib's default

// deflate `data` at `level` with `flush` through a stream made with `window_bits`; deflateEnd on
// every path.
std::string Deflate(std::string_view data, int window_bits, int flush, int level) {
  if (data.size() > std::numeric_limits<uInt>::max()) {
    throw std::length_error("gzip: input larger than zlib's single-call limit");
  }
  z_stream stream{};
  if (deflateInit2(&stream, level, Z_DEFLATED, window_bits, kMemLevel, Z_DEFAULT_STRATEGY) !=
      Z_OK) {
    throw std::runtime_error("deflateInit2 failed");
  }
  // deflateBound covers Z_FINISH; a sync flush adds an empty stored block (5 bytes) at most.
  std::string out(deflateBound(&stream, static_cast<uLong>(data.size())) + 16, '\0');
  // zlib's API is not const-correct; it never writes through next_in.
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  stream.avail_in = static_cast<uInt>(data.size());
  stream.next_out = reinterpret_cast<Bytef*>(out.data());
  stream.avail_out = static_cast<uInt>(out.size());
  const int status = deflate(&stream, flush);
  const bool done = flush == Z_FINISH
                        ? status == Z_STREAM_END
                        : status == Z_OK && stream.avail_in == 0 && stream.avail_out > 0;
  out.resize(stream.total_out);
  deflateEnd(&stream);
  if (!done) throw std::runtime_error("deflate did not complete");
  return out;
}

void AppendLittleEndian32(std::string& out, uint64_t value) {
  for (int shift = 0; shift < 32; shift += 8) {
    out.push_back(static_cast<char>((value >> shift) & 0xffu));
  }
}

uint32_t Crc32(std::string_view data) {
  return static_cast<uint32_t>(
      crc32(0, reinterpret_cast<const Bytef*>(data.data()), static_cast<uInt>(data.size())));
}

}  // namespace

std::string GzipCompress(std::string_view text) {
  return Deflate(text, kGzipWindowBits, Z_FINISH, Z_DEFAULT_COMPRESSION);
}

GzipHead StartGzip(std::string_view text, int level) {
  GzipHead head;
  head.bytes = Deflate(text, kGzipWindowBits, Z_SYNC_FLUSH, level);
  head.crc = Crc32(text);
  head.size = text.size();
  return head;
}

std::string FinishGzip(const GzipHead& head, std::string_view tail) {
  std::string out = Deflate(tail, kRawWindowBits, Z_FINISH, Z_DEFAULT_COMPRESSION);
  AppendLittleEndian32(out,
                       crc32_combine(head.crc, Crc32(tail), static_cast<z_off_t>(tail.size())));
  AppendLittleEndian32(out, head.size + tail.size());  // ISIZE: the length modulo 2^32
  return out;
}

}  // namespace pgconn
