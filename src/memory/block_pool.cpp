#include "memory/block_pool.h"

#include <sys/mman.h>

#include <cstdlib>
#include <cstring>
#include <utility>

#include "base/check.h"
#include "memory/rss.h"

namespace leancut::memory {

namespace {

// Blocks from this size up are mapped directly: the kernel hands out zeroed pages (no second
// zeroing pass over a 3 MB picture), munmap returns them to the system at once (RSS falls when
// the pool trims), and they cannot fragment the heap. glibc would mmap them too (the allocator's
// M_MMAP_THRESHOLD is 128 KiB, memory/allocator.h), but only the direct mapping says so.
constexpr size_t kMapThreshold = 128 * 1024;

}  // namespace

void BlockPool::Block::Free::operator()(uint8_t* p) const {
  if (mapped_bytes > 0) {
    ::munmap(p, mapped_bytes);
  } else {
    std::free(p);
  }
}

BlockPool::BlockPool(Account* account, Options options)
    : account_(account), max_idle_bytes_(options.max_idle_bytes) {
  LEANCUT_CHECK(account_ != nullptr);
}

BlockPool::~BlockPool() {
  std::vector<Block> freed;
  std::lock_guard lock(mu_);
  LEANCUT_CHECK(outstanding_blocks_ == 0);
  trim_locked(0, freed);
}

Result<BlockPool::Block> BlockPool::acquire(int64_t size, std::chrono::milliseconds timeout,
                                            std::stop_token stop) {
  LEANCUT_CHECK(size > 0);
  {
    std::lock_guard lock(mu_);
    ++stats_.acquires;
    // Best fit: the smallest idle block at least `size` and at most kMaxFitWaste times it. A
    // source switching between sizes then reuses the last one's blocks instead of freeing them
    // and mapping new ones (the block keeps its full size and charge).
    auto it = idle_.lower_bound(size);
    if (it != idle_.end() &&
        static_cast<double>(it->first) <= kMaxFitWaste * static_cast<double>(size)) {
      Block block = std::move(it->second.back());
      it->second.pop_back();
      if (it->second.empty()) idle_.erase(it);
      ++stats_.reuses;
      stats_.idle_bytes -= block.size();
      stats_.outstanding_bytes += block.size();
      stats_.peak_outstanding_bytes =
          std::max(stats_.peak_outstanding_bytes, stats_.outstanding_bytes);
      ++outstanding_blocks_;
      return block;
    }
  }
  return allocate(size, timeout, std::move(stop));
}

Result<BlockPool::Block> BlockPool::allocate(int64_t size, std::chrono::milliseconds timeout,
                                             std::stop_token stop) {
  // Idle blocks of other sizes are the first thing to give up for a new one.
  Result<Lease> lease = account_->try_reserve(size);
  if (!lease.ok()) {
    std::vector<Block> freed;
    {
      std::lock_guard lock(mu_);
      trim_locked(0, freed);
    }
    freed.clear();  // credits the account outside the pool's lock
    lease = account_->reserve(size, timeout, std::move(stop));
  }
  if (!lease.ok()) return lease.error();

  const auto rounded = static_cast<size_t>((size + static_cast<int64_t>(kAlignment) - 1) /
                                           static_cast<int64_t>(kAlignment)) *
                       kAlignment;
  // Zeroed, as libav's own pools (av_buffer_allocz): no stale bytes in the padding.
  Block block;
  if (rounded >= kMapThreshold) {
    void* p = ::mmap(nullptr, rounded, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
      return make_error(ErrorCode::OverBudget,
                        "out of memory mapping a " + format_bytes(size) + " frame buffer");
    }
    block.data_ =
        std::unique_ptr<uint8_t, Block::Free>(static_cast<uint8_t*>(p), Block::Free(rounded));
  } else {
    void* p = std::aligned_alloc(kAlignment, rounded);
    if (p == nullptr) {
      return make_error(ErrorCode::OverBudget,
                        "out of memory allocating a " + format_bytes(size) + " frame buffer");
    }
    std::memset(p, 0, rounded);
    block.data_.reset(static_cast<uint8_t*>(p));
  }
  block.size_ = size;
  block.lease_ = std::move(lease.value());
  std::lock_guard lock(mu_);
  ++stats_.allocations;
  stats_.outstanding_bytes += size;
  stats_.peak_outstanding_bytes = std::max(stats_.peak_outstanding_bytes, stats_.outstanding_bytes);
  ++outstanding_blocks_;
  return block;
}

void BlockPool::give_back(Block block) {
  if (block.empty()) return;
  const int64_t size = block.size();
  std::lock_guard lock(mu_);
  --outstanding_blocks_;
  stats_.outstanding_bytes -= size;
  if (stats_.idle_bytes + size <= max_idle_bytes_) {
    stats_.idle_bytes += size;
    idle_[size].push_back(std::move(block));
    return;
  }
  ++stats_.frees;
  // `block` frees its memory and credits its lease on the way out.
}

int64_t BlockPool::trim_locked(int64_t target_idle_bytes, std::vector<Block>& freed) {
  int64_t released = 0;
  // Largest sizes first: fewest frees for the most memory. Within a size, oldest first: the
  // most recently returned blocks are the ones still warm in cache.
  while (stats_.idle_bytes > target_idle_bytes && !idle_.empty()) {
    auto largest = std::prev(idle_.end());
    std::vector<Block>& list = largest->second;
    stats_.idle_bytes -= list.front().size();
    released += list.front().size();
    ++stats_.frees;
    freed.push_back(std::move(list.front()));
    list.erase(list.begin());
    if (list.empty()) idle_.erase(largest);
  }
  return released;
}

int64_t BlockPool::trim(int64_t target_idle_bytes) {
  std::vector<Block> freed;
  int64_t released = 0;
  {
    std::lock_guard lock(mu_);
    released = trim_locked(target_idle_bytes, freed);
  }
  return released;  // `freed` releases memory and leases outside the lock
}

void BlockPool::set_max_idle_bytes(int64_t bytes) {
  std::vector<Block> freed;
  std::lock_guard lock(mu_);
  max_idle_bytes_ = bytes;
  trim_locked(bytes, freed);
}

BlockPoolStats BlockPool::stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

}  // namespace leancut::memory
