#include "memory/ladder.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include "fakes/fake_clock.h"
#include "fakes/fake_pressure.h"
#include "memory/ledger.h"

namespace leancut::memory {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using L = PressureLevel;

PressureInputs ledger_at(double ratio) {
  return {.ledger_ratio = ratio};
}

// Registers one action per step that logs "name" (and "undo name") into `log`.
struct LoggedSteps {
  std::vector<std::string> log;
  std::vector<LadderAction> actions;

  explicit LoggedSteps(DegradationLadder& ladder) {
    for (LadderStep step : kLadderSteps) {
      const std::string name = to_string(step);
      DegradationLadder::Action undo;
      if (is_sticky(step)) undo = [this, name] { log.push_back("undo " + name); };
      actions.push_back(ladder.add_action(
          step, [this, name] { log.push_back(name); }, undo));
    }
  }
  std::vector<std::string> take() { return std::exchange(log, {}); }
};

TEST(LadderNames, StepsKeepTheirNamesLevelsAndStickiness) {
  EXPECT_STREQ(to_string(LadderStep::TrimPools), "trim_pools");
  EXPECT_STREQ(to_string(LadderStep::EvictCaches), "evict_caches");
  EXPECT_STREQ(to_string(LadderStep::ReleaseAllocator), "release_allocator");
  EXPECT_STREQ(to_string(LadderStep::ShrinkQueues), "shrink_queues");
  EXPECT_STREQ(to_string(LadderStep::Backpressure), "backpressure");
  EXPECT_STREQ(kLadderFailName, "fail");
  EXPECT_EQ(entry_level(LadderStep::TrimPools), L::Low);
  EXPECT_EQ(entry_level(LadderStep::EvictCaches), L::Moderate);
  EXPECT_EQ(entry_level(LadderStep::ReleaseAllocator), L::Moderate);
  EXPECT_EQ(entry_level(LadderStep::ShrinkQueues), L::High);
  EXPECT_EQ(entry_level(LadderStep::Backpressure), L::Critical);
  EXPECT_FALSE(is_sticky(LadderStep::TrimPools));
  EXPECT_FALSE(is_sticky(LadderStep::EvictCaches));
  EXPECT_FALSE(is_sticky(LadderStep::ReleaseAllocator));
  EXPECT_TRUE(is_sticky(LadderStep::ShrinkQueues));
  EXPECT_TRUE(is_sticky(LadderStep::Backpressure));
}

TEST(DegradationLadder, EachLevelRunsItsStepsInOrder) {
  fakes::FakeClock clock;
  DegradationLadder ladder(clock);
  LoggedSteps steps(ladder);

  ladder.on_update(L::None, {});
  EXPECT_TRUE(steps.take().empty());
  ladder.on_update(L::Low, {});
  EXPECT_EQ(steps.take(), std::vector<std::string>({"trim_pools"}));
  clock.advance(seconds(10));  // past every interval
  ladder.on_update(L::Moderate, {});
  EXPECT_EQ(steps.take(),
            std::vector<std::string>({"trim_pools", "evict_caches", "release_allocator"}));
  clock.advance(seconds(10));
  ladder.on_update(L::High, {});
  EXPECT_EQ(steps.take(), std::vector<std::string>({"trim_pools", "evict_caches",
                                                    "release_allocator", "shrink_queues"}));
  clock.advance(seconds(10));
  ladder.on_update(L::Critical, {});
  EXPECT_EQ(steps.take(), std::vector<std::string>(
                              {"trim_pools", "evict_caches", "release_allocator", "backpressure"}));
  // Down to None: sticky steps undone, highest first.
  ladder.on_update(L::None, {});
  EXPECT_EQ(steps.take(), std::vector<std::string>({"undo backpressure", "undo shrink_queues"}));
  EXPECT_TRUE(ladder.status().ok());
}

TEST(DegradationLadder, TrackerAtPoint9RunsTheHighStepsAndRecoversAfterTheDwell) {
  fakes::FakeClock clock;
  PressureTracker tracker(clock);
  DegradationLadder ladder(clock);
  LoggedSteps steps(ladder);
  FixedPressureSource source(ledger_at(0.9));
  auto tick = [&] {
    PressureInputs in = source.read();
    ladder.on_update(tracker.update(in), in);
  };

  tick();
  EXPECT_EQ(tracker.level(), L::High);
  EXPECT_EQ(steps.take(), std::vector<std::string>({"trim_pools", "evict_caches",
                                                    "release_allocator", "shrink_queues"}));
  source.set(ledger_at(0.3));
  tick();  // t=0: the dwell starts; every step has just run
  EXPECT_TRUE(steps.take().empty());
  for (int i = 0; i < 49; ++i) {  // to 4.9 s at 100 ms: still High
    clock.advance(milliseconds(100));
    tick();
  }
  EXPECT_EQ(tracker.level(), L::High);
  // trim_pools again at 1, 2, 3, 4 s; evict_caches at 2 and 4 s; release_allocator not yet (5 s).
  EXPECT_EQ(steps.take(), std::vector<std::string>({"trim_pools", "trim_pools", "evict_caches",
                                                    "trim_pools", "trim_pools", "evict_caches"}));
  clock.advance(milliseconds(100));
  tick();  // 5.0 s below every exit: None
  EXPECT_EQ(tracker.level(), L::None);
  EXPECT_EQ(steps.take(), std::vector<std::string>({"undo shrink_queues"}));
  EXPECT_EQ(ladder.stats(LadderStep::TrimPools).runs, 5);
  EXPECT_EQ(ladder.stats(LadderStep::EvictCaches).runs, 3);
  EXPECT_EQ(ladder.stats(LadderStep::ReleaseAllocator).runs, 1);
  EXPECT_EQ(ladder.stats(LadderStep::ShrinkQueues).runs, 1);
  EXPECT_EQ(ladder.stats(LadderStep::ShrinkQueues).undos, 1);
  EXPECT_EQ(ladder.stats(LadderStep::Backpressure).runs, 0);
}

TEST(DegradationLadder, RateLimitsHold) {
  fakes::FakeClock clock;
  LadderOptions options;
  options.min_interval[static_cast<size_t>(LadderStep::TrimPools)] = milliseconds(1500);
  DegradationLadder ladder(clock, options);
  int trims = 0;
  auto trim = ladder.add_action(LadderStep::TrimPools, [&] { ++trims; });
  const Clock::TimePoint t0 = clock.now();

  ladder.on_update(L::Low, {});  // t=0: runs
  EXPECT_EQ(trims, 1);
  clock.advance(milliseconds(1499));
  ladder.on_update(L::Critical, {});  // a higher level does not bypass the interval
  EXPECT_EQ(trims, 1);
  clock.advance(milliseconds(1));
  ladder.on_update(L::Low, {});  // t=1.5 s: due
  EXPECT_EQ(trims, 2);
  for (int i = 0; i < 30; ++i) {  // 3 s more at 100 ms: runs at 3.0 and 4.5 s
    clock.advance(milliseconds(100));
    ladder.on_update(L::Low, {});
  }
  EXPECT_EQ(trims, 4);
  LadderStepStats st = ladder.stats(LadderStep::TrimPools);
  EXPECT_EQ(st.runs, 4);
  EXPECT_EQ(st.actions, 1);
  EXPECT_EQ(st.last_run, t0 + milliseconds(4500));
}

TEST(DegradationLadder, StickyStepsEngageOnceAndRateLimitReengagement) {
  fakes::FakeClock clock;
  DegradationLadder ladder(clock);  // shrink_queues: 1 s between engagements
  LoggedSteps steps(ladder);
  ladder.on_update(L::High, {});
  steps.take();
  for (int i = 0; i < 20; ++i) {
    clock.advance(milliseconds(100));
    ladder.on_update(L::High, {});
  }
  std::vector<std::string> log = steps.take();
  EXPECT_EQ(std::count(log.begin(), log.end(), "shrink_queues"), 0);  // engaged once, at t=0
  EXPECT_TRUE(ladder.stats(LadderStep::ShrinkQueues).engaged);

  clock.advance(seconds(10));
  ladder.on_update(L::Moderate, {});
  log = steps.take();
  EXPECT_EQ(log.front(), "undo shrink_queues");
  EXPECT_FALSE(ladder.stats(LadderStep::ShrinkQueues).engaged);

  ladder.on_update(L::High, {});  // 0 s after the undo, 10 s after the engagement: due
  log = steps.take();
  EXPECT_EQ(std::count(log.begin(), log.end(), "shrink_queues"), 1);

  ladder.on_update(L::Moderate, {});  // undone at once
  clock.advance(milliseconds(999));
  ladder.on_update(L::High, {});  // 0.999 s after the last engagement: not yet
  log = steps.take();
  EXPECT_EQ(std::count(log.begin(), log.end(), "undo shrink_queues"), 1);
  EXPECT_EQ(std::count(log.begin(), log.end(), "shrink_queues"), 0);
  clock.advance(milliseconds(1));
  ladder.on_update(L::High, {});
  log = steps.take();
  EXPECT_EQ(std::count(log.begin(), log.end(), "shrink_queues"), 1);

  LadderStepStats st = ladder.stats(LadderStep::ShrinkQueues);
  EXPECT_EQ(st.runs, 3);
  EXPECT_EQ(st.undos, 2);
  EXPECT_TRUE(st.engaged);
  ladder.on_update(L::None, {});
}

TEST(DegradationLadder, ActionsAddedToAnEngagedStepRunOnceAndRemovedOnesNever) {
  fakes::FakeClock clock;
  DegradationLadder ladder(clock);
  std::vector<std::string> log;
  auto a = ladder.add_action(
      LadderStep::Backpressure, [&] { log.push_back("a"); }, [&] { log.push_back("undo a"); });
  ladder.on_update(L::Critical, {});
  EXPECT_EQ(log, std::vector<std::string>({"a"}));

  auto b = ladder.add_action(
      LadderStep::Backpressure, [&] { log.push_back("b"); }, [&] { log.push_back("undo b"); });
  ladder.on_update(L::Critical, {});
  ladder.on_update(L::Critical, {});
  EXPECT_EQ(log, std::vector<std::string>({"a", "b"}));
  EXPECT_EQ(ladder.stats(LadderStep::Backpressure).runs, 1);  // one engagement
  EXPECT_EQ(ladder.stats(LadderStep::Backpressure).actions, 2);

  a.reset();  // no undo for a removed action
  ladder.on_update(L::High, {});
  EXPECT_EQ(log, std::vector<std::string>({"a", "b", "undo b"}));
  EXPECT_EQ(ladder.stats(LadderStep::Backpressure).actions, 1);
}

TEST(DegradationLadder, AnActionMayRemoveItselfOrALaterOne) {
  fakes::FakeClock clock;
  DegradationLadder ladder(clock);
  int first = 0;
  int second = 0;
  LadderAction a;
  LadderAction b;
  a = ladder.add_action(LadderStep::TrimPools, [&] {
    ++first;
    a.reset();
    b.reset();
  });
  b = ladder.add_action(LadderStep::EvictCaches, [&] { ++second; });
  ladder.on_update(L::Moderate, {});
  EXPECT_EQ(first, 1);
  EXPECT_EQ(second, 0);
  EXPECT_FALSE(a.active());
  EXPECT_FALSE(b.active());
  EXPECT_EQ(ladder.stats(LadderStep::EvictCaches).runs, 1);  // the step ran; it had no action left
}

TEST(DegradationLadder, GivesUpAfterCriticalPersists) {
  fakes::FakeClock clock;
  DegradationLadder ladder(clock);  // give up after 10 s
  const PressureInputs in = {.ledger_ratio = 0.97, .ledger_limit_bytes = 256 * kMiB};
  ladder.on_update(L::Critical, in);
  clock.advance(milliseconds(9999));
  ladder.on_update(L::Critical, in);
  EXPECT_TRUE(ladder.status().ok());
  EXPECT_FALSE(ladder.gave_up());
  clock.advance(milliseconds(1));
  ladder.on_update(L::Critical, in);
  ASSERT_TRUE(ladder.gave_up());
  Status s = ladder.status();
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::OverBudget);
  EXPECT_EQ(s.error().message,
            "memory pressure stayed critical for 10.0 s (ledger 97% of 256.0 MiB); stopping "
            "instead of being OOM-killed");
  // Latched: recovery does not take it back.
  ladder.on_update(L::None, {});
  EXPECT_FALSE(ladder.status().ok());
}

