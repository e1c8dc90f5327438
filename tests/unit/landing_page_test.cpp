#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "pgconn/http_server.h"

namespace pgconn {
namespace {

bool Contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

HttpOptions Options() {
  HttpOptions options;
  options.telemetry_path = "/metrics";
  options.version = "1.2.3";
  return options;
}

TargetSummary HealthyTarget() {
  TargetSummary target;
  target.name = "main";
  target.dsn_redacted = "host=db1 user=exporter password=REDACTED";
  target.up = true;
  target.client_connections = 45;
  target.usable_connections = 97;
  target.max_connections = 100;
  target.last_success_unix = 1700000000.75;
  return target;
}

std::string Render(const TargetSummary& target) {
  Snapshot snapshot;
  snapshot.targets.push_back(target);
  return RenderLandingPage(snapshot, Options());
}

TEST(LandingPageTest, HasTitleVersionAndLinks) {
  const std::string html = RenderLandingPage(Snapshot{}, Options());
  EXPECT_EQ(html.rfind("<!DOCTYPE html>", 0), 0u);
  EXPECT_TRUE(Contains(html, "<title>pgconn_exporter</title>"));
  EXPECT_TRUE(Contains(html, "1.2.3"));
  EXPECT_TRUE(Contains(html, "href=\"/metrics\""));
  EXPECT_TRUE(Contains(html, "href=\"/healthz\""));
}

TEST(LandingPageTest, NoJavaScriptOrExternalResources) {
  const std::string html = Render(HealthyTarget());
  EXPECT_FALSE(Contains(html, "<script"));
  EXPECT_FALSE(Contains(html, "http://"));
  EXPECT_FALSE(Contains(html, "https://"));
  EXPECT_FALSE(Contains(html, "src="));
}

TEST(LandingPageTest, ShowsOneRowPerTargetWithUsageBar) {
  const std::string html = Render(HealthyTarget());
  EXPECT_TRUE(Contains(html, "<td>main</td>"));
  EXPECT_TRUE(Contains(html, "host=db1 user=exporter password=REDACTED"));
  EXPECT_TRUE(Contains(html, ">up<"));
  EXPECT_TRUE(Contains(html, "45 / 97 (46%)"));
  EXPECT_TRUE(Contains(html, "width:46%"));
  EXPECT_TRUE(Contains(html, "max_connections 100"));
  EXPECT_TRUE(Contains(html, "2023-11-14T22:13:20Z"));
}

TEST(LandingPageTest, BarIsClampedWhenReservedSlotsAreInUse) {
  TargetSummary target = HealthyTarget();
  target.client_connections = 110;
  target.usable_connections = 100;
  const std::string html = Render(target);
  EXPECT_TRUE(Contains(html, "110 / 100 (110%)"));
  EXPECT_TRUE(Contains(html, "width:100%"));
  EXPECT_FALSE(Contains(html, "width:110%"));
}

TEST(LandingPageTest, UnknownValuesShowNaAndNever) {
  TargetSummary target;
  target.name = "fresh";
  const std::string html = Render(target);
  EXPECT_TRUE(Contains(html, ">down<"));
  EXPECT_TRUE(Contains(html, "<td>n/a</td>"));
  EXPECT_TRUE(Contains(html, "<td>never</td>"));
  EXPECT_FALSE(Contains(html, "style=\"width:"));
}

TEST(LandingPageTest, ZeroUsableSlotsIsNotADivisionByZero) {
  TargetSummary target = HealthyTarget();
  target.usable_connections = 0;
  EXPECT_FALSE(Contains(Render(target), "style=\"width:"));
}

TEST(LandingPageTest, EscapesEverythingFromData) {
  TargetSummary target = HealthyTarget();
  target.name = "<script>alert(1)</script>";
  target.dsn_redacted = "host=\"x\" dbname='a&b'";
  target.up = false;
  target.last_error = "FATAL: <b>too many</b> clients & \"more\"";
  const std::string html = Render(target);
  EXPECT_FALSE(Contains(html, "<script>"));
  EXPECT_FALSE(Contains(html, "<b>"));
  EXPECT_TRUE(Contains(html, "&lt;script&gt;alert(1)&lt;/script&gt;"));
  EXPECT_TRUE(Contains(html, "host=&quot;x&quot; dbname=&#39;a&amp;b&#39;"));
  EXPECT_TRUE(Contains(html, "FATAL: &lt;b&gt;too many&lt;/b&gt; clients &amp; &quot;more&quot;"));
}

TEST(LandingPageTest, EscapesOptions) {
  HttpOptions options = Options();
  options.telemetry_path = "/m\"><script>";
  options.version = "<v>";
  const std::string html = RenderLandingPage(Snapshot{}, options);
  EXPECT_FALSE(Contains(html, "<script>"));
  EXPECT_FALSE(Contains(html, "<v>"));
  EXPECT_TRUE(Contains(html, "href=\"/m&quot;&gt;&lt;script&gt;\""));
}

TEST(LandingPageTest, RefreshesItselfWithoutJavaScript) {
  const std::string html = Render(HealthyTarget());
  EXPECT_TRUE(Contains(html, "<meta http-equiv=\"refresh\" content=\"15\">"));
  EXPECT_FALSE(Contains(html, "<script"));
}

TEST(LandingPageTest, ShowsAvailableNowReservesPoolsAndVisibility) {
  TargetSummary target = HealthyTarget();
  target.available_connections = 52;
  target.reserved_slots = {{"superuser_reserved_connections", 3},
                           {"rds.rds_superuser_reserved_connections", 2}};
  target.pools = {{"web", 4, 9, 20}, {"worker<x>", 1, 2, 5}};
  target.visibility_complete = false;
  target.backend_processes = 51;
  const std::string html = Render(target);
  EXPECT_TRUE(Contains(html, "<td>52</td>"));
  EXPECT_TRUE(Contains(html, "- superuser_reserved_connections 3"));
  EXPECT_TRUE(Contains(html, "- rds.rds_superuser_reserved_connections 2"));
  EXPECT_TRUE(Contains(html, "web: 4 busy / 9 open (size 20)"));
  EXPECT_TRUE(Contains(html, "worker&lt;x&gt;: 1 busy / 2 open (size 5)"));
  EXPECT_TRUE(Contains(html, ">incomplete</span> (grant pg_monitor)"));
  EXPECT_TRUE(Contains(html, "<td>51</td>"));
}

TEST(LandingPageTest, RefusedTargetShowsLastKnownFiguresWithAgeBackendsAndReason) {
  TargetSummary target = HealthyTarget();
  target.up = false;
  target.figures_stale = true;
  target.figures_at_unix = 1700000000.0;
  target.available_connections = 0;
  target.failure_reason = "too_many_connections";
  target.last_error = "FATAL: remaining connection slots are reserved";
  target.backend_processes = 104;
  Snapshot snapshot;
  snapshot.built_at_unix = 1700000095.0;
  snapshot.targets.push_back(target);
  const std::string html = RenderLandingPage(snapshot, Options());
  EXPECT_TRUE(Contains(html, ">down</span><br>too_many_connections"));
  EXPECT_TRUE(Contains(html, "45 / 97 (46%)<br><span class=\"stale\">last known, 95 s old"));
  EXPECT_TRUE(Contains(html, "<td>104</td>"));
  EXPECT_TRUE(Contains(html, "FATAL: remaining connection slots are reserved"));
}

TEST(LandingPageTest, FreshFiguresHaveNoStaleNote) {
  EXPECT_FALSE(Contains(Render(HealthyTarget()), "last known"));
}

PgbouncerSummary QueuedBouncer() {
  PgbouncerSummary bouncer;
  bouncer.name = "edge";
  bouncer.up = true;
  bouncer.client_connections = 57;
  bouncer.max_client_connections = 100;
  bouncer.pools.push_back({"app", "alice", 4, 13, 2.75, 4, 0, 4, true});
  bouncer.pools.push_back({"reports", "bob", 1, 0, 0, 1, 2, 3, false});
  return bouncer;
}

std::string RenderBouncers(const std::vector<PgbouncerSummary>& bouncers) {
  Snapshot snapshot;
  snapshot.pgbouncers = bouncers;
  return RenderLandingPage(snapshot, Options());
}

TEST(LandingPageTest, NoPgbouncerSectionWithoutPgbouncers) {
  EXPECT_FALSE(Contains(Render(HealthyTarget()), "PgBouncer"));
}

TEST(LandingPageTest, PgbouncerPoolsShowQueueMaxWaitServersAndSaturation) {
  const std::string html = RenderBouncers({QueuedBouncer()});
  EXPECT_TRUE(Contains(html, "<h2>PgBouncer</h2>"));
  EXPECT_TRUE(Contains(html, ">edge</td>"));
  EXPECT_TRUE(Contains(html, "<span class=\"up\">up</span>"));
  EXPECT_TRUE(Contains(html, ">57 / 100</td>"));
  EXPECT_TRUE(Contains(html,
                       "<td>app / alice</td><td>4</td><td>13</td><td>2.75</td>"
                       "<td>4 / 0 / 4</td><td><span class=\"down\">saturated</span></td>"))
      << html;
  EXPECT_TRUE(Contains(html,
                       "<td>reports / bob</td><td>1</td><td>0</td><td>0.00</td>"
                       "<td>1 / 2 / 3</td><td>no</td>"))
      << html;
  EXPECT_TRUE(Contains(html, "rowspan=\"2\""));
}

TEST(LandingPageTest, DownPgbouncerShowsItsReasonAndError) {
  PgbouncerSummary bouncer;
  bouncer.name = "edge";
  bouncer.failure_reason = "connection_refused";
  bouncer.last_error = "connection to 127.0.0.1:6432 refused";
  const std::string html = RenderBouncers({bouncer});
  EXPECT_TRUE(Contains(html,
                       "<span class=\"down\">down</span><br>connection_refused<br>"
                       "connection to 127.0.0.1:6432 refused"))
      << html;
  EXPECT_TRUE(Contains(html, "<td>n/a / n/a</td><td colspan=\"6\">-</td>")) << html;
}

TEST(LandingPageTest, EscapesPgbouncerValues) {
  PgbouncerSummary bouncer = QueuedBouncer();
  bouncer.name = "<script>x</script>";
  bouncer.pools[0].database = "d\"b<i>";
  bouncer.pools[0].user = "u&'";
  const std::string html = RenderBouncers({bouncer});
  EXPECT_FALSE(Contains(html, "<script>"));
  EXPECT_FALSE(Contains(html, "<i>"));
  EXPECT_TRUE(Contains(html, "&lt;script&gt;x&lt;/script&gt;"));
  EXPECT_TRUE(Contains(html, "d&quot;b&lt;i&gt; / u&amp;&#39;"));
}

}  // namespace
}  // namespace pgconn
