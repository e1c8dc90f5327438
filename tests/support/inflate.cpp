#include "support/inflate.h"

#include <zlib.h>

namespace pgconn::testing {

std::string InflateFirstMember(const std::string& compressed, size_t* left) {
  z_stream stream{};
  if (inflateInit2(&stream, 15 + 16) != Z_OK) return "inflateInit2 failed";
  std::string out;
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(compressed.data()));
  stream.avail_in = static_cast<uInt>(compressed.size());
  int status = Z_OK;
  char buffer[4096];
  while (status == Z_OK) {
    stream.next_out = reinterpret_cast<Bytef*>(buffer);
    stream.avail_out = sizeof buffer;
    status = inflate(&stream, Z_NO_FLUSH);
    out.append(buffer, sizeof buffer - stream.avail_out);
  }
  *left = stream.avail_in;
  inflateEnd(&stream);
  return status == Z_STREAM_END ? out : "inflate error " + std::to_string(status);
}

}  // namespace pgconn::testing
