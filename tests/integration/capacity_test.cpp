// A server at its ordinary-role connection limit: the exporter's already-open session keeps
// reporting, and a refused connect is itself reported as "nothing available".
#include <gtest/gtest.h>

#include "support/scenario.h"

namespace pgconn::testing {
namespace {

// 12 - 3 superuser-reserved = 9 slots for ordinary roles.
const PostgresOptions kSmallServer{12, 3, {}};
constexpr int kUsable = 9;
const ClientSpec kFiller{kAppRoleA, kAppPassword, "postgres", "filler"};

TEST(FullServerTest, WhileConnectedStillReportsUpAndZeroAvailable) {
  TestPostgres pg(kSmallServer);
  ExporterProcess exporter(MainConfig(pg));
  Metrics m;
  ASSERT_TRUE(exporter.ScrapeUntil(
      [](const Metrics& s) { return Value(s, "pgconn_available_connections", Main()) == 8.0; }, 10s,
      &m))
      << Dump(m);

  ClientPool clients(pg.port());
  // The exporter holds one ordinary slot, so 8 more fit.
  ASSERT_EQ(clients.FillToLimit(kFiller), kUsable - 1);

  const Metrics expected = {
      {SeriesKey("pgconn_up", Main()), 1},
      {SeriesKey("pgconn_max_connections", Main()), 12},
      {SeriesKey("pgconn_usable_connections", Main()), kUsable},
      {SeriesKey("pgconn_client_connections", Main()), kUsable},
      {SeriesKey("pgconn_available_connections", Main()), 0},
      {SeriesKey("pgconn_utilization_ratio", Main()), 1},
      {SeriesKey("pgconn_client_connections_by_state", Main({{"state", "idle"}})), kUsable - 1},
      {SeriesKey("pgconn_connections", Main({{"database", "postgres"},
                                             {"user", kAppRoleA},
                                             {"application", "filler"},
                                             {"state", "idle"}})),
       kUsable - 1},
  };
  ASSERT_TRUE(exporter.ScrapeUntil(
      [&](const Metrics& s) { return DiffMetrics(expected, s, false).empty(); }, 10s, &m))
      << DiffMetrics(expected, m, false) << Dump(m);

  // It keeps polling successfully while full: the last-success timestamp moves on.
  const double first = Value(m, "pgconn_last_poll_success_timestamp_seconds", Main()).value_or(0);
  ASSERT_TRUE(exporter.ScrapeUntil(
      [&](const Metrics& s) {
        return Value(s, "pgconn_last_poll_success_timestamp_seconds", Main()).value_or(0) > first;
      },
      5s, &m))
      << Dump(m);
  EXPECT_EQ(Value(m, "pgconn_up", Main()), 1.0);
  EXPECT_EQ(Value(m, "pgconn_available_connections", Main()), 0.0);
  EXPECT_EQ(Errors(m, "too_many_connections"), 0.0);
}

TEST(FullServerTest, BeforeStartReportsDownWithZeroAvailableThenRecovers) {
  TestPostgres pg(kSmallServer);
  ClientPool clients(pg.port());
  ASSERT_EQ(clients.FillToLimit(kFiller), kUsable);

  ExporterProcess exporter(MainConfig(pg));
  Metrics m;
  ASSERT_TRUE(exporter.ScrapeUntil(
      [](const Metrics& s) { return Errors(s, "too_many_connections") > 0; }, 10s, &m))
      << Dump(m) << Tail(exporter.Log());
  EXPECT_EQ(Value(m, "pgconn_up", Main()), 0.0);
  EXPECT_EQ(Value(m, "pgconn_available_connections", Main()), 0.0);
  // Only the refusal is known: no stale or guessed capacity numbers.
  EXPECT_FALSE(Value(m, "pgconn_client_connections", Main())) << Dump(m);
  EXPECT_FALSE(Value(m, "pgconn_max_connections", Main())) << Dump(m);
  EXPECT_EQ(Errors(m, "auth"), 0.0);
  EXPECT_EQ(Errors(m, "connect_refused"), 0.0);

  // Free two slots: the exporter gets one, so one ordinary slot remains available.
  clients.CloseLast(2);
  ASSERT_TRUE(exporter.ScrapeUntil(
      [](const Metrics& s) {
        return IsUp(s) && Value(s, "pgconn_client_connections", Main()) == kUsable - 1.0 &&
               Value(s, "pgconn_available_connections", Main()) == 1.0;
      },
      20s, &m))
      << Dump(m) << Tail(exporter.Log());
  EXPECT_EQ(Value(m, "pgconn_client_connections_by_state", Main({{"state", "idle"}})),
            kUsable - 2.0);
}

}  // namespace
}  // namespace pgconn::testing
