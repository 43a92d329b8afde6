#include "memory/cache.h"

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "fakes/fake_clock.h"
#include "memory/ledger.h"

namespace leancut::memory {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

// A stand-in for a probe result: copyable, with a heap part.
struct Probe {
  std::string path;
  int64_t duration_ms = 0;
};

using ProbeCache = Cache<std::string, Probe>;

// Every test's account must be back at zero once its cache is gone.
class CacheTest : public ::testing::Test {
 protected:
  void TearDown() override {
    EXPECT_EQ(account_->current_bytes(), 0);
    EXPECT_TRUE(root_->nonzero_balances().empty());
  }

  Probe probe(const std::string& path) { return {path, static_cast<int64_t>(path.size()) * 1000}; }

  fakes::FakeClock clock_;
  std::unique_ptr<Account> root_ = Account::make_root("process", 100'000);
  std::unique_ptr<Account> account_ = root_->make_child("probe_cache", kNoLimit);
  CacheOptions options_{.capacity_bytes = 1000, .ttl = seconds(60)};
};

TEST_F(CacheTest, GetHitsAndMissesAreCounted) {
  ProbeCache cache(options_, clock_, account_.get());
  EXPECT_TRUE(cache.put("a.mp4", probe("a.mp4"), 300));
  EXPECT_TRUE(cache.put("bb.mp4", probe("bb.mp4"), 200));

  std::optional<Probe> a = cache.get("a.mp4");
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->path, "a.mp4");
  EXPECT_EQ(a->duration_ms, 5000);
  EXPECT_TRUE(cache.get("a.mp4").has_value());
  EXPECT_FALSE(cache.get("c.mp4").has_value());

