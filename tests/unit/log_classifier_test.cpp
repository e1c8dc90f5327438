// The classifier on PostgreSQL 12-18 message texts, in the three log formats.
#include "pgconn/log_classifier.h"

#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <vector>

namespace pgconn {
namespace {

struct Case {
  std::vector<int> versions;  // PostgreSQL majors that print this text
  std::string sqlstate;
  std::string message;  // as PostgreSQL prints it (unescaped)
  LogEventKind kind;
  std::string reason;
};

const std::vector<Case>& Cases() {
  static const std::vector<Case> kCases = {
      {{12, 13, 14, 15, 16, 17, 18},
       "53300",
       "sorry, too many clients already",
       LogEventKind::kRefused,
       "too_many_clients"},
      {{12, 13, 14, 15},
       "53300",
       "remaining connection slots are reserved for non-replication superuser connections",
       LogEventKind::kRefused,
       "reserved_slots"},
      {{16, 17, 18},
       "53300",
       "remaining connection slots are reserved for roles with the SUPERUSER attribute",
       LogEventKind::kRefused,
       "reserved_slots"},
      {{16, 17, 18},
       "53300",
       "remaining connection slots are reserved for roles with privileges of the "
       "\"pg_use_reserved_connections\" role",
       LogEventKind::kRefused,
       "reserved_slots"},
      {{12, 13, 14, 15, 16, 17, 18},
       "53300",
       "too many connections for role \"app\"",
       LogEventKind::kRefused,
       "role_limit"},
      {{12, 13, 14, 15, 16, 17, 18},
       "53300",
       "too many connections for database \"shop\"",
       LogEventKind::kRefused,
       "database_limit"},
      {{12, 13, 14, 15, 16, 17, 18},
       "57P03",
       "the database system is starting up",
       LogEventKind::kRefused,
       "not_accepting"},
      {{12, 13, 14, 15, 16, 17, 18},
       "57P03",
       "the database system is shutting down",
       LogEventKind::kRefused,
       "not_accepting"},
      {{14, 15, 16, 17, 18},
       "57P03",
       "the database system is not yet accepting connections",
       LogEventKind::kRefused,
       "not_accepting"},
      {{12, 13, 14, 15, 16, 17, 18},
       "28P01",
       "password authentication failed for user \"app\"",
       LogEventKind::kAuthFailed,
       "password"},
      {{12, 13, 14, 15, 16, 17, 18},
       "28000",
       "Peer authentication failed for user \"app\"",
       LogEventKind::kAuthFailed,
       "peer"},
      {{12, 13, 14, 15},
       "28000",
       "no pg_hba.conf entry for host \"10.1.2.3\", user \"app\", database \"shop\", SSL off",
       LogEventKind::kAuthFailed,
       "no_hba_entry"},
      {{16, 17, 18},
       "28000",
       "no pg_hba.conf entry for host \"10.1.2.3\", user \"app\", database \"shop\", no "
       "encryption",
       LogEventKind::kAuthFailed,
       "no_hba_entry"},
      {{12, 13, 14, 15, 16, 17, 18},
       "28000",
       "pg_hba.conf rejects connection for host \"10.1.2.3\", user \"app\", database \"shop\"",
       LogEventKind::kAuthFailed,
       "hba_reject"},
      {{12, 13, 14, 15, 16, 17, 18},
       "28000",
       "role \"ghost\" does not exist",
       LogEventKind::kAuthFailed,
       "unknown_role"},
      {{12, 13, 14, 15, 16, 17, 18},
       "28000",
       "role \"nologin\" is not permitted to log in",
       LogEventKind::kAuthFailed,
       "login_not_permitted"},
  };
  return kCases;
}

std::string Stderr(const std::string& prefix, const Case& c) {
  return prefix + "FATAL:  " + c.message;
}

std::string CsvQuoted(const std::string& text) {
  std::string out = "\"";
  for (char ch : text) out += ch == '"' ? std::string("\"\"") : std::string(1, ch);
  return out + "\"";
}

// csvlog columns: 23 up to 12, backend_type from 13, leader_pid and query_id from 14.
std::string Csv(int version, const Case& c) {
  std::string line =
      "2026-11-30 22:00:00.123 UTC,\"app\",\"shop\",4242,\"10.1.2.3:51000\",6568a0b0.1092,1,"
      "\"authentication\",2026-11-30 22:00:00 UTC,3/17,0,FATAL," +
      c.sqlstate + "," + CsvQuoted(c.message) + ",,,,,,,,,\"\"";
  if (version >= 13) line += ",\"client backend\"";
  if (version >= 14) line += ",,0";
  return line;
}

std::string JsonEscaped(const std::string& text) {
  std::string out;
  for (char ch : text) out += ch == '"' ? std::string("\\\"") : std::string(1, ch);
  return out;
}

std::string Json(const Case& c) {
  return "{\"timestamp\":\"2026-11-30 22:00:00.123 UTC\",\"user\":\"app\",\"dbname\":\"shop\","
         "\"pid\":4242,\"remote_host\":\"10.1.2.3\",\"remote_port\":51000,\"session_id\":"
         "\"6568a0b0.1092\",\"line_num\":1,\"ps\":\"authentication\",\"session_start\":"
         "\"2026-11-30 22:00:00 UTC\",\"vxid\":\"3/17\",\"txid\":0,\"error_severity\":\"FATAL\","
         "\"state_code\":\"" +
         c.sqlstate + "\",\"message\":\"" + JsonEscaped(c.message) +
         "\",\"backend_type\":\"client backend\",\"query_id\":0}";
}

void ExpectEvent(const std::string& line, const Case& c) {
  const LogEvent event = ClassifyLogLine(line);
  EXPECT_EQ(event.kind, c.kind) << line;
  EXPECT_EQ(event.reason, c.reason) << line;
}

TEST(LogClassifierTest, StderrWithAnyLogLinePrefix) {
  const std::vector<std::string> prefixes = {
      "",                                     // log_line_prefix = ''
      "2026-11-30 22:00:00.123 UTC [4242] ",  // Debian's default '%m [%p] '
      "2026-11-30 22:00:00 UTC [4242]: [1-1] user=app,db=shop,app=[unknown],client=10.1.2.3 ",
      "<4242> app@shop: ",  // a prefix with a colon and a space of its own
  };
  for (const auto& c : Cases()) {
    for (const auto& prefix : prefixes) ExpectEvent(Stderr(prefix, c), c);
  }
}

TEST(LogClassifierTest, CsvlogOfEveryVersion) {
  for (const auto& c : Cases()) {
    for (int version : c.versions) ExpectEvent(Csv(version, c), c);
  }
}

TEST(LogClassifierTest, JsonlogFromFifteen) {
  for (const auto& c : Cases()) ExpectEvent(Json(c), c);
}

TEST(LogClassifierTest, OnlyFatalLinesCount) {
  EXPECT_EQ(ClassifyLogLine("2026-11-30 22:00:00 UTC [1] LOG:  statement: SELECT 'FATAL:  sorry, "
                            "too many clients already'")
                .kind,
            LogEventKind::kNone);
  EXPECT_EQ(
      ClassifyLogLine("2026-11-30 22:00:00 UTC [1] LOG:  connection received: host=[local]").kind,
      LogEventKind::kNone);
  EXPECT_EQ(ClassifyLogLine("2026-11-30 22:00:00 UTC [1] ERROR:  too many connections for role "
                            "\"x\"")
                .kind,
            LogEventKind::kNone);
  EXPECT_EQ(ClassifyLogLine("{\"error_severity\":\"LOG\",\"message\":\"sorry, too many clients "
                            "already\"}")
                .kind,
            LogEventKind::kNone);
  EXPECT_EQ(ClassifyLogLine("2026-11-30 22:00:00 UTC [1] FATAL:  terminating connection due to "
                            "administrator command")
                .kind,
            LogEventKind::kNone);
  EXPECT_EQ(ClassifyLogLine("").kind, LogEventKind::kNone);
  EXPECT_EQ(ClassifyLogLine(std::string("\0\xff\xfe FATAL:  \x01", 12)).kind, LogEventKind::kNone);
}

TEST(LogClassifierTest, PgbouncerMaxClientConnCountsOncePerClient) {
  // As PgBouncer 1.18 logged them here for one client over max_client_conn = 1.
  const std::string closing =
      "2026-11-30 22:32:46.792 UTC [14997] LOG C-0x561f888f4a50: (nodb)/(nouser)@127.0.0.1:52786 "
      "closing because: no more connections allowed (max_client_conn) (age=0s)";
  const std::string pooler_error =
      "2026-11-30 22:32:46.792 UTC [14997] WARNING C-0x561f888f4a50: "
      "(nodb)/(nouser)@127.0.0.1:52786 pooler error: no more connections allowed "
      "(max_client_conn)";
  EXPECT_EQ(ClassifyLogLine(closing).reason, "pgbouncer_max_client_conn");
  EXPECT_EQ(ClassifyLogLine(closing).kind, LogEventKind::kRefused);
  EXPECT_EQ(ClassifyLogLine(pooler_error).kind, LogEventKind::kNone);
}

TEST(LogClassifierTest, EveryReasonIsKnownForZeroFill) {
  auto known = [](const std::vector<std::string_view>& list, std::string_view reason) {
    return std::find(list.begin(), list.end(), reason) != list.end();
  };
  for (const auto& c : Cases()) {
    const auto& list =
        c.kind == LogEventKind::kRefused ? KnownRefusalReasons() : KnownAuthFailureReasons();
    EXPECT_TRUE(known(list, c.reason)) << c.reason;
  }
  EXPECT_TRUE(known(KnownRefusalReasons(), "pgbouncer_max_client_conn"));
}

}  // namespace
}  // namespace pgconn

namespace pgconn {
namespace {

// Lines a real PostgreSQL 17.10 wrote (stderr, csvlog and jsonlog at once) for: reserved for
// pg_use_reserved_connections, reserved for superusers, every slot taken, role and database
// CONNECTION LIMIT, a NOLOGIN role.
TEST(LogClassifierTest, RealPostgres17LogsInAllThreeFormats) {
  const std::vector<std::string> expected = {"reserved_slots",   "reserved_slots",
                                             "too_many_clients", "role_limit",
                                             "database_limit",   "login_not_permitted"};
  for (const std::string format : {"log", "csv", "json"}) {
    std::ifstream in(std::string(PGCONN_FIXTURES_DIR) + "/server_log/pg17." + format);
    std::vector<std::string> reasons;
    for (std::string line; std::getline(in, line);) {
      reasons.emplace_back(ClassifyLogLine(line).reason);
    }
    EXPECT_EQ(reasons, expected) << format;
  }
}

}  // namespace
}  // namespace pgconn
