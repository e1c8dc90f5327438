#include "pgconn/poller.h"

#include <gtest/gtest.h>
#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <deque>

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

TEST(BackoffDelayTest, DoublesPerFailureUpToTheCap) {
  const Millis second(1000);
  EXPECT_EQ(BackoffDelay(second, 1, 1.0), Millis(1000));
  EXPECT_EQ(BackoffDelay(second, 2, 1.0), Millis(2000));
  EXPECT_EQ(BackoffDelay(second, 4, 1.0), Millis(8000));
  EXPECT_EQ(BackoffDelay(second, 30, 1.0), Millis(8000));  // 8 x interval
  EXPECT_EQ(BackoffDelay(Millis(15000), 30, 1.0), Millis(60000));
  EXPECT_EQ(BackoffDelay(Millis(120000), 5, 1.0), Millis(120000));  // never below the interval
  EXPECT_EQ(BackoffDelay(second, 1, 0.8), Millis(800));
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

TEST(TargetPollerTest, ReconnectsAfterALostSessionAndKeepsOneSession) {
  std::atomic<int> opens{0};
  std::deque<ScriptedSession::Step> steps = {
      {}, {}, {std::nullopt, FailureReason::kTimeout, true}, {}, {}};
  TargetPoller poller(
      Target(), std::make_unique<ScriptedSession>(steps, &opens), Millis(1000),
      [](const TargetConfig&, const TargetStatus&) {}, NullLog());
  EXPECT_TRUE(poller.PollOnce().up);
  EXPECT_TRUE(poller.PollOnce().up);
  EXPECT_EQ(opens, 1);  // a healthy session is reused, never reopened per poll
  const TargetStatus& lost = poller.PollOnce();
  EXPECT_FALSE(lost.up);
  EXPECT_EQ(lost.error_counts[static_cast<size_t>(FailureReason::kTimeout)], 1u);
  EXPECT_TRUE(poller.PollOnce().up);
  EXPECT_EQ(opens, 2);
  EXPECT_TRUE(poller.PollOnce().last_success_unix.has_value());
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
