// fetch_remote_sources(): a blueprint's http(s) sources brought into the asset cache before the
// timeline is resolved; each such shot's `source` then names the cached file (its `source_text`
// keeps the URL for messages). libav only ever opens local files.
//
//   RemoteSources r = fetch_remote_sources(bp, {.enabled = args.remote, ...});
//   for (auto& d : r.diagnostics) print(d);   // shots[2].source: http://h/a.mp4: HTTP 404
//   // keep `r` alive until the render ends: its leases keep the files from eviction
//
// Off (the default), every URL source is one diagnostic saying how to turn it on. Each distinct
// URL is fetched once however many shots cut it; a failed URL is reported on every shot using it.
#pragma once

#include <vector>

#include "blueprint/blueprint.h"
#include "blueprint/parse.h"
#include "fetch/asset_cache.h"
#include "fetch/downloader.h"
#include "fetch/fetcher.h"

namespace leancut::fetch {

struct RemoteOptions {
  bool enabled = false;  // --remote
  CacheOptions cache{};
  DownloadOptions download{};
  int workers = kDefaultDownloadWorkers;  // --downloads
};

struct RemoteSources {
  std::vector<blueprint::Diagnostic> diagnostics{};
  std::vector<bool> failed_shots{};  // per shot: its source could not be brought in
  int urls = 0;                      // distinct remote sources
  FetchSummary summary{};
  std::vector<EntryLock> leases{};
  bool any_failed() const { return !diagnostics.empty(); }
};

// `only`: when given, shots whose entry is false are left alone (they failed to parse).
RemoteSources fetch_remote_sources(blueprint::Blueprint& bp, const RemoteOptions& options,
                                   const std::vector<bool>* only = nullptr);

}  // namespace leancut::fetch
