// download(): one http(s) URL streamed to a file on disk with libcurl, resumed from what the file
// already holds (a Range request; a server that answers 200 instead of 206 sends it all again,
// and the file starts over), hashed (SHA-256) as it is written. Memory is constant: libcurl's
// receive buffer, whatever the file's size.
//
//   Result<Downloaded> d = download(url, cache.part_path(key), {});
//   // "HTTP 404", "Failed to connect to 127.0.0.1 port 9: Connection refused", ...
//
// Only http and https, redirects included (at most max_redirects); a transfer cut short (dropped
// connection, stall) is resumed up to `attempts` times in all, with If-Range (the validator of the
// response the file's bytes came from), so a file changed on the server is not spliced.
// Thread-safe: each call has its own curl handle. The caller holds the file's cache lock.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include "base/result.h"

namespace leancut::fetch {

struct DownloadOptions {
  int64_t connect_timeout_ms = 15000;
  // A transfer slower than 1 byte/s for this long has stalled: cut, then resumed.
  int64_t stall_timeout_seconds = 30;
  int max_redirects = 5;
  int attempts = 3;  // transfers in all, resumes included
};

struct Downloaded {
  int64_t size = 0;      // the file's, complete
  std::string sha256{};  // of the whole file, lowercase hex
  std::string etag{};
  std::string last_modified{};
  int64_t resumed_from = 0;       // bytes already on disk when the first transfer started
  int64_t bytes_transferred = 0;  // received over the network, every attempt
  int transfers = 0;              // requests made (1 + resumes + restarts)
};

Result<Downloaded> download(const std::string& url, const std::filesystem::path& file,
                            const DownloadOptions& options);

// FILE.validator: the ETag (or Last-Modified) of the response FILE's bytes came from, sent as
// If-Range when resuming. Removed when the download completes.
std::filesystem::path validator_path(const std::filesystem::path& file);

}  // namespace leancut::fetch
