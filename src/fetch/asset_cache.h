// AssetCache: remote sources downloaded once into a bounded folder on disk, shared by processes.
//
//   LEANCUT_ASSIGN_OR_RETURN(AssetCache cache, AssetCache::open({.dir = "/var/cache/leancut"}));
//   const std::string key = cache.key_for(url);
//   LEANCUT_ASSIGN_OR_RETURN(EntryLock lock, cache.lock_entry(key));   // exclusive, blocks
//   if (auto hit = cache.lookup(key, url)) { cache.touch(key, *hit); lock.share(); ... }
//   ... download into cache.part_path(key) ...; cache.commit(key, info); lock.share();
//   cache.evict();  // after adds; never an entry someone holds a lock on
//
// Layout (one entry per URL, named by a hash of the URL): KEY.data (the file, complete and
// verified), KEY.json (sidecar: url, size, sha256, etag, last_modified, fetched_at, last_used;
// written last, so an entry without one is not an entry), KEY.part (a download under way or
// interrupted, resumed by the next one), KEY.lock (flock'd: exclusive while one process checks or
// downloads the entry, shared while a job renders from it). Eviction takes evict.lock, then drops
// entries fetched longer than max_age ago, then the least recently used until the total fits
// max_bytes, skipping every entry whose lock is held (in use by this or another process).
// Times are wall-clock Unix seconds: the cache outlives processes and is shared between them.
//
// Thread-safe for distinct keys (the flock serialises processes; callers give each key to one
// thread). Holds no file data in memory.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace leancut::fetch {

inline constexpr int64_t kDefaultCacheMaxBytes = 20LL << 30;         // 20 GiB
inline constexpr int64_t kDefaultCacheMaxAgeSeconds = 30LL * 86400;  // 30 days

struct CacheOptions {
  std::filesystem::path dir{};  // made when missing
  int64_t max_bytes = kDefaultCacheMaxBytes;
  // An entry fetched longer ago is stale: evicted, and downloaded again when next asked for (a
  // bound on how long a changed remote file can go unnoticed; entries are not revalidated).
  int64_t max_age_seconds = kDefaultCacheMaxAgeSeconds;
};

// $XDG_CACHE_HOME/leancut/assets, else ~/.cache/leancut/assets.
std::filesystem::path default_cache_dir();

// "90" or "90s", "15m", "12h", "30d", "2w" → seconds; nullopt for anything else (or overflow).
std::optional<int64_t> parse_duration_seconds(std::string_view text);

// What the sidecar says about a complete entry.
struct EntryInfo {
  std::string url{};
  int64_t size = 0;
  std::string sha256{};  // always computed while downloading; lowercase hex
  std::string etag{};
  std::string last_modified{};
  int64_t fetched_at = 0;  // Unix seconds
  int64_t last_used = 0;
};

// An flock on an entry's lock file (RAII: closing the descriptor releases it). Move-only.
class EntryLock {
 public:
  EntryLock() = default;
  explicit EntryLock(int fd) : fd_(fd) {}
  EntryLock(EntryLock&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
  EntryLock& operator=(EntryLock&& o) noexcept;
  EntryLock(const EntryLock&) = delete;
  EntryLock& operator=(const EntryLock&) = delete;
  ~EntryLock();
  // Exclusive → shared: others may use the entry too, but no one evicts or rewrites it.
  Status share();
  bool held() const { return fd_ >= 0; }

 private:
  int fd_ = -1;
};

struct EvictStats {
  int removed = 0;
  int64_t removed_bytes = 0;
  int skipped_in_use = 0;
  int64_t total_bytes = 0;  // what stays
};

class AssetCache {
 public:
  static Result<AssetCache> open(CacheOptions options);

  const CacheOptions& options() const { return options_; }
  static std::string key_for(const std::string& url);  // 32 hex digits of the URL's SHA-256
  std::filesystem::path data_path(const std::string& key) const;
  std::filesystem::path part_path(const std::string& key) const;
  std::filesystem::path sidecar_path(const std::string& key) const;

  // Blocks until this process holds the entry exclusively (another may be downloading it).
  Result<EntryLock> lock_entry(const std::string& key) const;
  // REQUIRES: the entry's lock. The complete entry for `url`, unless missing, inconsistent (size)
  // or older than max_age.
  std::optional<EntryInfo> lookup(const std::string& key, const std::string& url) const;
  // REQUIRES: the entry's lock. Records a use (last_used = now).
  Status touch(const std::string& key, EntryInfo info) const;
  // REQUIRES: the entry's lock; part_path(key) complete and verified. Renames it to the data file
  // and writes the sidecar (fetched_at = last_used = now).
  Status commit(const std::string& key, EntryInfo info) const;
  // REQUIRES: the entry's lock. Removes data, part and sidecar.
  void remove(const std::string& key) const;
  // Too old first, then least recently used until the total fits; held entries stay.
  Result<EvictStats> evict() const;

  static int64_t now_unix();

 private:
  explicit AssetCache(CacheOptions options) : options_(std::move(options)) {}
  Status write_sidecar(const std::string& key, const EntryInfo& info) const;
  std::optional<EntryInfo> read_sidecar(const std::string& key) const;
  CacheOptions options_;
};

}  // namespace leancut::fetch
