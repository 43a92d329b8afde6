// Cache<Key, Value>: a byte-bounded cache with a TTL whose every entry is charged to a ledger
// account, e.g. probe results by source path.
//
//   Cache<std::string, Probe> probes({.capacity_bytes = 4 * kMiB, .ttl = 10min}, clock, account);
//   probes.put(path, probe, estimated_bytes(probe));        // false: not cached (too big, refused)
//   if (std::optional<Probe> p = probes.get(path)) use(*p); // a copy
//   auto evict = ladder.add_action(LadderStep::EvictCaches, [&] { probes.evict_to_low_water(); });
//
// Sizes are what the caller says an entry costs (put's `bytes`; include the value's heap and the
// key); the map's own node overhead (~100 bytes an entry) is not counted. Each entry holds a Lease
// of its bytes on the account (nullptr = uncharged); if the account refuses, the entry is simply
// not cached. A put that would pass capacity_bytes first drops expired entries, then evicts by
// score until the cache plus the new entry fits the low-water mark (low_water_fraction of the
// capacity), so a full cache does not evict on every put.
//
// Score: (hits + 1) / (age in seconds + 1), age since the entry was put: hits per unit time, so
// an entry read often stays and one read once long ago goes; the +1s give a new entry the benefit
// of the doubt. Lowest score goes first; ties go to the oldest put. Eviction sorts all entries
// (n log n), which is fine for the few thousand entries a job caches and happens only at the
// capacity or from the ladder.
//
// Thread-safe: one mutex around every call (get() counts hits, so even reads write). Values are
// copied out under the lock; keep them small or make Value a shared_ptr to const.
// REQUIRES: the clock and the account outlive the cache. Destruction credits every entry.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <utility>
#include <vector>

#include "base/check.h"
#include "base/clock.h"
#include "memory/ledger.h"

namespace leancut::memory {

// Entries put but not read for this long are stale: a source file may have been replaced on disk.
inline constexpr Clock::Duration kDefaultCacheTtl = std::chrono::minutes(10);
// Evicting down to 80% leaves a fifth of the capacity free, so the next puts do not evict again.
inline constexpr double kDefaultCacheLowWaterFraction = 0.8;

struct CacheOptions {
  int64_t capacity_bytes = 0;              // > 0
  Clock::Duration ttl = kDefaultCacheTtl;  // > 0; Clock::Duration::max() = never expires
  double low_water_fraction = kDefaultCacheLowWaterFraction;  // in (0, 1]
};

struct CacheStats {
  int64_t entries = 0;
  int64_t bytes = 0;
  int64_t capacity_bytes = 0;
  int64_t hits = 0;
  int64_t misses = 0;       // including reads of expired entries
  int64_t insertions = 0;   // entries cached (replacements included)
  int64_t evictions = 0;    // entries dropped for room (capacity or evict_to_low_water)
  int64_t expirations = 0;  // entries dropped because their TTL passed
  int64_t refusals = 0;     // puts not cached: larger than the capacity, or the account refused
};

template <typename Key, typename Value, typename Hash = std::hash<Key>>
class Cache {
 public:
  Cache(CacheOptions options, const Clock& clock, Account* account)
      : options_(options), clock_(clock), account_(account) {
    LEANCUT_CHECK(options_.capacity_bytes > 0);
    LEANCUT_CHECK(options_.ttl > Clock::Duration::zero());
    LEANCUT_CHECK(options_.low_water_fraction > 0.0 && options_.low_water_fraction <= 1.0);
  }
  Cache(const Cache&) = delete;
  Cache& operator=(const Cache&) = delete;

  // Caches `value` as costing `bytes` (>= 0), replacing any entry for `key`. Returns whether it
  // was cached: not when bytes > capacity_bytes or when the account refuses the charge (the old
  // entry for the key is gone either way).
  bool put(const Key& key, Value value, int64_t bytes) {
    LEANCUT_CHECK(bytes >= 0);
    std::lock_guard lock(mu_);
    const Clock::TimePoint now = clock_.now();
    if (auto it = entries_.find(key); it != entries_.end()) drop_locked(it);
    if (bytes > options_.capacity_bytes) {
      ++stats_.refusals;
      return false;
    }
    if (stats_.bytes + bytes > options_.capacity_bytes) {
      expire_locked(now);
      if (stats_.bytes + bytes > options_.capacity_bytes) {
        evict_locked(now, low_water_bytes() - bytes);
      }
    }
    Lease lease;
    if (account_ != nullptr) {
      Result<Lease> charged = account_->try_reserve(bytes);
      if (!charged) {
        ++stats_.refusals;
        return false;
      }
      lease = std::move(charged).value();
    }
    Entry entry{std::move(value), bytes, now, expiry(now), 0, next_sequence_++, std::move(lease)};
    entries_.emplace(key, std::move(entry));
    stats_.bytes += bytes;
    ++stats_.insertions;
    return true;
  }

