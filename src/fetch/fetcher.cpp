#include "fetch/fetcher.h"

#include <algorithm>
#include <atomic>
#include <mutex>
#include <thread>

namespace leancut::fetch {

namespace {

// Takes the entry's lock itself; on success hands it back, shared, in `lease`.
AssetResult fetch_one(const AssetCache& cache, const FetchRequest& req, EntryLock& lease,
                      const DownloadOptions& download_options) {
  AssetResult out;
  const std::string key = AssetCache::key_for(req.url);
  Result<EntryLock> lock = cache.lock_entry(key);
  if (!lock) {
    out.error = lock.error();
    return out;
  }
  if (std::optional<EntryInfo> hit = cache.lookup(key, req.url);
      hit && (req.sha256.empty() || hit->sha256 == req.sha256)) {
    if (Status s = cache.touch(key, *hit); !s) {
      out.error = s.error();
      return out;
    }
    out.hit = true;
  } else {
    Result<Downloaded> d = download(req.url, cache.part_path(key), download_options);
    if (d) out.bytes_downloaded = d->bytes_transferred;
    if (!d) {
      // A transfer cut short keeps its .part for the next run to resume; an empty one goes.
      std::error_code ec;
      if (std::filesystem::file_size(cache.part_path(key), ec) == 0 && !ec) {
        std::filesystem::remove(cache.part_path(key), ec);
      }
      out.error = d.error();
      return out;
    }
    if (!req.sha256.empty() && d->sha256 != req.sha256) {
      cache.remove(key);  // nothing of a wrong file stays
      out.error =
          make_error(ErrorCode::MediaError, "sha256 mismatch: the blueprint says " + req.sha256 +
                                                ", the download is " + d->sha256);
      return out;
    }
    EntryInfo info{.url = req.url,
                   .size = d->size,
                   .sha256 = d->sha256,
                   .etag = d->etag,
                   .last_modified = d->last_modified};
    if (Status s = cache.commit(key, info); !s) {
      out.error = s.error();
      return out;
    }
  }
  if (Status s = lock->share(); !s) {
    out.error = s.error();
    return out;
  }
  out.file = cache.data_path(key);
  lease = std::move(lock).value();
  return out;
}

}  // namespace

FetchBatch fetch_all(const AssetCache& cache, const std::vector<FetchRequest>& requests,
                     const DownloadOptions& download_options, int workers) {
  FetchBatch batch;
  batch.assets.resize(requests.size());
  std::vector<EntryLock> leases(requests.size());
  std::atomic<size_t> next{0};
  const auto work = [&] {
    for (size_t i = next++; i < requests.size(); i = next++) {
      batch.assets[i] = fetch_one(cache, requests[i], leases[i], download_options);
    }
  };
  const size_t n = std::min<size_t>(std::max(1, workers), requests.size());
  {
    std::vector<std::jthread> threads;
    threads.reserve(n);
    for (size_t i = 0; i < n; ++i) threads.emplace_back(work);
  }
  for (size_t i = 0; i < requests.size(); ++i) {
    const AssetResult& a = batch.assets[i];
    if (a.hit) {
      ++batch.summary.hits;
    } else {
      ++batch.summary.misses;
    }
    if (a.error) ++batch.summary.failed;
    batch.summary.bytes_downloaded += a.bytes_downloaded;
    if (leases[i].held()) batch.leases.push_back(std::move(leases[i]));
  }
  // After the adds: this batch's entries are leased, so eviction passes them over.
  if (!requests.empty()) {
    if (Result<EvictStats> ev = cache.evict(); ev) batch.summary.evicted = *ev;
  }
  return batch;
}

}  // namespace leancut::fetch
