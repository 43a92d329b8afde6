#include "memory/ledger.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

namespace leancut::memory {
namespace {

using std::chrono::milliseconds;

TEST(Ledger, LeaseChargesEveryLevelAndCreditsOnDestruction) {
  auto process = Account::make_root("process", 1000);
  auto job = process->make_child("job", 600);
  auto frames = job->make_child("frames", kNoLimit);
  {
    Result<Lease> a = frames->try_reserve(250);
    ASSERT_TRUE(a.ok()) << a.error().message;
    EXPECT_EQ(a.value().bytes(), 250);
    EXPECT_EQ(frames->current_bytes(), 250);
    EXPECT_EQ(job->current_bytes(), 250);
    EXPECT_EQ(process->current_bytes(), 250);
    EXPECT_EQ(frames->stats().live_leases, 1);
  }
  EXPECT_EQ(frames->current_bytes(), 0);
  EXPECT_EQ(job->current_bytes(), 0);
  EXPECT_EQ(process->current_bytes(), 0);
  EXPECT_EQ(frames->peak_bytes(), 250);
  EXPECT_EQ(process->peak_bytes(), 250);
  EXPECT_EQ(frames->stats().reservations, 1);
  EXPECT_TRUE(process->nonzero_balances().empty());
}

TEST(Ledger, RefusalAtAnyLevelChargesNothingAndNamesTheLevel) {
  auto process = Account::make_root("process", 1000);
  auto job = process->make_child("job", 600);
  auto frames = job->make_child("frames", kNoLimit);
  auto other = process->make_child("other", kNoLimit);

  Result<Lease> held = other->try_reserve(500);
  ASSERT_TRUE(held.ok());
  Result<Lease> a = frames->try_reserve(550);  // fits the job (600), not the process (500 left)
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(a.error().code, ErrorCode::OverBudget);
  EXPECT_NE(a.error().message.find("process cannot take"), std::string::npos) << a.error().message;
  EXPECT_EQ(frames->current_bytes(), 0);
  EXPECT_EQ(job->current_bytes(), 0);
  EXPECT_EQ(process->current_bytes(), 500);

  Result<Lease> b = frames->try_reserve(601);  // passes the job's own limit
  ASSERT_FALSE(b.ok());
  EXPECT_NE(b.error().message.find("process/job cannot take"), std::string::npos)
      << b.error().message;
  EXPECT_EQ(frames->stats().refusals, 2);

  Result<Lease> c = frames->try_reserve(500);  // exactly fills the process
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(process->current_bytes(), 1000);
}

TEST(Ledger, MoveTransfersAndShrinkCredits) {
  auto root = Account::make_root("root", 100);
  Lease outer;
  {
    Result<Lease> r = root->try_reserve(80);
    ASSERT_TRUE(r.ok());
    Lease moved = std::move(r.value());
    EXPECT_TRUE(r.value().empty());
    moved.shrink_to(30);
    EXPECT_EQ(root->current_bytes(), 30);
    outer = std::move(moved);
  }
  EXPECT_EQ(root->current_bytes(), 30);
  EXPECT_EQ(outer.bytes(), 30);
  outer.release();
  EXPECT_EQ(root->current_bytes(), 0);
  EXPECT_EQ(root->stats().live_leases, 0);
}

TEST(Ledger, ReserveWaitsForARelease) {
  auto root = Account::make_root("root", 100);
  auto comp = root->make_child("comp", kNoLimit);
  Result<Lease> first = comp->try_reserve(90);
  ASSERT_TRUE(first.ok());

  std::atomic<bool> granted{false};
  std::thread waiter([&] {
    Result<Lease> second = comp->reserve(50, milliseconds(10'000));
    EXPECT_TRUE(second.ok());
    granted = true;
  });
  std::this_thread::sleep_for(milliseconds(50));
  EXPECT_FALSE(granted.load());
  first.value().release();
  waiter.join();
  EXPECT_TRUE(granted.load());
  EXPECT_EQ(comp->stats().waits, 1);
  EXPECT_EQ(root->current_bytes(), 0);
}

// Memory libav already allocated is charged past the limit (counted as an overdraft), and the
// admission point — reserve() — then waits until it is credited back under.
TEST(Ledger, ChargeExistingNeverRefusesAndHoldsBackReserves) {
  auto job = Account::make_root("job", 100);
  auto frames = job->make_child("decoded_frames", kNoLimit);
  auto packets = job->make_child("packets", kNoLimit);
  Result<Lease> frame = frames->try_reserve(80);
  ASSERT_TRUE(frame.ok());
  Lease packet = packets->charge_existing(60);
  EXPECT_EQ(packet.bytes(), 60);
  EXPECT_EQ(job->current_bytes(), 140);
  EXPECT_EQ(job->peak_bytes(), 140);
  EXPECT_EQ(job->stats().overdrafts, 1);
  EXPECT_EQ(packets->stats().overdrafts, 0);  // its own limit was not passed
  EXPECT_EQ(packets->stats().reservations, 1);

  frame.value().release();  // 60 in use: a 50-byte reserve must still wait for the packet
  std::atomic<bool> granted{false};
  std::thread waiter([&] {
    Result<Lease> next = frames->reserve(50, milliseconds(10'000));
    EXPECT_TRUE(next.ok());
    granted = true;
  });
  std::this_thread::sleep_for(milliseconds(50));
  EXPECT_FALSE(granted.load());
  packet.release();
  waiter.join();
  EXPECT_TRUE(granted.load());
  EXPECT_EQ(job->current_bytes(), 0);
  EXPECT_TRUE(job->nonzero_balances().empty());
}

TEST(Ledger, ReserveTimesOutWithAClearError) {
  auto root = Account::make_root("root", 100);
  Result<Lease> held = root->try_reserve(100);
  ASSERT_TRUE(held.ok());
  const auto t0 = std::chrono::steady_clock::now();
  Result<Lease> r = root->reserve(1, milliseconds(60));
  const auto waited = std::chrono::steady_clock::now() - t0;
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::OverBudget);
  EXPECT_NE(r.error().message.find("after waiting 60 ms"), std::string::npos) << r.error().message;
  EXPECT_GE(waited, milliseconds(60));
}

TEST(Ledger, ReserveLargerThanTheLimitFailsAtOnce) {
  auto root = Account::make_root("root", 100);
  const auto t0 = std::chrono::steady_clock::now();
  Result<Lease> r = root->reserve(101, milliseconds(5'000));
  EXPECT_FALSE(r.ok());
  EXPECT_LT(std::chrono::steady_clock::now() - t0, milliseconds(1'000));
}

TEST(Ledger, ReserveIsCancelledByStopToken) {
  auto root = Account::make_root("root", 10);
  Result<Lease> held = root->try_reserve(10);
  ASSERT_TRUE(held.ok());
  std::stop_source stop;
  std::thread canceller([&] {
    std::this_thread::sleep_for(milliseconds(30));
    stop.request_stop();
  });
  Result<Lease> r = root->reserve(5, milliseconds(10'000), stop.get_token());
  canceller.join();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::Cancelled);
}

TEST(Ledger, RaisingTheLimitWakesWaiters) {
  auto root = Account::make_root("root", 10);
  Result<Lease> held = root->try_reserve(10);
  ASSERT_TRUE(held.ok());
  std::thread raiser([&] {
    std::this_thread::sleep_for(milliseconds(30));
    root->set_limit(20);
  });
  Result<Lease> r = root->reserve(5, milliseconds(10'000));
  raiser.join();
  EXPECT_TRUE(r.ok());
}

TEST(Ledger, NeverExceedsTheLimitUnderContention) {
  constexpr int64_t kLimit = 1000;
  auto root = Account::make_root("root", kLimit);
  auto a = root->make_child("a", kNoLimit);
  auto b = root->make_child("b", kNoLimit);
  std::vector<std::thread> threads;
  std::atomic<int64_t> granted{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      Account& acc = t % 2 == 0 ? *a : *b;
      for (int i = 0; i < 20'000; ++i) {
        Result<Lease> l = acc.try_reserve(7 + (i % 5) * 60);
        if (l.ok()) {
          granted.fetch_add(1);
          EXPECT_LE(root->current_bytes(), kLimit);
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_GT(granted.load(), 0);
  EXPECT_LE(root->peak_bytes(), kLimit);
  EXPECT_EQ(root->current_bytes(), 0);
  EXPECT_EQ(a->current_bytes() + b->current_bytes(), 0);
}

TEST(Ledger, BlockedProducersAllFinishWhenConsumersRelease) {
  // Four producers each need 40 of a 100 budget; at most two hold a lease at once.
  auto root = Account::make_root("root", 100);
  std::atomic<int> holding{0};
  std::atomic<int> max_holding{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 200; ++i) {
        Result<Lease> l = root->reserve(40, milliseconds(10'000));
        ASSERT_TRUE(l.ok()) << l.error().message;
        const int now = holding.fetch_add(1) + 1;
        int seen = max_holding.load();
        while (now > seen && !max_holding.compare_exchange_weak(seen, now)) {
        }
        holding.fetch_sub(1);
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_LE(max_holding.load(), 2);
  EXPECT_LE(root->peak_bytes(), 100);
  EXPECT_EQ(root->current_bytes(), 0);
}

TEST(Ledger, NonzeroBalancesNameTheAccount) {
  auto root = Account::make_root("process", kNoLimit);
  auto job = root->make_child("job", kNoLimit);
  auto packets = job->make_child("packets", kNoLimit);
  Result<Lease> leaked = packets->try_reserve(4096);
  ASSERT_TRUE(leaked.ok());
  auto balances = root->nonzero_balances();
  ASSERT_EQ(balances.size(), 3u);
  EXPECT_EQ(balances[2].path, "process/job/packets");
  EXPECT_EQ(balances[2].current_bytes, 4096);
  EXPECT_EQ(balances[2].live_leases, 1);
  leaked.value().release();
  EXPECT_TRUE(root->nonzero_balances().empty());
}

TEST(Ledger, SubtreeStatsAndPeakReset) {
  auto root = Account::make_root("p", kNoLimit);
  auto x = root->make_child("x", kNoLimit);
  auto y = root->make_child("y", 50);
  {
    Result<Lease> l = x->try_reserve(30);
    ASSERT_TRUE(l.ok());
  }
  auto stats = root->subtree_stats();
  ASSERT_EQ(stats.size(), 3u);
  EXPECT_EQ(stats[0].path, "p");
  EXPECT_EQ(stats[1].path, "p/x");
  EXPECT_EQ(stats[1].peak_bytes, 30);
  EXPECT_EQ(stats[2].path, "p/y");
  EXPECT_EQ(stats[2].limit_bytes, 50);
  root->reset_peaks();
  EXPECT_EQ(x->peak_bytes(), 0);
  EXPECT_EQ(root->peak_bytes(), 0);
}

TEST(Ledger, InjectedFailuresExerciseCallers) {
  auto root = Account::make_root("root", kNoLimit);
  root->set_failure_one_in_for_test(3);
  int failed = 0;
  for (int i = 0; i < 9; ++i) {
    Result<Lease> l = root->try_reserve(1);
    if (!l.ok()) {
      ++failed;
      EXPECT_NE(l.error().message.find("injected"), std::string::npos);
    }
  }
  EXPECT_EQ(failed, 3);
  EXPECT_EQ(root->current_bytes(), 0);
}

TEST(LedgerDeathTest, DestroyingAnAccountWithALiveLeaseIsABug) {
  EXPECT_DEATH(
      {
        auto root = Account::make_root("root", kNoLimit);
        Result<Lease> l = root->try_reserve(1);
        Lease kept = std::move(l.value());
        root.reset();
      },
      "live_leases");
}

}  // namespace
}  // namespace leancut::memory