  CacheStats s = cache.stats();
  EXPECT_EQ(s.entries, 2);
  EXPECT_EQ(s.bytes, 500);
  EXPECT_EQ(s.capacity_bytes, 1000);
  EXPECT_EQ(s.hits, 2);
  EXPECT_EQ(s.misses, 1);
  EXPECT_EQ(s.insertions, 2);
  EXPECT_EQ(s.evictions, 0);
  EXPECT_EQ(s.expirations, 0);
  EXPECT_EQ(s.refusals, 0);
  EXPECT_EQ(account_->current_bytes(), 500);
  EXPECT_EQ(root_->current_bytes(), 500);
  EXPECT_EQ(account_->stats().live_leases, 2);
}

TEST_F(CacheTest, EntriesExpireAtTheirTtl) {
  ProbeCache cache(options_, clock_, account_.get());  // ttl 60 s
  ASSERT_TRUE(cache.put("a.mp4", probe("a.mp4"), 300));
  clock_.advance(seconds(30));
  ASSERT_TRUE(cache.put("b.mp4", probe("b.mp4"), 100));
  clock_.advance(seconds(30) - std::chrono::nanoseconds(1));
  EXPECT_TRUE(cache.get("a.mp4").has_value());  // 1 ns before its TTL
  clock_.advance(std::chrono::nanoseconds(1));
  EXPECT_FALSE(cache.contains("a.mp4"));
  EXPECT_FALSE(cache.get("a.mp4").has_value());  // at its TTL: expired, dropped
  EXPECT_EQ(account_->current_bytes(), 100);

  CacheStats s = cache.stats();
  EXPECT_EQ(s.entries, 1);
  EXPECT_EQ(s.bytes, 100);
  EXPECT_EQ(s.hits, 1);
  EXPECT_EQ(s.misses, 1);
  EXPECT_EQ(s.expirations, 1);

  clock_.advance(seconds(30));
  EXPECT_EQ(cache.expire(), 1);  // b at its TTL too
  EXPECT_EQ(cache.stats().expirations, 2);
  EXPECT_EQ(cache.stats().bytes, 0);
  EXPECT_EQ(account_->current_bytes(), 0);
}

TEST_F(CacheTest, AFullPutEvictsLowestScoresDownToTheLowWaterMark) {
  ProbeCache cache(options_, clock_, account_.get());  // 1000 bytes, low water 800
  ASSERT_EQ(cache.low_water_bytes(), 800);
  ASSERT_TRUE(cache.put("a", probe("a"), 300));
  ASSERT_TRUE(cache.put("b", probe("b"), 300));
  ASSERT_TRUE(cache.put("c", probe("c"), 300));
  clock_.advance(seconds(10));
  for (int i = 0; i < 5; ++i) cache.get("a");  // score 6/11
  cache.get("c");                              // score 2/11; b stays at 1/11

  // 900 + 300 > 1000: evict until 300 more fits under 800, i.e. down to 500: b, then c.
  ASSERT_TRUE(cache.put("d", probe("d"), 300));
  EXPECT_TRUE(cache.contains("a"));
  EXPECT_FALSE(cache.contains("b"));
  EXPECT_FALSE(cache.contains("c"));
  EXPECT_TRUE(cache.contains("d"));
  CacheStats s = cache.stats();
  EXPECT_EQ(s.bytes, 600);
  EXPECT_EQ(s.evictions, 2);
  EXPECT_EQ(account_->current_bytes(), 600);
}

TEST_F(CacheTest, ScoreIsHitsPerAgeSoOldFavouritesFade) {
  CacheOptions long_lived = options_;
  long_lived.ttl = std::chrono::hours(1);  // nothing expires here
  ProbeCache cache(long_lived, clock_, account_.get());
  ASSERT_TRUE(cache.put("old", probe("old"), 400));
  for (int i = 0; i < 10; ++i) cache.get("old");
  clock_.advance(seconds(98));
  ASSERT_TRUE(cache.put("new", probe("new"), 400));  // t=98
  clock_.advance(seconds(1));
  // t=99: old (10 hits over 99 s) scores 11/100; new (no hits, 1 s) scores 1/2.
  ASSERT_TRUE(cache.put("next", probe("next"), 400));
  EXPECT_FALSE(cache.contains("old"));
  EXPECT_TRUE(cache.contains("new"));
  EXPECT_TRUE(cache.contains("next"));
  EXPECT_EQ(cache.stats().evictions, 1);
  EXPECT_EQ(cache.stats().expirations, 0);
}

TEST_F(CacheTest, TiesGoToTheOldestPut) {
  ProbeCache cache(options_, clock_, account_.get());
  ASSERT_TRUE(cache.put("first", probe("first"), 250));
  ASSERT_TRUE(cache.put("second", probe("second"), 250));
  ASSERT_TRUE(cache.put("third", probe("third"), 250));
  ASSERT_TRUE(cache.put("fourth", probe("fourth"), 250));  // exactly full
  EXPECT_EQ(cache.stats().evictions, 0);
  // Equal scores (same time, no hits); room for 250 under 800 means down to 550: two go.
  ASSERT_TRUE(cache.put("fifth", probe("fifth"), 250));
  EXPECT_FALSE(cache.contains("first"));
  EXPECT_FALSE(cache.contains("second"));
  EXPECT_TRUE(cache.contains("third"));
  EXPECT_TRUE(cache.contains("fourth"));
  EXPECT_TRUE(cache.contains("fifth"));
  EXPECT_EQ(cache.stats().bytes, 750);
}

TEST_F(CacheTest, ExpiredEntriesGoBeforeAnyLiveOne) {
  ProbeCache cache(options_, clock_, account_.get());
  ASSERT_TRUE(cache.put("stale", probe("stale"), 300));
  for (int i = 0; i < 100; ++i) cache.get("stale");  // a high score does not save it
  clock_.advance(seconds(50));
  ASSERT_TRUE(cache.put("x", probe("x"), 300));
  ASSERT_TRUE(cache.put("y", probe("y"), 300));
  clock_.advance(seconds(10));                   // stale: 60 s old, expired
  ASSERT_TRUE(cache.put("z", probe("z"), 300));  // 900 + 300: dropping stale is enough
  CacheStats s = cache.stats();
  EXPECT_EQ(s.expirations, 1);
  EXPECT_EQ(s.evictions, 0);
  EXPECT_EQ(s.bytes, 900);
  EXPECT_TRUE(cache.contains("x"));
  EXPECT_TRUE(cache.contains("y"));
  EXPECT_TRUE(cache.contains("z"));
}

TEST_F(CacheTest, EvictToLowWaterForTheLadder) {
  ProbeCache cache(options_, clock_, account_.get());
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(cache.put("k" + std::to_string(i), probe("p"), 100));
    clock_.advance(seconds(1));
  }
  for (int i = 2; i < 10; ++i) cache.get("k" + std::to_string(i));  // k0, k1 never read
  EXPECT_EQ(cache.stats().bytes, 1000);
  EXPECT_EQ(cache.evict_to_low_water(), 200);
  EXPECT_FALSE(cache.contains("k0"));
  EXPECT_FALSE(cache.contains("k1"));
  EXPECT_TRUE(cache.contains("k2"));
  CacheStats s = cache.stats();
  EXPECT_EQ(s.bytes, 800);
  EXPECT_EQ(s.entries, 8);
  EXPECT_EQ(s.evictions, 2);
  EXPECT_EQ(account_->current_bytes(), 800);
  EXPECT_EQ(cache.evict_to_low_water(), 0);  // already there
}

