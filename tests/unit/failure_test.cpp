#include "pgconn/failure.h"

#include <gtest/gtest.h>

#include <set>

namespace pgconn {
namespace {

TEST(ClassifyFailureTest, ServerFullByTextOrSqlstate) {
  EXPECT_EQ(ClassifyFailure("", "FATAL:  sorry, too many clients already\n"),
            FailureReason::kTooManyConnections);
  EXPECT_EQ(ClassifyFailure("",
                            "FATAL:  remaining connection slots are reserved for roles "
                            "with the SUPERUSER attribute"),
            FailureReason::kTooManyConnections);
  EXPECT_EQ(ClassifyFailure("", "FATAL:  too many connections for role \"mon\""),
            FailureReason::kTooManyConnections);
  EXPECT_EQ(ClassifyFailure("53300", "whatever"), FailureReason::kTooManyConnections);
}

TEST(ClassifyFailureTest, AuthRefusals) {
  EXPECT_EQ(ClassifyFailure("", "FATAL:  password authentication failed for user \"mon\""),
            FailureReason::kAuth);
  EXPECT_EQ(ClassifyFailure("", "FATAL:  no pg_hba.conf entry for host \"10.0.0.1\""),
            FailureReason::kAuth);
  EXPECT_EQ(ClassifyFailure("28P01", "x"), FailureReason::kAuth);
}

TEST(ClassifyFailureTest, NothingListening) {
  EXPECT_EQ(ClassifyFailure("",
                            "connection to server at \"127.0.0.1\", port 1 failed: "
                            "Connection refused\n\tIs the server running on that host?"),
            FailureReason::kConnectRefused);
  EXPECT_EQ(ClassifyFailure("", "FATAL:  the database system is starting up"),
            FailureReason::kConnectRefused);
}

TEST(ClassifyFailureTest, Timeouts) {
  EXPECT_EQ(ClassifyFailure("", "timeout expired"), FailureReason::kTimeout);
  EXPECT_EQ(ClassifyFailure("57014", "ERROR:  canceling statement due to statement timeout"),
            FailureReason::kTimeout);
}

TEST(ClassifyFailureTest, OtherSqlErrorsAreQueryErrors) {
  EXPECT_EQ(ClassifyFailure("42P01", "relation does not exist"), FailureReason::kQueryError);
  EXPECT_EQ(ClassifyFailure("", "something odd"), FailureReason::kOther);
}

TEST(ClassifyFailureTest, LostSessionsNameTheirCause) {
  EXPECT_EQ(ClassifyFailure("57P01",
                            "FATAL:  terminating connection due to administrator command\n"
                            "server closed the connection unexpectedly"),
            FailureReason::kTerminated);
  EXPECT_EQ(ClassifyFailure("", "FATAL:  terminating connection due to idle-session timeout"),
            FailureReason::kTerminated);
  EXPECT_EQ(ClassifyFailure("", "FATAL:  the database system is shutting down"),
            FailureReason::kServerShutdown);
  EXPECT_EQ(ClassifyFailure("57P02", "x"), FailureReason::kServerShutdown);
  EXPECT_EQ(ClassifyFailure("",
                            "server closed the connection unexpectedly\n\tThis probably means "
                            "the server terminated abnormally"),
            FailureReason::kConnectionLost);
  EXPECT_EQ(ClassifyFailure("", "no connection to the server"), FailureReason::kConnectionLost);
}

TEST(ClassifyFailureTest, MissingDatabaseOrRole) {
  EXPECT_EQ(ClassifyFailure("",
                            "connection to server at \"127.0.0.1\", port 5 failed: FATAL:  "
                            "database \"shop\" does not exist"),
            FailureReason::kDatabaseMissing);
  EXPECT_EQ(ClassifyFailure("", "FATAL:  role \"mon\" does not exist"),
            FailureReason::kRoleMissing);
  EXPECT_EQ(ClassifyFailure("", "FATAL:  role \"mon\" is not permitted to log in"),
            FailureReason::kRoleMissing);
  // A missing relation is still a query error, not a missing database.
  EXPECT_EQ(ClassifyFailure("42P01", "relation \"x\" does not exist"), FailureReason::kQueryError);
}

TEST(IsSessionLossTest, OnlyEndingsOfAnOpenSession) {
  EXPECT_TRUE(IsSessionLoss(FailureReason::kTerminated));
  EXPECT_TRUE(IsSessionLoss(FailureReason::kConnectionLost));
  EXPECT_TRUE(IsSessionLoss(FailureReason::kServerShutdown));
  EXPECT_TRUE(IsSessionLoss(FailureReason::kTimeout));
  EXPECT_FALSE(IsSessionLoss(FailureReason::kAuth));
  EXPECT_FALSE(IsSessionLoss(FailureReason::kTooManyConnections));
}

TEST(FailureReasonNameTest, EveryReasonHasADistinctName) {
  std::set<std::string_view> names;
  for (auto reason : kAllFailureReasons) names.insert(FailureReasonName(reason));
  EXPECT_EQ(names.size(), kAllFailureReasons.size());
  EXPECT_EQ(FailureReasonName(FailureReason::kTooManyConnections), "too_many_connections");
}

}  // namespace
}  // namespace pgconn
