// ProbeCache: probe results by source file, so a timeline that cuts 1,000 shots from 20 sources
// probes each source once, and a long-lived process (the job server) probes a source once across
// jobs. Entries are keyed by path *and* the file's size and modification time, so a source
// replaced on disk is probed again; failures are not cached (the file may appear or be fixed).
//
//   ProbeCache probes(ProbeCache::default_options(), SteadyClock::instance(), account);
//   Result<ProbeInfo> p = probes.probe("clips/a.mp4");  // probed once, then a copy from memory
//   probes.stats().hits;
//
// A memory::Cache underneath: byte-bounded (each entry charged to `account` at its estimated
// size), with a TTL and eviction by hits/age down to the low-water mark; evict_to_low_water() is
// the degradation ladder's "evict caches" step. Thread-safe; two threads probing the same new
// file may both probe it (the result is the same), which keeps probing outside the lock.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include "base/clock.h"
#include "base/result.h"
#include "media/probe.h"
#include "memory/cache.h"
#include "memory/ledger.h"

namespace leancut::media {

class ProbeCache {
 public:
  // 4 MiB holds thousands of probes (~0.5 KiB each): every source of the largest timelines.
  static memory::CacheOptions default_options();

  // REQUIRES: clock and account (nullptr = uncharged) outlive the cache.
  ProbeCache(memory::CacheOptions options, const Clock& clock, memory::Account* account);

  // probe_file(path), or the cached result for the same file unchanged on disk.
  Result<ProbeInfo> probe(const std::filesystem::path& path);

  int64_t evict_to_low_water() { return cache_.evict_to_low_water(); }
  memory::CacheStats stats() const { return cache_.stats(); }

  // What an entry is charged: the struct, its strings and the key.
  static int64_t estimated_bytes(const ProbeInfo& info);

 private:
  // Path plus what tells a replaced file apart; "path\0size\0mtime" as one string key.
  static std::string key_for(const std::filesystem::path& path, int64_t size, int64_t mtime_ns);

  memory::Cache<std::string, ProbeInfo> cache_;
};

}  // namespace leancut::media
