// BoundedQueue<T>: a blocking FIFO between two pipeline stages, bounded in items AND bytes, with
// close (end of stream) and cancel (abort everything).
//
//   BoundedQueue<Work> q({.max_items = 8, .max_bytes = 64 << 20});
//   producer:  if (!q.push(std::move(w), bytes)) return;   // false: cancelled, `w` destroyed
//   consumer:  while (auto w = q.pop()) use(*w);           // nullopt: closed and empty, or
//   cancelled
//
// An item larger than max_bytes is still admitted when the queue is empty, so one oversized
// frame cannot deadlock the pipeline; the byte bound is otherwise never exceeded.
// Thread-safe: one producer and one consumer (more are fine too).
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <utility>

namespace leancut::engine {

struct QueueLimits {
  std::size_t max_items = 8;
  std::size_t max_bytes = 64u << 20;
};

struct QueueStats {
  std::size_t peak_items = 0;
  std::size_t peak_bytes = 0;
  uint64_t pushes = 0;
  uint64_t producer_waits = 0;  // pushes that had to wait for room (backpressure)
};

template <typename T>
class BoundedQueue {
 public:
  explicit BoundedQueue(QueueLimits limits) : limits_(limits) {}

  // Blocks until there is room. Takes ownership of `item`; on false (cancelled) the item is
  // destroyed here. REQUIRES: not closed.
  bool push(T item, std::size_t bytes) {
    std::unique_lock lock(mu_);
    auto has_room = [&] {
      return cancelled_ || items_.empty() ||
             (items_.size() < limits_.max_items && bytes_ + bytes <= limits_.max_bytes);
    };
    if (!has_room()) {
      ++stats_.producer_waits;
      not_full_.wait(lock, has_room);
    }
    if (cancelled_) return false;
    items_.emplace_back(std::move(item), bytes);
    bytes_ += bytes;
    ++stats_.pushes;
    if (items_.size() > stats_.peak_items) stats_.peak_items = items_.size();
    if (bytes_ > stats_.peak_bytes) stats_.peak_bytes = bytes_;
    not_empty_.notify_one();
    return true;
  }

  // Blocks until an item is there; nullopt when closed and drained, or cancelled.
  std::optional<T> pop() {
    std::unique_lock lock(mu_);
    not_empty_.wait(lock, [&] { return cancelled_ || closed_ || !items_.empty(); });
    if (cancelled_ || items_.empty()) return std::nullopt;
    auto [item, bytes] = std::move(items_.front());
    items_.pop_front();
    bytes_ -= bytes;
    not_full_.notify_one();
    return std::optional<T>{std::move(item)};
  }

  // No more pushes; pop() drains what is left, then returns nullopt.
  void close() {
    std::lock_guard lock(mu_);
    closed_ = true;
    not_empty_.notify_all();
  }

  // Wakes everyone; pushes fail and pops return nullopt from now on. Items left are destroyed.
  void cancel() {
    std::deque<std::pair<T, std::size_t>> dropped;
    {
      std::lock_guard lock(mu_);
      cancelled_ = true;
      dropped.swap(items_);
      bytes_ = 0;
      not_empty_.notify_all();
      not_full_.notify_all();
    }
  }

  // Changes the bounds (pressure handling shrinks queues and later restores them). Items already
  // queued stay; a producer waits until the queue is under the new bounds.
  void set_limits(QueueLimits limits) {
    std::lock_guard lock(mu_);
    limits_ = limits;
    not_full_.notify_all();
  }
  QueueLimits limits() const {
    std::lock_guard lock(mu_);
    return limits_;
  }

  QueueStats stats() const {
    std::lock_guard lock(mu_);
    return stats_;
  }
  std::size_t bytes() const {
    std::lock_guard lock(mu_);
    return bytes_;
  }

 private:
  QueueLimits limits_;  // guarded by mu_
  mutable std::mutex mu_;
  std::condition_variable not_empty_;
  std::condition_variable not_full_;
  std::deque<std::pair<T, std::size_t>> items_;  // guarded by mu_
  std::size_t bytes_ = 0;                        // guarded by mu_
  bool closed_ = false;                          // guarded by mu_
  bool cancelled_ = false;                       // guarded by mu_
  QueueStats stats_;                             // guarded by mu_
};

}  // namespace leancut::engine
