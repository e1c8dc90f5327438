#include "pgconn/gzip_member.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <random>
#include <string>

namespace pgconn {
namespace {

// What a single-member reader sees: zlib inflate with a gzip wrapper (checks CRC-32 and
// length), stopping at the end of the first member; reports bytes left after it.
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

std::string RandomBytes(size_t size, unsigned seed) {
  std::mt19937 random(seed);
  std::string bytes(size, '\0');
  for (char& c : bytes) c = static_cast<char>(random() & 0xff);
  return bytes;
}

void ExpectOneMember(const std::string& text, const std::string& tail) {
  const GzipHead head = StartGzip(text);
  size_t left = 1;
  EXPECT_EQ(InflateFirstMember(head.bytes + FinishGzip(head, tail), &left), text + tail);
  EXPECT_EQ(left, 0u) << "a second member or trailing bytes";
}

TEST(GzipMemberTest, TextAndTailDecodeAsOneMember) {
  ExpectOneMember("pgconn_up{target=\"main\"} 1\n", "pgconn_http_workers 8\n");
}

TEST(GzipMemberTest, EmptyPartsAndLargeIncompressibleText) {
  ExpectOneMember("", "pgconn_http_workers 8\n");
  ExpectOneMember("pgconn_up 1\n", "");
  ExpectOneMember("", "");
  ExpectOneMember(RandomBytes(1 << 20, 1), RandomBytes(70000, 2));
}

TEST(GzipMemberTest, OneHeadServesManyTails) {
  const std::string text(200000, 'x');
  const GzipHead head = StartGzip(text);
  for (const std::string tail : {"a", "bb\n", "pgconn_http_requests_total{code=\"200\"} 3\n"}) {
    size_t left = 1;
    EXPECT_EQ(InflateFirstMember(head.bytes + FinishGzip(head, tail), &left), text + tail);
    EXPECT_EQ(left, 0u);
  }
}

TEST(GzipMemberTest, HeadWrittenInPiecesDecodesAsTheJoinedText) {
  const std::string random = RandomBytes(300000, 3);  // compressed output spans several steps
  GzipHeadWriter writer(1);
  std::string joined;
  for (size_t at = 0; at < random.size(); at += 7919) {
    const std::string piece = random.substr(at, 7919) + "pgconn_up{target=\"t\"} 1\n";
    writer.Add(piece);
    writer.Add("");
    joined += piece;
  }
  const GzipHead head = writer.Finish();
  EXPECT_EQ(head.size, joined.size());
  EXPECT_EQ(head.crc, crc32(0, reinterpret_cast<const Bytef*>(joined.data()),
                            static_cast<uInt>(joined.size())));
  EXPECT_LT(head.bytes.capacity(), head.bytes.size() + 64 * 1024) << "output not trimmed";
  size_t left = 1;
  EXPECT_EQ(InflateFirstMember(head.bytes + FinishGzip(head, "tail\n"), &left), joined + "tail\n");
  EXPECT_EQ(left, 0u);
}

TEST(GzipMemberTest, CompressedTextKeepsNoRoomForTheUncompressedSize) {
  const std::string text(4 << 20, 'x');  // compresses ~1000x
  const GzipHead head = StartGzip(text);
  EXPECT_LT(head.bytes.capacity(), 64u * 1024)
      << "capacity of the bound kept: " << head.bytes.capacity();
  size_t left = 1;
  EXPECT_EQ(InflateFirstMember(head.bytes + FinishGzip(head, ""), &left), text);
}

}  // namespace
}  // namespace pgconn
