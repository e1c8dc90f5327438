#include "pgconn/gzip_member.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <random>
#include <string>
#include <vector>

#include "support/inflate.h"

namespace pgconn {
namespace {

using testing::InflateFirstMember;

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
  std::vector<std::string> pieces;
  std::string joined;
  for (size_t at = 0; at < random.size(); at += 7919) {
    pieces.push_back(random.substr(at, 7919) + "pgconn_up{target=\"t\"} 1\n");
    pieces.emplace_back();
    joined += pieces[pieces.size() - 2];
  }
  const DeflatedChunk chunk = ChunkDeflater(1).Deflate({pieces.begin(), pieces.end()});
  const GzipHead head = JoinGzipChunks({&chunk});
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

TEST(GzipMemberTest, ChunksDeflatedApartJoinIntoOneMember) {
  ChunkDeflater fast(1);
  ChunkDeflater small(9);
  const std::string random = RandomBytes(100000, 4);
  const DeflatedChunk a = fast.Deflate({"# HELP pgconn_up Up.\n", "pgconn_up 1\n"});
  const DeflatedChunk b = small.Deflate({random, "", "pgconn_up 0\n"});
  const DeflatedChunk c = fast.Deflate({"pgconn_up 2\n"});  // the same state, reset
  const DeflatedChunk empty = fast.Deflate({});
  EXPECT_EQ(b.size, random.size() + 12);
  const std::string joined = "# HELP pgconn_up Up.\npgconn_up 1\n" + random + "pgconn_up 0\n" +
                             "pgconn_up 2\n" + "pgconn_up 2\n";
  // c twice: a chunk refers to nothing before it, so it can stand anywhere, any number of times.
  const GzipHead head = JoinGzipChunks({&a, &b, &empty, &c, &c});
  EXPECT_EQ(head.size, joined.size());
  size_t left = 1;
  EXPECT_EQ(InflateFirstMember(head.bytes + FinishGzip(head, "tail\n"), &left), joined + "tail\n");
  EXPECT_EQ(left, 0u);
  const GzipHead none = JoinGzipChunks({});
  EXPECT_EQ(InflateFirstMember(none.bytes + FinishGzip(none, ""), &left), "");
}

}  // namespace
}  // namespace pgconn