TEST(DegradationLadder, LeavingCriticalRestartsTheDeadline) {
  fakes::FakeClock clock;
  LadderOptions options;
  options.give_up_after = seconds(3);
  DegradationLadder ladder(clock, options);
  const PressureInputs in = {.ledger_ratio = 0.96,
                             .working_set_ratio = 0.991,
                             .psi_some_avg10 = 47.26,
                             .ledger_limit_bytes = 100 * kMiB};
  ladder.on_update(L::Critical, in);
  clock.advance(seconds(2));
  ladder.on_update(L::High, in);  // t=2: out of Critical
  clock.advance(seconds(1));
  ladder.on_update(L::Critical, in);  // t=3: the deadline starts again
  clock.advance(milliseconds(2900));
  ladder.on_update(L::Critical, in);  // t=5.9: 2.9 s
  EXPECT_TRUE(ladder.status().ok());
  clock.advance(milliseconds(360));
  ladder.on_update(L::Critical, in);  // t=6.26: 3.26 s
  Status s = ladder.status();
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().message,
            "memory pressure stayed critical for 3.3 s (ledger 96% of 100.0 MiB, working set 99%, "
            "PSI some 47.3%); stopping instead of being OOM-killed");
}

TEST(DegradationLadder, GiveUpMessageWithoutAKnownLimit) {
  fakes::FakeClock clock;
  LadderOptions options;
  options.give_up_after = Clock::Duration::zero();
  DegradationLadder ladder(clock, options);
  ladder.on_update(L::Critical, ledger_at(1.02));
  Status s = ladder.status();
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().message,
            "memory pressure stayed critical for 0.0 s (ledger 102%); stopping instead of being "
            "OOM-killed");
}

TEST(DegradationLadder, StatsCountEveryStep) {
  fakes::FakeClock clock;
  DegradationLadder ladder(clock);
  LoggedSteps steps(ladder);
  for (int i = 0; i < 100; ++i) {  // 10 s at Critical, 100 ms apart
    ladder.on_update(L::Critical, ledger_at(0.99));
    clock.advance(milliseconds(100));
  }
  ladder.on_update(L::None, {});
  std::array<LadderStepStats, kLadderStepCount> st = ladder.stats();
  EXPECT_EQ(st[0].step, LadderStep::TrimPools);
  EXPECT_EQ(st[0].runs, 10);  // t = 0, 1, ..., 9 s
  EXPECT_EQ(st[1].runs, 5);   // 0, 2, 4, 6, 8
  EXPECT_EQ(st[2].runs, 2);   // 0, 5
  EXPECT_EQ(st[3].runs, 1);
  EXPECT_EQ(st[3].undos, 1);
  EXPECT_EQ(st[4].runs, 1);
  EXPECT_EQ(st[4].undos, 1);
  EXPECT_FALSE(st[4].engaged);
  EXPECT_FALSE(ladder.gave_up());  // the last sample was at 9.9 s
}

}  // namespace
}  // namespace leancut::memory
