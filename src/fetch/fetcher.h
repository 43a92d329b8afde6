// fetch_all(): distinct URLs brought into the asset cache by at most `workers` threads at once,
// each a cache hit or a download (streamed to KEY.part, verified, renamed), then one eviction
// pass. Every URL gets its own outcome, so all failures are reported together.
//
//   FetchBatch b = fetch_all(cache, {{.url = u, .sha256 = hex}}, {}, 4);
//   if (b.assets[0].error) print(b.assets[0].error->message);   // "HTTP 404"
//   render(b.assets[0].file);   // safe from eviction while `b.leases` lives
//
// Blocks until every URL is done. Memory: one curl handle and receive buffer per worker.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "fetch/asset_cache.h"
#include "fetch/downloader.h"

namespace leancut::fetch {

inline constexpr int kDefaultDownloadWorkers = 4;

struct FetchRequest {
  std::string url{};
  std::string sha256{};  // expected, lowercase hex; empty: not checked
};

struct AssetResult {
  std::filesystem::path file{};  // the cached file (when no error)
  std::optional<Error> error{};
  bool hit = false;
  int64_t bytes_downloaded = 0;
};

struct FetchSummary {
  int hits = 0;
  int misses = 0;  // downloads, failed ones included
  int failed = 0;
  int64_t bytes_downloaded = 0;
  EvictStats evicted{};
};

struct FetchBatch {
  std::vector<AssetResult> assets{};  // one per request, in order
  FetchSummary summary{};
  // Shared locks on every entry fetched: no process evicts or rewrites them while these live.
  std::vector<EntryLock> leases{};
};

FetchBatch fetch_all(const AssetCache& cache, const std::vector<FetchRequest>& requests,
                     const DownloadOptions& download_options, int workers);

}  // namespace leancut::fetch
