#include "pgconn/poller.h"

#include <gtest/gtest.h>
#include <spdlog/sinks/null_sink.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <deque>
#include <sstream>

namespace pgconn {
namespace {

// Scripted stand-in for PostgreSQL: each step either opens/polls or throws.
class ScriptedSession final : public TargetSession {
 public:
  struct Step {
    std::optional<FailureReason> open_failure;
    std::optional<FailureReason> poll_failure;
    bool essentials = true;
  };
  explicit ScriptedSession(std::deque<Step> steps, std::atomic<int>* opens)
      : steps_(std::move(steps)), opens_(opens) {}

  bool IsOpen() const override { return open_; }
  void Open() override {
    ++*opens_;
    if (Current().open_failure) throw PollFailure(*Current().open_failure, "refused");
    open_ = true;
  }
  TargetSample Poll() override {
    Step step = Current();
    if (steps_.size() > 1) steps_.pop_front();
    if (step.poll_failure) {
      open_ = false;
      throw PollFailure(*step.poll_failure, "lost");
    }
    TargetSample sample;
    sample.collectors.push_back({"settings", step.essentials, 0.001, step.essentials ? "" : "x"});
    if (step.essentials) {
      sample.settings = ServerSettings{};
      sample.activity = std::vector<ActivityGroup>{};
    }
    return sample;
  }
  void Close() override { open_ = false; }

