// BoundedQueue: the items and bytes bounds hold under real producer/consumer threads, an
// oversized item still passes an empty queue, close drains, cancel wakes everyone. Threads are
// synchronised with futures and condition waits with timeouts, never sleeps.
#include "engine/bounded_queue.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <random>
#include <thread>
#include <vector>

namespace leancut::engine {
namespace {

using namespace std::chrono_literals;

// Long enough that a blocked call is really blocked, short enough to keep the suite fast. Only
// ever used to assert that something did NOT happen yet; positive waits use kDeadline.
constexpr auto kStillBlocked = 100ms;
constexpr auto kDeadline = 10s;

template <typename T>
bool finishes(std::future<T>& f, std::chrono::milliseconds within = kDeadline) {
  return f.wait_for(within) == std::future_status::ready;
}

// Counts destructions, to see what becomes of items the queue refuses or drops.
struct Tracked {
  explicit Tracked(int v, std::atomic<int>* d) : value(v), destroyed(d) {}
  Tracked(Tracked&& o) noexcept : value(o.value), destroyed(o.destroyed) { o.destroyed = nullptr; }
  Tracked& operator=(Tracked&&) = delete;
  ~Tracked() {
    if (destroyed != nullptr) ++*destroyed;
  }
  int value;
  std::atomic<int>* destroyed;
};

TEST(BoundedQueue, ProducerBlocksAtTheItemBoundUntilAPop) {
  BoundedQueue<int> q({.max_items = 3, .max_bytes = 1 << 20});
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(q.push(i, 10));
  auto producer = std::async(std::launch::async, [&] { return q.push(3, 10); });
  EXPECT_FALSE(finishes(producer, kStillBlocked)) << "a 4th item got past max_items = 3";
  EXPECT_EQ(q.pop(), 0);
  ASSERT_TRUE(finishes(producer));
  EXPECT_TRUE(producer.get());
  for (int i = 1; i <= 3; ++i) EXPECT_EQ(q.pop(), i);
  QueueStats st = q.stats();
  EXPECT_EQ(st.peak_items, 3u);
  EXPECT_EQ(st.pushes, 4u);
  EXPECT_EQ(st.producer_waits, 1u);
}

TEST(BoundedQueue, ProducerBlocksAtTheByteBoundUntilThereIsRoom) {
  BoundedQueue<int> q({.max_items = 100, .max_bytes = 100});
  ASSERT_TRUE(q.push(1, 60));
  ASSERT_TRUE(q.push(2, 40));  // exactly at the bound is allowed
  EXPECT_EQ(q.bytes(), 100u);
  auto producer = std::async(std::launch::async, [&] { return q.push(3, 30); });
  EXPECT_FALSE(finishes(producer, kStillBlocked)) << "130 bytes queued with max_bytes = 100";
  EXPECT_EQ(q.pop(), 1);  // frees 60: 40 + 30 fits
  ASSERT_TRUE(finishes(producer));
  EXPECT_TRUE(producer.get());
  EXPECT_EQ(q.bytes(), 70u);
  EXPECT_LE(q.stats().peak_bytes, 100u);
}

TEST(BoundedQueue, OversizedItemIsAdmittedOnlyWhenEmpty) {
  BoundedQueue<int> q({.max_items = 4, .max_bytes = 100});
  auto first = std::async(std::launch::async, [&] { return q.push(1, 1000); });
  ASSERT_TRUE(finishes(first)) << "an oversized item must pass an empty queue";
  EXPECT_TRUE(first.get());
  // Now the queue holds 1000 bytes: even a 1-byte item waits.
  auto second = std::async(std::launch::async, [&] { return q.push(2, 1); });
  EXPECT_FALSE(finishes(second, kStillBlocked));
  EXPECT_EQ(q.pop(), 1);
  ASSERT_TRUE(finishes(second));
  EXPECT_TRUE(second.get());
  // And an oversized item waits behind a small one until the queue is empty again.
  auto third = std::async(std::launch::async, [&] { return q.push(3, 500); });
  EXPECT_FALSE(finishes(third, kStillBlocked));
  EXPECT_EQ(q.pop(), 2);
  ASSERT_TRUE(finishes(third));
  EXPECT_EQ(q.pop(), 3);
}

TEST(BoundedQueue, CloseLetsTheConsumerDrainThenEnds) {
  BoundedQueue<int> q({.max_items = 8, .max_bytes = 1000});
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(q.push(i, 1));
  q.close();
  for (int i = 0; i < 5; ++i) EXPECT_EQ(q.pop(), i);
  auto end = std::async(std::launch::async, [&] { return q.pop(); });
  ASSERT_TRUE(finishes(end)) << "pop on a closed, drained queue must not block";
  EXPECT_EQ(end.get(), std::nullopt);
}

TEST(BoundedQueue, CloseWakesAWaitingConsumer) {
  BoundedQueue<int> q({.max_items = 8, .max_bytes = 1000});
  auto consumer = std::async(std::launch::async, [&] { return q.pop(); });
  EXPECT_FALSE(finishes(consumer, kStillBlocked));
  q.close();
  ASSERT_TRUE(finishes(consumer));
  EXPECT_EQ(consumer.get(), std::nullopt);
}

TEST(BoundedQueue, CancelWakesABlockedProducerAndDestroysItsItem) {
  std::atomic<int> destroyed{0};
  BoundedQueue<Tracked> q({.max_items = 1, .max_bytes = 1000});
  ASSERT_TRUE(q.push(Tracked(1, &destroyed), 1));
  auto producer = std::async(std::launch::async, [&] { return q.push(Tracked(2, &destroyed), 1); });
  EXPECT_FALSE(finishes(producer, kStillBlocked));
  q.cancel();
  ASSERT_TRUE(finishes(producer)) << "cancel did not wake the blocked producer";
  EXPECT_FALSE(producer.get());
  // The refused item and the one left in the queue are both gone.
  EXPECT_EQ(destroyed.load(), 2);
  EXPECT_EQ(q.pop(), std::nullopt);
  EXPECT_FALSE(q.push(Tracked(3, &destroyed), 1));
  EXPECT_EQ(destroyed.load(), 3);
  EXPECT_EQ(q.bytes(), 0u);
}

TEST(BoundedQueue, CancelWakesABlockedConsumer) {
  BoundedQueue<int> q({.max_items = 4, .max_bytes = 1000});
  auto consumer = std::async(std::launch::async, [&] { return q.pop(); });
  EXPECT_FALSE(finishes(consumer, kStillBlocked));
  q.cancel();
  ASSERT_TRUE(finishes(consumer)) << "cancel did not wake the blocked consumer";
  EXPECT_EQ(consumer.get(), std::nullopt);
}

TEST(BoundedQueue, CancelAfterCloseStillDropsWhatIsLeft) {
  BoundedQueue<int> q({.max_items = 4, .max_bytes = 1000});
  ASSERT_TRUE(q.push(1, 1));
  q.close();
  q.cancel();
  EXPECT_EQ(q.pop(), std::nullopt);
}

// A producer and a consumer at full speed: FIFO order, nothing lost, and neither bound is ever
// exceeded (the consumer samples the queue's bytes as it goes; the stats keep the peaks).
TEST(BoundedQueue, BoundsHoldUnderAProducerConsumerPair) {
  constexpr std::size_t kMaxItems = 5;
  constexpr std::size_t kMaxBytes = 1000;
  constexpr int kItems = 20000;
  BoundedQueue<std::pair<int, std::size_t>> q({.max_items = kMaxItems, .max_bytes = kMaxBytes});
  std::mt19937 rng(42);
  std::uniform_int_distribution<std::size_t> size(1, 400);
  std::vector<std::size_t> sizes(kItems);
  for (auto& s : sizes) s = size(rng);

  auto producer = std::async(std::launch::async, [&] {
    for (int i = 0; i < kItems; ++i) {
      if (!q.push({i, sizes[i]}, sizes[i])) return false;
    }
    q.close();
    return true;
  });
  int expected = 0;
  std::size_t max_seen = 0;
  bool in_order = true;
  while (auto item = q.pop()) {
    in_order = in_order && item->first == expected && item->second == sizes[expected];
    ++expected;
    max_seen = std::max(max_seen, q.bytes());
  }
  ASSERT_TRUE(finishes(producer));
  EXPECT_TRUE(producer.get());
  EXPECT_TRUE(in_order);
  EXPECT_EQ(expected, kItems);
  EXPECT_LE(max_seen, kMaxBytes);
  QueueStats st = q.stats();
  EXPECT_LE(st.peak_items, kMaxItems);
  EXPECT_LE(st.peak_bytes, kMaxBytes);
  EXPECT_EQ(st.pushes, static_cast<uint64_t>(kItems));
  EXPECT_EQ(q.bytes(), 0u);
}

// "more are fine too": several producers, one consumer; every item arrives, bounds hold.
TEST(BoundedQueue, SeveralProducersAllGetThrough) {
  constexpr int kProducers = 4;
  constexpr int kEach = 5000;
  BoundedQueue<int> q({.max_items = 3, .max_bytes = 300});
  std::vector<std::future<bool>> producers;
  for (int p = 0; p < kProducers; ++p) {
    producers.push_back(std::async(std::launch::async, [&q, p] {
      for (int i = 0; i < kEach; ++i) {
        // Mixed sizes, one of them the whole byte budget.
        std::size_t bytes = p == 0 ? 300 : static_cast<std::size_t>(1 + (i * 37 + p) % 150);
        if (!q.push(p * kEach + i, bytes)) return false;
      }
      return true;
    }));
  }
  auto closer = std::async(std::launch::async, [&] {
    bool ok = true;
    for (auto& f : producers) ok = f.get() && ok;
    q.close();
    return ok;
  });
  std::vector<int> last(kProducers, -1);
  bool per_producer_order = true;
  auto consumer = std::async(std::launch::async, [&] {
    int received = 0;
    while (auto v = q.pop()) {
      int p = *v / kEach;
      per_producer_order = per_producer_order && *v > last[p];
      last[p] = *v;
      ++received;
    }
    return received;
  });
  if (!finishes(consumer, 60s)) {
    q.cancel();  // unblock everyone so the test fails instead of hanging
    FAIL() << "producers or consumer stuck: a lost wake-up";
  }
  ASSERT_TRUE(finishes(closer));
  EXPECT_TRUE(closer.get());
  EXPECT_EQ(consumer.get(), kProducers * kEach);
  EXPECT_TRUE(per_producer_order);
  EXPECT_LE(q.stats().peak_items, 3u);
  EXPECT_LE(q.stats().peak_bytes, 300u);
}

}  // namespace
}  // namespace leancut::engine
