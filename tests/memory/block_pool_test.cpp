#include "memory/block_pool.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <thread>

namespace leancut::memory {
namespace {

using std::chrono::milliseconds;

TEST(BlockPool, ReusesBlocksOfTheSameSizeAndChargesTheAccount) {
  auto account = Account::make_root("frames", kNoLimit);
  {
    BlockPool pool(account.get(), {.max_idle_bytes = 10'000});
    Result<BlockPool::Block> a = pool.acquire(1000, milliseconds(0));
    ASSERT_TRUE(a.ok());
    EXPECT_EQ(reinterpret_cast<uintptr_t>(a.value().data()) % BlockPool::kAlignment, 0u);
    uint8_t* first = a.value().data();
    EXPECT_EQ(account->current_bytes(), 1000);
    pool.give_back(std::move(a.value()));
    EXPECT_EQ(account->current_bytes(), 1000);  // idle memory stays charged

    Result<BlockPool::Block> b = pool.acquire(1000, milliseconds(0));
    ASSERT_TRUE(b.ok());
    EXPECT_EQ(b.value().data(), first);
    Result<BlockPool::Block> c = pool.acquire(2000, milliseconds(0));
    ASSERT_TRUE(c.ok());
    EXPECT_EQ(account->current_bytes(), 3000);
    BlockPoolStats s = pool.stats();
    EXPECT_EQ(s.acquires, 3);
    EXPECT_EQ(s.reuses, 1);
    EXPECT_EQ(s.allocations, 2);
    EXPECT_EQ(s.outstanding_bytes, 3000);
    EXPECT_EQ(s.idle_bytes, 0);
    pool.give_back(std::move(b.value()));
    pool.give_back(std::move(c.value()));
    EXPECT_EQ(pool.stats().idle_bytes, 3000);
  }
  EXPECT_EQ(account->current_bytes(), 0);  // the pool freed its idle blocks
}

// Fresh blocks are zeroed and aligned whether they come from malloc (small) or their own
// mapping (large: 3 MB, a 1080p picture); a large block's memory leaves RSS when it is freed.
TEST(BlockPool, FreshBlocksAreZeroedAndAlignedSmallOrLarge) {
  auto account = Account::make_root("frames", kNoLimit);
  BlockPool pool(account.get(), {.max_idle_bytes = 0});
  for (int64_t size : {int64_t{1000}, int64_t{3'133'440}}) {
    Result<BlockPool::Block> b = pool.acquire(size, milliseconds(0));
    ASSERT_TRUE(b.ok());
    EXPECT_EQ(reinterpret_cast<uintptr_t>(b.value().data()) % BlockPool::kAlignment, 0u);
    int64_t nonzero = 0;
    for (int64_t i = 0; i < size; ++i) nonzero += b.value().data()[i] != 0 ? 1 : 0;
    EXPECT_EQ(nonzero, 0) << size;
    std::fill(b.value().data(), b.value().data() + size, uint8_t{0xab});  // writable throughout
    pool.give_back(std::move(b.value()));                                 // no idle room: freed
    EXPECT_EQ(account->current_bytes(), 0);
  }
  EXPECT_EQ(pool.stats().frees, 2);
}

TEST(BlockPool, IdleMemoryIsCappedAndTrimmable) {
  auto account = Account::make_root("frames", kNoLimit);
  BlockPool pool(account.get(), {.max_idle_bytes = 2500});
  std::vector<BlockPool::Block> blocks;
  for (int i = 0; i < 4; ++i) {
    Result<BlockPool::Block> b = pool.acquire(1000, milliseconds(0));
    ASSERT_TRUE(b.ok());
    blocks.push_back(std::move(b.value()));
  }
  for (auto& b : blocks) pool.give_back(std::move(b));
  EXPECT_EQ(pool.stats().idle_bytes, 2000);  // the third and fourth would pass 2500
  EXPECT_EQ(pool.stats().frees, 2);
  EXPECT_EQ(account->current_bytes(), 2000);
  EXPECT_EQ(pool.trim(1000), 1000);
  EXPECT_EQ(account->current_bytes(), 1000);
  pool.set_max_idle_bytes(0);
  EXPECT_EQ(pool.stats().idle_bytes, 0);
  EXPECT_EQ(account->current_bytes(), 0);
}

TEST(BlockPool, AtTheLimitIdleBlocksOfOtherSizesAreFreedFirst) {
  auto account = Account::make_root("frames", 3000);
  BlockPool pool(account.get(), {.max_idle_bytes = 10'000});
  Result<BlockPool::Block> big = pool.acquire(2900, milliseconds(0));  // > 2.5 x 1000
  ASSERT_TRUE(big.ok());
  pool.give_back(std::move(big.value()));  // idle, still charged
  Result<BlockPool::Block> small = pool.acquire(1000, milliseconds(0));
  ASSERT_TRUE(small.ok()) << small.error().message;
  EXPECT_EQ(pool.stats().idle_bytes, 0);
  EXPECT_EQ(account->current_bytes(), 1000);
  pool.give_back(std::move(small.value()));
}

TEST(BlockPool, WaitsForBudgetThenFailsClearly) {
  auto account = Account::make_root("frames", 1500);
  BlockPool pool(account.get(), {.max_idle_bytes = 0});
  Result<BlockPool::Block> a = pool.acquire(1000, milliseconds(0));
  ASSERT_TRUE(a.ok());
  Result<BlockPool::Block> refused = pool.acquire(1000, milliseconds(20));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::OverBudget);

  std::thread consumer([&] {
    std::this_thread::sleep_for(milliseconds(30));
    pool.give_back(std::move(a.value()));
  });
  Result<BlockPool::Block> waited = pool.acquire(1000, milliseconds(10'000));
  consumer.join();
  ASSERT_TRUE(waited.ok());
  pool.give_back(std::move(waited.value()));
  EXPECT_EQ(account->current_bytes(), 0);
}

TEST(BlockPool, ABiggerIdleBlockServesASmallerRequestWithinTheWasteBound) {
  auto account = Account::make_root("frames", kNoLimit);
  BlockPool pool(account.get(), {.max_idle_bytes = 1 << 20});
  Result<BlockPool::Block> big = pool.acquire(2400, milliseconds(0));
  ASSERT_TRUE(big.ok());
  uint8_t* data = big.value().data();
  pool.give_back(std::move(big.value()));

  Result<BlockPool::Block> too_small = pool.acquire(900, milliseconds(0));  // 2400 > 2.5 x 900
  ASSERT_TRUE(too_small.ok());
  EXPECT_NE(too_small.value().data(), data);
  Result<BlockPool::Block> fits = pool.acquire(1000, milliseconds(0));
  ASSERT_TRUE(fits.ok());
  EXPECT_EQ(fits.value().data(), data);
  EXPECT_EQ(fits.value().size(), 2400);  // keeps its full size (and charge)
  EXPECT_EQ(account->current_bytes(), 3300);
  pool.give_back(std::move(too_small.value()));
  pool.give_back(std::move(fits.value()));
  EXPECT_EQ(pool.stats().idle_bytes, 3300);
  EXPECT_EQ(pool.stats().outstanding_bytes, 0);
}

TEST(BlockPool, ReuseRate) {
  auto account = Account::make_root("frames", kNoLimit);
  BlockPool pool(account.get(), {.max_idle_bytes = 1 << 20});
  for (int i = 0; i < 100; ++i) {
    Result<BlockPool::Block> b = pool.acquire(4096, milliseconds(0));
    ASSERT_TRUE(b.ok());
    pool.give_back(std::move(b.value()));
  }
  EXPECT_DOUBLE_EQ(pool.stats().reuse_rate(), 0.99);
}

}  // namespace
}  // namespace leancut::memory