TEST_F(CacheTest, LowWaterFractionIsAnOption) {
  CacheOptions half = options_;
  half.low_water_fraction = 0.5;
  ProbeCache cache(half, clock_, account_.get());
  EXPECT_EQ(cache.low_water_bytes(), 500);
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(cache.put("k" + std::to_string(i), probe("p"), 100));
  EXPECT_EQ(cache.evict_to_low_water(), 500);
  EXPECT_EQ(cache.stats().entries, 5);
}

TEST_F(CacheTest, RefusedChargesAreNotCached) {
  auto small = root_->make_child("small_cache", 250);
  {
    ProbeCache cache(options_, clock_, small.get());
    EXPECT_TRUE(cache.put("a", probe("a"), 200));
    EXPECT_FALSE(cache.put("b", probe("b"), 100));  // the account refuses: 300 > 250
    EXPECT_FALSE(cache.get("b").has_value());
    EXPECT_FALSE(cache.put("huge", probe("huge"), 1001));  // larger than the capacity
    CacheStats s = cache.stats();
    EXPECT_EQ(s.entries, 1);
    EXPECT_EQ(s.bytes, 200);
    EXPECT_EQ(s.refusals, 2);
    EXPECT_EQ(s.insertions, 1);
    EXPECT_EQ(small->current_bytes(), 200);
    EXPECT_EQ(small->stats().refusals, 1);
  }
  EXPECT_EQ(small->current_bytes(), 0);
}

TEST_F(CacheTest, ReplacingAnEntryRechargesIt) {
  ProbeCache cache(options_, clock_, account_.get());
  ASSERT_TRUE(cache.put("a", probe("a"), 300));
  ASSERT_TRUE(cache.put("a", {"a2", 7}, 120));
  EXPECT_EQ(cache.get("a")->path, "a2");
  EXPECT_EQ(cache.stats().entries, 1);
  EXPECT_EQ(cache.stats().bytes, 120);
  EXPECT_EQ(account_->current_bytes(), 120);
  EXPECT_EQ(account_->stats().live_leases, 1);
  EXPECT_TRUE(cache.erase("a"));
  EXPECT_FALSE(cache.erase("a"));
  EXPECT_EQ(account_->current_bytes(), 0);
}

TEST_F(CacheTest, ClearAndDestructionCreditTheAccount) {
  {
    ProbeCache cache(options_, clock_, account_.get());
    ASSERT_TRUE(cache.put("a", probe("a"), 300));
    ASSERT_TRUE(cache.put("b", probe("b"), 300));
    cache.clear();
    EXPECT_EQ(account_->current_bytes(), 0);
    EXPECT_EQ(cache.stats().evictions, 2);
    ASSERT_TRUE(cache.put("c", probe("c"), 400));
    EXPECT_EQ(account_->current_bytes(), 400);
  }
  EXPECT_EQ(account_->current_bytes(), 0);
  EXPECT_EQ(account_->peak_bytes(), 600);
}

TEST_F(CacheTest, WithoutAnAccountNothingIsCharged) {
  ProbeCache cache(options_, clock_, nullptr);
  ASSERT_TRUE(cache.put("a", probe("a"), 300));
  EXPECT_EQ(cache.stats().bytes, 300);
  EXPECT_EQ(account_->current_bytes(), 0);
  EXPECT_EQ(root_->current_bytes(), 0);
}

TEST_F(CacheTest, NeverExpiringTtl) {
  CacheOptions forever = options_;
  forever.ttl = Clock::Duration::max();
  ProbeCache cache(forever, clock_, account_.get());
  ASSERT_TRUE(cache.put("a", probe("a"), 1));
  clock_.advance(std::chrono::hours(24 * 365));
  EXPECT_TRUE(cache.get("a").has_value());
}

TEST_F(CacheTest, ConcurrentUseKeepsBytesAndAccountInStep) {
  ProbeCache cache({.capacity_bytes = 5000, .ttl = seconds(60)}, clock_, account_.get());
  auto worker = [&](int seed) {
    for (int i = 0; i < 5000; ++i) {
      const std::string key = "k" + std::to_string((i * 7 + seed) % 97);
      if (i % 3 == 0) {
        cache.put(key, probe(key), 50 + (i % 5) * 40);
      } else if (i % 11 == 0) {
        cache.evict_to_low_water();
      } else {
        cache.get(key);
      }
    }
  };
  std::thread t1(worker, 1);
  std::thread t2(worker, 2);
  t1.join();
  t2.join();
  CacheStats s = cache.stats();
  EXPECT_EQ(s.bytes, account_->current_bytes());
  EXPECT_LE(s.bytes, 5000);
  EXPECT_EQ(s.hits + s.misses, 2 * (5000 - 1667 - 303));
}

}  // namespace
}  // namespace leancut::memory