 private:
  const Step& Current() const { return steps_.front(); }
  std::deque<Step> steps_;
  std::atomic<int>* opens_;
  bool open_ = false;
};

std::shared_ptr<spdlog::logger> NullLog() {
  return std::make_shared<spdlog::logger>("test", std::make_shared<spdlog::sinks::null_sink_mt>());
}

TargetConfig Target() {
  TargetConfig target;
  target.name = "t";
  target.dsn = "host=db";
  return target;
}

TEST(BackoffDelayTest, FirstRetriesAreFastThenDoubleUpToTheCap) {
  const Millis second(1000);
  for (int failures = 1; failures <= kFastRetries; ++failures) {
    EXPECT_EQ(BackoffDelay(second, failures, 1.0), Millis(1000)) << failures;
  }
  EXPECT_EQ(BackoffDelay(second, kFastRetries + 1, 1.0), Millis(2000));
  EXPECT_EQ(BackoffDelay(second, kFastRetries + 3, 1.0), Millis(8000));
  EXPECT_EQ(BackoffDelay(second, 30, 1.0), Millis(8000));  // 8 x interval
  // At a long interval the first retries come 5 s apart, so recovery is seen within 5 s.
  EXPECT_EQ(BackoffDelay(Millis(15000), 1, 1.0), Millis(5000));
  EXPECT_EQ(BackoffDelay(Millis(15000), 30, 1.0), Millis(60000));
  EXPECT_EQ(BackoffDelay(Millis(120000), 30, 1.0), Millis(120000));  // never below the interval
  EXPECT_EQ(BackoffDelay(second, 1, 0.8), Millis(800));
  EXPECT_EQ(BackoffDelay(second, 1, 1.2), Millis(1000));  // jitter never slows a fast retry
}

TEST(TargetPollerTest, CountsFailuresByReasonAndRecovers) {
  std::atomic<int> opens{0};
  std::deque<ScriptedSession::Step> steps = {{FailureReason::kTooManyConnections, {}, true}, {}};
  auto session = std::make_unique<ScriptedSession>(steps, &opens);
  auto* raw = session.get();
  std::vector<bool> published;
  TargetPoller poller(
      Target(), std::move(session), Millis(1000),
      [&](const TargetConfig&, const TargetStatus& s) { published.push_back(s.up); }, NullLog());
  const TargetStatus& first = poller.PollOnce();
  EXPECT_FALSE(first.up);
  EXPECT_EQ(first.last_failure, FailureReason::kTooManyConnections);
  EXPECT_EQ(first.error_counts[static_cast<size_t>(FailureReason::kTooManyConnections)], 1u);
  EXPECT_FALSE(raw->IsOpen());
  (void)raw;
  EXPECT_EQ(published, std::vector<bool>{false});
}

TEST(TargetPollerTest, ALostSessionIsReplacedWithinTheSamePoll) {
  std::atomic<int> opens{0};
  std::deque<ScriptedSession::Step> steps = {
      {}, {}, {std::nullopt, FailureReason::kTerminated, true}, {}, {}};
  TargetPoller poller(
      Target(), std::make_unique<ScriptedSession>(steps, &opens), Millis(1000),
      [](const TargetConfig&, const TargetStatus&) {}, NullLog());
  EXPECT_TRUE(poller.PollOnce().up);
  EXPECT_TRUE(poller.PollOnce().up);
  EXPECT_EQ(opens, 1);  // a healthy session is reused, never reopened per poll
  const TargetStatus& lost = poller.PollOnce();
  EXPECT_TRUE(lost.up);  // reconnected at once, the poll still succeeded
  EXPECT_EQ(lost.error_counts[static_cast<size_t>(FailureReason::kTerminated)], 1u);
  EXPECT_EQ(opens, 2);
  EXPECT_TRUE(poller.PollOnce().up);
  EXPECT_EQ(opens, 2);
}

TEST(TargetPollerTest, RetriesOnlyOnceAndNotForRefusals) {
  std::atomic<int> opens{0};
  std::deque<ScriptedSession::Step> steps = {{},
                                             {std::nullopt, FailureReason::kTimeout, true},
                                             {std::nullopt, FailureReason::kTimeout, true},
                                             {std::nullopt, FailureReason::kAuth, true},
                                             {}};
  TargetPoller poller(
      Target(), std::make_unique<ScriptedSession>(steps, &opens), Millis(1000),
      [](const TargetConfig&, const TargetStatus&) {}, NullLog());
  EXPECT_TRUE(poller.PollOnce().up);
  const TargetStatus& down = poller.PollOnce();  // lost, retried once, lost again
  EXPECT_FALSE(down.up);
  EXPECT_EQ(down.error_counts[static_cast<size_t>(FailureReason::kTimeout)], 2u);
  EXPECT_EQ(opens, 2);
  EXPECT_EQ(poller.PollOnce().last_failure, FailureReason::kAuth);  // no retry for a refusal
  EXPECT_EQ(opens, 3);
  EXPECT_TRUE(poller.PollOnce().up);
}

TEST(TargetPollerTest, LogsEveryChangeOfReasonButNotRepeats) {
  std::ostringstream lines;
  auto log = std::make_shared<spdlog::logger>(
      "test", std::make_shared<spdlog::sinks::ostream_sink_mt>(lines));
  log->set_pattern("%v");
  std::atomic<int> opens{0};
  std::deque<ScriptedSession::Step> steps = {
      {},
      {std::nullopt, FailureReason::kAuth, true},
      {std::nullopt, FailureReason::kAuth, true},
      {std::nullopt, FailureReason::kTooManyConnections, true},
      {},
      {std::nullopt, FailureReason::kAuth, true},
      {}};
  TargetPoller poller(
      Target(), std::make_unique<ScriptedSession>(steps, &opens), Millis(1000),
      [](const TargetConfig&, const TargetStatus&) {}, log);
  for (int i = 0; i < 7; ++i) poller.PollOnce();
  // up, down(auth), down(too_many), up (a recovery always follows a logged failure); then
  // down(auth) and up again within the minute are held back and counted on the next line of
  // their kind.
  EXPECT_EQ(lines.str(),
            "target t is up (host=db)\n"
            "target t is down (auth): lost\n"
            "target t is down (too_many_connections): lost\n"
            "target t is up (host=db)\n");
}

TEST(TargetPollerTest, FailedEssentialCollectorMarksTargetDownAsQueryError) {
  std::atomic<int> opens{0};
  std::deque<ScriptedSession::Step> steps = {{std::nullopt, std::nullopt, false}};
  TargetPoller poller(
      Target(), std::make_unique<ScriptedSession>(steps, &opens), Millis(1000),
      [](const TargetConfig&, const TargetStatus&) {}, NullLog());
  const TargetStatus& status = poller.PollOnce();
  EXPECT_FALSE(status.up);
  EXPECT_EQ(status.last_failure, FailureReason::kQueryError);
  EXPECT_EQ(status.error_counts[static_cast<size_t>(FailureReason::kQueryError)], 1u);
}

TEST(TargetPollerTest, ThreadPollsOnTheIntervalAndJoinsOnDestruction) {
  std::atomic<int> opens{0};
  std::atomic<int> polls{0};
  {
    TargetPoller poller(
        Target(), std::make_unique<ScriptedSession>(std::deque<ScriptedSession::Step>{{}}, &opens),
        Millis(20), [&](const TargetConfig&, const TargetStatus&) { ++polls; }, NullLog());
    poller.Start();
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (polls < 3 && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(Millis(5));
    }
  }
  EXPECT_GE(polls, 3);
  EXPECT_EQ(opens, 1);
}

}  // namespace
}  // namespace pgconn