  // A copy of the value, or nullopt (missing or expired; an expired entry is dropped).
  std::optional<Value> get(const Key& key) {
    std::lock_guard lock(mu_);
    auto it = entries_.find(key);
    if (it == entries_.end()) {
      ++stats_.misses;
      return std::nullopt;
    }
    if (clock_.now() >= it->second.expires_at) {
      drop_locked(it);
      ++stats_.expirations;
      ++stats_.misses;
      return std::nullopt;
    }
    ++it->second.hits;
    ++stats_.hits;
    return it->second.value;
  }

  // Whether a live entry exists; counts neither hit nor miss.
  bool contains(const Key& key) const {
    std::lock_guard lock(mu_);
    auto it = entries_.find(key);
    return it != entries_.end() && clock_.now() < it->second.expires_at;
  }

  bool erase(const Key& key) {
    std::lock_guard lock(mu_);
    auto it = entries_.find(key);
    if (it == entries_.end()) return false;
    drop_locked(it);
    return true;
  }

  // For the ladder's evict_caches step: drops expired entries, then the lowest-scored until the
  // cache is at or below its low-water mark. Returns the bytes freed.
  int64_t evict_to_low_water() {
    std::lock_guard lock(mu_);
    const int64_t before = stats_.bytes;
    const Clock::TimePoint now = clock_.now();
    expire_locked(now);
    evict_locked(now, low_water_bytes());
    return before - stats_.bytes;
  }

  // Drops expired entries; returns how many.
  int64_t expire() {
    std::lock_guard lock(mu_);
    return expire_locked(clock_.now());
  }

  // Drops every entry (counted as evictions).
  void clear() {
    std::lock_guard lock(mu_);
    stats_.evictions += static_cast<int64_t>(entries_.size());
    entries_.clear();
    stats_.bytes = 0;
  }

  CacheStats stats() const {
    std::lock_guard lock(mu_);
    CacheStats out = stats_;
    out.entries = static_cast<int64_t>(entries_.size());
    out.capacity_bytes = options_.capacity_bytes;
    return out;
  }

  int64_t low_water_bytes() const {
    return static_cast<int64_t>(static_cast<double>(options_.capacity_bytes) *
                                options_.low_water_fraction);
  }

 private:
  struct Entry {
    Value value;
    int64_t bytes = 0;
    Clock::TimePoint put_at{};
    Clock::TimePoint expires_at{};
    int64_t hits = 0;
    uint64_t sequence = 0;  // put order, for ties
    Lease lease;            // credits the account when the entry goes
  };
  using Map = std::unordered_map<Key, Entry, Hash>;

  Clock::TimePoint expiry(Clock::TimePoint now) const {
    if (options_.ttl >= Clock::TimePoint::max() - now) return Clock::TimePoint::max();
    return now + options_.ttl;
  }

  static double score(const Entry& e, Clock::TimePoint now) {
    const double age_s = std::chrono::duration<double>(now - e.put_at).count();
    return (static_cast<double>(e.hits) + 1.0) / (std::max(age_s, 0.0) + 1.0);
  }

  void drop_locked(typename Map::iterator it) {
    stats_.bytes -= it->second.bytes;
    entries_.erase(it);
  }

  int64_t expire_locked(Clock::TimePoint now) {
    int64_t dropped = 0;
    for (auto it = entries_.begin(); it != entries_.end();) {
      if (now >= it->second.expires_at) {
        stats_.bytes -= it->second.bytes;
        it = entries_.erase(it);
        ++dropped;
      } else {
        ++it;
      }
    }
    stats_.expirations += dropped;
    return dropped;
  }

  // Evicts lowest scores first until bytes <= target_bytes (or nothing is left).
  void evict_locked(Clock::TimePoint now, int64_t target_bytes) {
    if (stats_.bytes <= target_bytes) return;
    struct Candidate {
      double score;
      uint64_t sequence;
      typename Map::iterator it;
    };
    std::vector<Candidate> order;
    order.reserve(entries_.size());
    for (auto it = entries_.begin(); it != entries_.end(); ++it) {
      order.push_back({score(it->second, now), it->second.sequence, it});
    }
    std::sort(order.begin(), order.end(), [](const Candidate& a, const Candidate& b) {
      return a.score != b.score ? a.score < b.score : a.sequence < b.sequence;
    });
    for (const Candidate& c : order) {
      if (stats_.bytes <= target_bytes) break;
      drop_locked(c.it);
      ++stats_.evictions;
    }
  }

  const CacheOptions options_;
  const Clock& clock_;
  Account* const account_;

  mutable std::mutex mu_;
  Map entries_;                 // guarded by mu_
  CacheStats stats_;            // guarded by mu_; entries and capacity filled in by stats()
  uint64_t next_sequence_ = 0;  // guarded by mu_
};

}  // namespace leancut::memory
