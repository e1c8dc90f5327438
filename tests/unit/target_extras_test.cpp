#include "pgconn/target_extras.h"

#include <gtest/gtest.h>

#include "pgconn/reserved_settings.h"
#include "support/activity_builder.h"

namespace pgconn {
namespace {

TargetSample Sample(std::vector<ReservedSetting> reserved) {
  TargetSample sample;
  ServerSettings settings;
  settings.max_connections = 20;
  settings.superuser_reserved_connections = 3;
  sample.settings = settings;
  sample.activity = std::vector<ActivityGroup>{
      testing::MakeGroup({kClientBackend, "postgres", "app", "web", "idle", ""}, 4, 1)};
  sample.reserved_settings = std::move(reserved);
  return sample;
}

const prometheus::MetricFamily* Find(const Families& families, const std::string& name) {
  for (const auto& family : families) {
    if (family.name == name) return &family;
  }
  return nullptr;
}

TEST(ReservedSettingsTest, ProviderReservesAreSubtractedFromUsable) {
  const auto capacity = ComputeCapacity(Sample({{kRdsSuperuserReserved, "2"}}));
  ASSERT_TRUE(capacity);
  EXPECT_EQ(capacity->usable, 15);  // 20 - 3 - 2
  EXPECT_EQ(capacity->available, 10);
  ASSERT_EQ(capacity->provider_reserved.size(), 1u);
  EXPECT_EQ(capacity->provider_reserved[0].setting, kRdsSuperuserReserved);
  EXPECT_EQ(capacity->provider_reserved[0].slots, 2);
}

TEST(ReservedSettingsTest, UnknownOrNonIntegerSettingsReserveNothing) {
  const auto capacity = ComputeCapacity(
      Sample({{kRdsSuperuserReserved, std::nullopt}, {"acme.reserved", "four"}, {"x.y", "-1"}}));
  ASSERT_TRUE(capacity);
  EXPECT_EQ(capacity->usable, 17);
  EXPECT_TRUE(capacity->provider_reserved.empty());
}

TEST(ReservedSettingsTest, OnlyTheTargetsOwnUnknownNamesAreReported) {
  TargetConfig target;
  target.reserved_settings = {"acme.reserved", "acme.other"};
  const auto unknown =
      UnknownReservedSettings(target, Sample({{kRdsSuperuserReserved, std::nullopt},
                                              {"acme.reserved", "4"},
                                              {"acme.other", std::nullopt}}));
  EXPECT_EQ(unknown, std::vector<std::string>{"acme.other"});
}

TEST(ReservedSettingsTest, NamesAreBuiltInsThenTheTargetsOwnOnce) {
  TargetConfig target;
  target.reserved_settings = {"acme.reserved", kRdsSuperuserReserved, "acme.reserved"};
  EXPECT_EQ(ReservedSettingNames(target),
            (std::vector<std::string>{kRdsSuperuserReserved, "acme.reserved"}));
  EXPECT_TRUE(IsSettingName("acme.reserved"));
  EXPECT_FALSE(IsSettingName("acme'reserved"));
  EXPECT_FALSE(IsSettingName("1abc"));
  EXPECT_FALSE(IsSettingName(""));
}

TEST(ReservedSettingsTest, ExportedAsKindProviderWithTheSettingName) {
  TargetConfig target;
  target.name = "main";
  TargetStatus status;
  status.up = true;
  status.polled = true;
  status.sample = Sample({{kRdsSuperuserReserved, "2"}});
  const Families families = MapTarget(target, status);
  const auto* reserved = Find(families, "pgconn_reserved_connections");
  ASSERT_NE(reserved, nullptr);
  bool found = false;
  for (const auto& metric : reserved->metric) {
    if (metric.label.size() == 3 && metric.label[1].value == "provider" &&
        metric.label[2].name == "setting" && metric.label[2].value == kRdsSuperuserReserved) {
      found = metric.gauge.value == 2;
    }
  }
  EXPECT_TRUE(found);
}

TEST(VisibilityTest, ExportedOnlyWhenMeasured) {
  TargetConfig target;
  target.name = "main";
  TargetStatus status;
  status.up = true;
  status.polled = true;
  status.sample = Sample({});
  EXPECT_EQ(Find(MapTarget(target, status), "pgconn_target_visibility_complete"), nullptr);
  TargetSample incomplete = Sample({});
  incomplete.visibility_complete = false;
  status.sample = std::move(incomplete);
  const Families families = MapTarget(target, status);
  const auto* visibility = Find(families, "pgconn_target_visibility_complete");
  ASSERT_NE(visibility, nullptr);
  EXPECT_EQ(visibility->metric.at(0).gauge.value, 0);
}

TEST(SummaryTest, CarriesAvailableReservesPoolsAndVisibility) {
  TargetConfig target;
  target.name = "main";
  PoolConfig pool;
  pool.name = "web";
  pool.application_name = "web";
  pool.size = 5;
  pool.instances = 2;
  target.pools = {pool};
  TargetStatus status;
  status.up = true;
  status.polled = true;
  status.last_success_unix = 1700000000;
  TargetSample sample = Sample({{kRdsSuperuserReserved, "2"}});
  sample.visibility_complete = true;
  status.sample = std::move(sample);
  const TargetSummary summary = SummarizeTarget(target, status);
  EXPECT_EQ(summary.available_connections, 10);
  EXPECT_EQ(summary.figures_at_unix, 1700000000);
  EXPECT_EQ(summary.visibility_complete, true);
  ASSERT_EQ(summary.reserved_slots.size(), 2u);
  EXPECT_EQ(summary.reserved_slots[1].first, kRdsSuperuserReserved);
  ASSERT_EQ(summary.pools.size(), 1u);
  EXPECT_EQ(summary.pools[0].open, 4);
  EXPECT_EQ(summary.pools[0].busy, 0);
  EXPECT_EQ(summary.pools[0].capacity, 10);
}

}  // namespace
}  // namespace pgconn
