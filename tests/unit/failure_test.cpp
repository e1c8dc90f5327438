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

TEST(FailureReasonNameTest, EveryReasonHasADistinctName) {
  std::set<std::string_view> names;
  for (auto reason : kAllFailureReasons) names.insert(FailureReasonName(reason));
  EXPECT_EQ(names.size(), kAllFailureReasons.size());
  EXPECT_EQ(FailureReasonName(FailureReason::kTooManyConnections), "too_many_connections");
}

}  // namespace
}  // namespace pgconn
