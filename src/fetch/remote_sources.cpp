#include "fetch/remote_sources.h"

#include <map>

namespace leancut::fetch {

RemoteSources fetch_remote_sources(blueprint::Blueprint& bp, const RemoteOptions& options,
                                   const std::vector<bool>* only) {
  RemoteSources out;
  out.failed_shots.assign(bp.shots.size(), false);
  const auto source_path = [](size_t i) { return "shots[" + std::to_string(i) + "].source"; };
  std::map<std::string, size_t> request_of;  // URL → index in requests
  std::vector<FetchRequest> requests;
  std::vector<size_t> remote_shots;
  for (size_t i = 0; i < bp.shots.size(); ++i) {
    const blueprint::Shot& s = bp.shots[i];
    if (only != nullptr && (i >= only->size() || !(*only)[i])) continue;
    if (!blueprint::is_remote_source(s.source_text)) continue;
    if (!options.enabled) {
      out.diagnostics.push_back(
          {source_path(i), s.source_text +
                               ": remote sources are off; pass --remote to download http(s) "
                               "sources into the asset cache"});
      out.failed_shots[i] = true;
      continue;
    }
    remote_shots.push_back(i);
    auto [it, added] = request_of.emplace(s.source_text, requests.size());
    if (added) {
      requests.push_back({.url = s.source_text, .sha256 = s.sha256});
    } else if (!s.sha256.empty() && requests[it->second].sha256.empty()) {
      requests[it->second].sha256 = s.sha256;
    } else if (!s.sha256.empty() && requests[it->second].sha256 != s.sha256) {
      out.diagnostics.push_back(
          {source_path(i), s.source_text + ": another shot gives this URL another sha256"});
      out.failed_shots[i] = true;
    }
  }
  out.urls = static_cast<int>(requests.size());
  if (requests.empty()) return out;
  Result<AssetCache> cache = AssetCache::open(options.cache);
  if (!cache) {
    for (size_t i : remote_shots) {
      out.diagnostics.push_back(
          {source_path(i), bp.shots[i].source_text + ": asset cache: " + cache.error().message});
      out.failed_shots[i] = true;
    }
    return out;
  }
  FetchBatch batch = fetch_all(*cache, requests, options.download, options.workers);
  for (size_t i : remote_shots) {
    blueprint::Shot& s = bp.shots[i];
    const AssetResult& a = batch.assets[request_of.at(s.source_text)];
    if (a.error) {
      out.diagnostics.push_back({source_path(i), s.source_text + ": " + a.error->message});
      out.failed_shots[i] = true;
    } else if (!out.failed_shots[i]) {
      s.source = a.file;
    }
  }
  out.summary = batch.summary;
  out.leases = std::move(batch.leases);
  return out;
}

}  // namespace leancut::fetch
