#include "pgconn/render.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <string>

#include "pgconn/gzip_member.h"
#include "pgconn/rendered_part.h"
#include "support/gauge_family.h"

namespace pgconn {
namespace {

prometheus::MetricFamily Gauge(const std::string& name, const std::string& help,
                               const std::string& target, double value) {
  prometheus::ClientMetric metric;
  metric.label = {{"target", target}};
  metric.gauge.value = value;
  return {name, help, prometheus::MetricType::Gauge, {metric}};
}

std::string Gunzip(const std::string& compressed) {
  z_stream stream{};
  EXPECT_EQ(inflateInit2(&stream, 15 + 16), Z_OK);
  std::string out;
  char buffer[4096];
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(compressed.data()));
  stream.avail_in = static_cast<uInt>(compressed.size());
  int status = Z_OK;
  while (status == Z_OK) {
    stream.next_out = reinterpret_cast<Bytef*>(buffer);
    stream.avail_out = sizeof buffer;
    status = inflate(&stream, Z_NO_FLUSH);
    out.append(buffer, sizeof buffer - stream.avail_out);
  }
  EXPECT_EQ(status, Z_STREAM_END);
  inflateEnd(&stream);
  return out;
}

std::string Target(const prometheus::ClientMetric& metric) { return metric.label.at(0).value; }

TEST(MergeFamiliesTest, SameNameBecomesOneFamilyInFirstSeenOrder) {
  const Families merged = MergeFamilies({
      {Gauge("pgconn_a", "A first", "t1", 1), Gauge("pgconn_b", "B", "t1", 2)},
      {Gauge("pgconn_b", "B", "t2", 3), Gauge("pgconn_c", "C", "t2", 4)},
      {Gauge("pgconn_a", "A later help", "t3", 5)},
  });
  ASSERT_EQ(merged.size(), 3u);
  EXPECT_EQ(merged[0].name, "pgconn_a");
  EXPECT_EQ(merged[1].name, "pgconn_b");
  EXPECT_EQ(merged[2].name, "pgconn_c");
  EXPECT_EQ(merged[0].help, "A first");
  ASSERT_EQ(merged[0].metric.size(), 2u);
  EXPECT_EQ(Target(merged[0].metric[0]), "t1");
  EXPECT_EQ(Target(merged[0].metric[1]), "t3");
  ASSERT_EQ(merged[1].metric.size(), 2u);
  EXPECT_EQ(Target(merged[1].metric[0]), "t1");
  EXPECT_EQ(Target(merged[1].metric[1]), "t2");
}

TEST(MergeFamiliesTest, TypeComesFromTheFirstPart) {
  prometheus::MetricFamily counter = Gauge("pgconn_x", "X", "t2", 1);
  counter.type = prometheus::MetricType::Counter;
  const Families merged = MergeFamilies({{Gauge("pgconn_x", "X", "t1", 1)}, {counter}});
  ASSERT_EQ(merged.size(), 1u);
  EXPECT_EQ(merged[0].type, prometheus::MetricType::Gauge);
}

TEST(MergeFamiliesTest, EmptyInputGivesNoFamilies) {
  EXPECT_TRUE(MergeFamilies({}).empty());
  EXPECT_TRUE(MergeFamilies({{}, {}}).empty());
}

TEST(RenderTextTest, GaugeWithLabelsHasHelpAndTypeLines) {
  const std::string text =
      RenderText({Gauge("pgconn_up", "Whether the target answered.", "db1", 1)});
  EXPECT_NE(text.find("# HELP pgconn_up Whether the target answered.\n"), std::string::npos)
      << text;
  EXPECT_NE(text.find("# TYPE pgconn_up gauge\n"), std::string::npos) << text;
  EXPECT_NE(text.find("pgconn_up{target=\"db1\"} 1\n"), std::string::npos) << text;
}

TEST(RenderTextTest, EscapesLabelValues) {
  const std::string text = RenderText({Gauge("pgconn_up", "h", "a\"b\\c\nd", 0)});
  EXPECT_NE(text.find(R"(target="a\"b\\c\nd")"), std::string::npos) << text;
}

TEST(GzipTest, RoundTrip) {
  std::string text;
  for (int i = 0; i < 1000; ++i) text += "pgconn_up{target=\"db" + std::to_string(i) + "\"} 1\n";
  const std::string compressed = GzipCompress(text);
  ASSERT_GE(compressed.size(), 2u);
  EXPECT_EQ(static_cast<unsigned char>(compressed[0]), 0x1f);  // RFC 1952 magic
  EXPECT_EQ(static_cast<unsigned char>(compressed[1]), 0x8b);
  EXPECT_LT(compressed.size(), text.size());
  EXPECT_EQ(Gunzip(compressed), text);
}

TEST(GzipTest, EmptyInputIsAValidGzipStream) {
  const std::string compressed = GzipCompress("");
  EXPECT_FALSE(compressed.empty());
  EXPECT_EQ(Gunzip(compressed), "");
}

}  // namespace
}  // namespace pgconn

namespace pgconn {
namespace {

// The assembler stitches pre-rendered parts; the result must equal merging then rendering.
TEST(StitchExpositionTest, EqualsRenderingTheMergedFamilies) {
  const auto gauge = testing::TargetGauge;
  Families first = {gauge("pgconn_up", "a", 1), gauge("pgconn_max_connections", "a", 100)};
  Families second = {gauge("pgconn_up", "b", 0)};
  Families third = {gauge("pgconn_max_connections", "c", 20), gauge("pgconn_extra", "c", 3)};
  const auto r1 = RenderFamilies(first);
  const auto r2 = RenderFamilies(second);
  const auto r3 = RenderFamilies(third);
  EXPECT_EQ(StitchExposition({&r1, &r2, &r3}), RenderText(MergeFamilies({first, second, third})));

  // The same with shared headers: one FamilyHead per family, and the same text.
  FamilyHeads heads;
  const auto s1 = RenderFamilies(first, &heads);
  const auto s2 = RenderFamilies(second, &heads);
  const auto s3 = RenderFamilies(third, &heads);
  EXPECT_EQ(s1.families[0].head, s2.families[0].head);  // pgconn_up of a and of b
  EXPECT_EQ(s1.families[1].head, s3.families[0].head);  // pgconn_max_connections
  EXPECT_NE(s1.families[0].head, s1.families[1].head);
  EXPECT_EQ(StitchExposition({&s1, &s2, &s3}), RenderText(MergeFamilies({first, second, third})));
}

}  // namespace
}  // namespace pgconn
