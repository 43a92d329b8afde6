// BlockPool: recycled, aligned, ledger-charged blocks of memory: the storage under decoded frames
// (media/frame_pool.h puts AVBuffers on top). Blocks are kept per exact size, so one (width,
// height, format) keeps hitting the same idle list; idle memory is capped and can be trimmed,
// which libav's own AVBufferPool cannot do (no cap, no shrink, no count of idle bytes).
//
//   BlockPool pool(frames_account, {.max_idle_bytes = 32 * kMiB});
//   Result<BlockPool::Block> b = pool.acquire(1'382'400, 2s, stop);   // reuses or allocates
//   ... b.value().data() ...
//   pool.give_back(std::move(b.value()));                              // idle or freed
//
// Every block, idle or lent out, holds a Lease on the pool's account: idle memory is still
// memory. A new allocation waits for budget (backpressure) up to the timeout, after trimming
// this pool's idle blocks of other sizes. Thread-safe (one mutex; a few lock pairs per frame).
// REQUIRES: every block given back before the pool is destroyed (CHECKed).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <stop_token>
#include <vector>

#include "base/result.h"
#include "memory/ledger.h"

namespace leancut::memory {

struct BlockPoolStats {
  int64_t acquires = 0;     // blocks handed out
  int64_t reuses = 0;       // ... of which came from the idle lists
  int64_t allocations = 0;  // fresh allocations
  int64_t frees = 0;        // blocks returned to the system (cap, trim, or destruction)
  int64_t outstanding_bytes = 0;
  int64_t idle_bytes = 0;
  int64_t peak_outstanding_bytes = 0;
  double reuse_rate() const {
    return acquires == 0 ? 0.0 : static_cast<double>(reuses) / static_cast<double>(acquires);
  }
};

class BlockPool {
 public:
  static constexpr size_t kAlignment = 64;  // AVX-512 loads in libav's SIMD need 64
  // An idle block serves a request up to this many times smaller than itself.
  static constexpr double kMaxFitWaste = 2.5;

  struct Options {
    int64_t max_idle_bytes = 32 * kMiB;  // beyond this, given-back blocks are freed
  };

  // A block on loan; move-only. Holds its memory and its lease until given back (or destroyed,
  // which frees it without recycling).
  class Block {
   public:
    Block() = default;
    Block(Block&&) noexcept = default;
    Block& operator=(Block&&) noexcept = default;
    uint8_t* data() const { return data_.get(); }
    int64_t size() const { return size_; }
    bool empty() const { return data_ == nullptr; }

   private:
    friend class BlockPool;
    // Large blocks are their own mapping (mapped_bytes > 0, munmap); small ones come from
    // malloc (std::free).
    struct Free {
      Free() noexcept : mapped_bytes(0) {}
      explicit Free(size_t mapped) noexcept : mapped_bytes(mapped) {}
      size_t mapped_bytes;
      void operator()(uint8_t* p) const;
    };
    std::unique_ptr<uint8_t, Free> data_;
    int64_t size_ = 0;
    Lease lease_;
  };

  // `account` is charged for every block this pool holds; it must outlive the pool.
  BlockPool(Account* account, Options options);
  BlockPool(const BlockPool&) = delete;
  BlockPool& operator=(const BlockPool&) = delete;
  ~BlockPool();

  // A block of at least `size` bytes (contents undefined), aligned to kAlignment.
  Result<Block> acquire(int64_t size, std::chrono::milliseconds timeout, std::stop_token stop = {});
  // Takes the block back: idle if it fits under max_idle_bytes, freed otherwise.
  void give_back(Block block);
  // Frees idle blocks until at most `target_idle_bytes` remain (0 = all); returns bytes freed.
  int64_t trim(int64_t target_idle_bytes = 0);
  void set_max_idle_bytes(int64_t bytes);

  BlockPoolStats stats() const;

 private:
  Result<Block> allocate(int64_t size, std::chrono::milliseconds timeout, std::stop_token stop);
  int64_t trim_locked(int64_t target_idle_bytes, std::vector<Block>& freed);

  Account* const account_;
  mutable std::mutex mu_;
  int64_t max_idle_bytes_;
  std::map<int64_t, std::vector<Block>> idle_;  // by size, no empty lists; newest last
  BlockPoolStats stats_;
  int64_t outstanding_blocks_ = 0;
};

}  // namespace leancut::memory
