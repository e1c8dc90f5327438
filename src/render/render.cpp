#include "pgconn/render.h"

#include <prometheus/text_serializer.h>
#include <zlib.h>

#include <limits>
#include <locale>
#include <sstream>
#include <stdexcept>
#include <unordered_map>
#include <utility>

namespace pgconn {

Families MergeFamilies(std::vector<Families> parts) {
  Families merged;
  std::unordered_map<std::string, size_t> index_by_name;
  for (auto& part : parts) {
    for (auto& family : part) {
      auto [it, inserted] = index_by_name.emplace(family.name, merged.size());
      if (inserted) {
        merged.push_back(std::move(family));
        continue;
      }
      auto& metrics = merged[it->second].metric;
      metrics.insert(metrics.end(), std::make_move_iterator(family.metric.begin()),
                     std::make_move_iterator(family.metric.end()));
    }
  }
  return merged;
}

std::string RenderText(const Families& families) {
  std::ostringstream out;
  // Sample values must not pick up a global locale's decimal separator.
  out.imbue(std::locale::classic());
  prometheus::TextSerializer().Serialize(out, families);
  return out.str();
}

namespace {

constexpr int kGzipWindowBits = 15 + 16;  // +16 asks zlib for a gzip header and trailer
constexpr int kMemLevel = 8;              // zlib's default

// Owns a deflate stream so every exit path calls deflateEnd.
class Deflater {
 public:
  explicit Deflater(int level = Z_DEFAULT_COMPRESSION) {
    if (deflateInit2(&stream_, level, Z_DEFLATED, kGzipWindowBits, kMemLevel, Z_DEFAULT_STRATEGY) !=
        Z_OK) {
      throw std::runtime_error("deflateInit2 failed");
    }
  }
  ~Deflater() { deflateEnd(&stream_); }
  Deflater(const Deflater&) = delete;
  Deflater& operator=(const Deflater&) = delete;

  std::string Compress(std::string_view data) {
    if (data.size() > std::numeric_limits<uInt>::max()) {
      throw std::length_error("GzipCompress: input larger than zlib's single-call limit");
    }
    std::string out(deflateBound(&stream_, static_cast<uLong>(data.size())), '\0');
    // zlib's API is not const-correct; it never writes through next_in.
    stream_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
    stream_.avail_in = static_cast<uInt>(data.size());
    stream_.next_out = reinterpret_cast<Bytef*>(out.data());
    stream_.avail_out = static_cast<uInt>(out.size());
    if (deflate(&stream_, Z_FINISH) != Z_STREAM_END) {
      throw std::runtime_error("deflate did not finish");
    }
    out.resize(stream_.total_out);
    return out;
  }

 private:
  z_stream stream_{};
};

}  // namespace

std::string GzipCompress(std::string_view data) { return Deflater().Compress(data); }

}  // namespace pgconn
