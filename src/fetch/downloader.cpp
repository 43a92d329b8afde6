#include "fetch/downloader.h"

#include <curl/curl.h>
#include <unistd.h>

#include <cctype>
#include <cstdio>
#include <cstring>
#include <memory>
#include <mutex>
#include <string_view>

#include "fetch/sha256.h"

namespace leancut::fetch {

namespace {

namespace fs = std::filesystem;

struct CurlDeleter {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
using CurlPtr = std::unique_ptr<CURL, CurlDeleter>;
struct SlistDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};
using SlistPtr = std::unique_ptr<curl_slist, SlistDeleter>;
struct FileCloser {
  void operator()(std::FILE* f) const { std::fclose(f); }
};
using FilePtr = std::unique_ptr<std::FILE, FileCloser>;

void global_init_once() {
  // curl_global_init is not thread-safe; the workers all pass through here first.
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

std::string trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return std::string(s);
}

bool starts_with_nocase(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(s[i])) != prefix[i]) return false;
  }
  return true;
}

// One transfer's state, shared with libcurl's callbacks.
struct Transfer {
  CURL* curl = nullptr;
  std::FILE* file = nullptr;
  Sha256* hash = nullptr;
  int64_t offset = 0;        // bytes on disk when the request went out (the Range start)
  int64_t written = 0;       // bytes in the file now
  int64_t received = 0;      // body bytes this transfer
  int64_t range_start = -1;  // from Content-Range, of the last response's headers
  bool decided = false;      // the first body byte: append (206) or start over (200)
  bool range_mismatch = false;
  bool write_failed = false;
  std::string etag;
  std::string last_modified;
};

size_t on_header(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const std::string_view line(data, size * n);
  if (starts_with_nocase(line, "http/")) {  // a new response (after a redirect): forget the last
    t->range_start = -1;
    t->etag.clear();
    t->last_modified.clear();
  } else if (starts_with_nocase(line, "etag:")) {
    t->etag = trim(line.substr(5));
  } else if (starts_with_nocase(line, "last-modified:")) {
    t->last_modified = trim(line.substr(14));
  } else if (starts_with_nocase(line, "content-range:")) {
    // "bytes START-END/TOTAL"
    const std::string v = trim(line.substr(14));
    long long start = -1;
    if (std::sscanf(v.c_str(), "bytes %lld-", &start) == 1) t->range_start = start;
  }
  return size * n;
}

size_t on_body(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const size_t bytes = size * n;
  if (!t->decided) {
    t->decided = true;
    long code = 0;
    curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &code);
    if (t->offset > 0 && code == 206) {
      if (t->range_start != t->offset) {
        t->range_mismatch = true;
        return 0;  // aborts the transfer (CURLE_WRITE_ERROR); the caller starts over
      }
    } else {
      // The whole file (200, or a server that ignores Range): whatever was on disk goes.
      if (std::fflush(t->file) != 0 || ::ftruncate(fileno(t->file), 0) != 0 ||
          std::fseek(t->file, 0, SEEK_SET) != 0) {
        t->write_failed = true;
        return 0;
      }
      t->hash->reset();
      t->written = 0;
    }
  }
  if (std::fwrite(data, 1, bytes, t->file) != bytes) {
    t->write_failed = true;
    return 0;
  }
  t->hash->update({data, bytes});
  t->written += static_cast<int64_t>(bytes);
  t->received += static_cast<int64_t>(bytes);
  return bytes;
}

std::string read_small_file(const fs::path& p) {
  FilePtr f(std::fopen(p.c_str(), "rb"));
  if (!f) return {};
  char buf[512];
  const size_t n = std::fread(buf, 1, sizeof buf, f.get());
  return std::string(buf, n);
}

// The validator (ETag, else Last-Modified) of the response whose bytes the file holds, kept
// beside it so a later resume asks If-Range: a server whose file changed sends it whole (200)
// instead of splicing new bytes onto old ones. Weak ETags are not allowed in If-Range.
void write_validator(const fs::path& p, const std::string& etag, const std::string& modified) {
  const std::string v = !etag.empty() && etag.rfind("W/", 0) != 0 ? etag : modified;
  std::error_code ec;
  if (v.empty() || v.size() > 400) {
    fs::remove(p, ec);
    return;
  }
  FilePtr f(std::fopen(p.c_str(), "wb"));
  if (f) std::fwrite(v.data(), 1, v.size(), f.get());
}

bool resumable(CURLcode rc) {
  return rc == CURLE_PARTIAL_FILE || rc == CURLE_RECV_ERROR || rc == CURLE_OPERATION_TIMEDOUT ||
         rc == CURLE_GOT_NOTHING || rc == CURLE_SEND_ERROR;
}

}  // namespace

fs::path validator_path(const fs::path& file) {
  fs::path p = file;
  p += ".validator";
  return p;
}

Result<Downloaded> download(const std::string& url, const fs::path& file,
                            const DownloadOptions& options) {
  global_init_once();
  LEANCUT_ASSIGN_OR_RETURN(Sha256 hash, Sha256::make());
  Downloaded result;
  std::string last_error = "no transfer made";
  for (int attempt = 0; attempt < std::max(1, options.attempts); ++attempt) {
    std::error_code ec;
    const auto on_disk = fs::exists(file, ec) ? fs::file_size(file, ec) : 0;
    Transfer t;
    t.offset = ec ? 0 : static_cast<int64_t>(on_disk);
    if (attempt == 0) result.resumed_from = t.offset;
    hash.reset();
    // What is on disk already is hashed from the file: the checksum covers every byte.
    if (t.offset > 0) {
      if (Status s = hash_file(file, hash, t.offset); !s) return s.error();
    }
    FilePtr f(std::fopen(file.c_str(), t.offset > 0 ? "r+b" : "wb"));
    if (!f) return make_error(ErrorCode::Io, file.string() + ": cannot write");
    if (std::fseek(f.get(), static_cast<long>(t.offset), SEEK_SET) != 0) {
      return make_error(ErrorCode::Io, file.string() + ": seek failed");
    }
    CurlPtr curl(curl_easy_init());
    if (!curl) return make_error(ErrorCode::Internal, "curl_easy_init failed");
    char errbuf[CURL_ERROR_SIZE] = {};
    t.curl = curl.get();
    t.file = f.get();
    t.hash = &hash;
    t.written = t.offset;
    const std::string range = std::to_string(t.offset) + "-";
    const fs::path validator_file = validator_path(file);
    SlistPtr headers;
    if (t.offset > 0) {
      if (const std::string v = read_small_file(validator_file); !v.empty()) {
        headers.reset(curl_slist_append(nullptr, ("If-Range: " + v).c_str()));
      }
    }
    CURL* c = curl.get();
    curl_easy_setopt(c, CURLOPT_URL, url.c_str());
    // Only http(s), also after a redirect: never file://, ftp:// or anything else libcurl knows.
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(c, CURLOPT_MAXREDIRS, static_cast<long>(options.max_redirects));
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(options.connect_timeout_ms));
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, static_cast<long>(options.stall_timeout_seconds));
    curl_easy_setopt(c, CURLOPT_FAILONERROR, 1L);  // 4xx/5xx: an error, no body written
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);     // worker threads: no SIGALRM for timeouts
    curl_easy_setopt(c, CURLOPT_USERAGENT, "leancut/0.1");
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, &on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &t);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, &on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &t);
    if (t.offset > 0) curl_easy_setopt(c, CURLOPT_RANGE, range.c_str());
    if (headers) curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());
    const CURLcode rc = curl_easy_perform(c);
    ++result.transfers;
    result.bytes_transferred += t.received;
    long code = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    const bool flushed = std::fflush(f.get()) == 0 && ::fsync(fileno(f.get())) == 0;
    f.reset();
    // A new file was started (nothing resumed): remember what it is a copy of.
    if (t.decided && t.written == t.received) {
      write_validator(validator_file, t.etag, t.last_modified);
    }
    if (t.write_failed || (rc == CURLE_OK && !flushed)) {
      return make_error(ErrorCode::Io, file.string() + ": write failed");
    }
    if (rc == CURLE_OK) {
      fs::remove(validator_file, ec);
      result.size = t.written;
      result.sha256 = hash.hex_digest();
      result.etag = t.etag;
      result.last_modified = t.last_modified;
      return result;
    }
    if (t.range_mismatch || (rc == CURLE_HTTP_RETURNED_ERROR && code == 416 && t.offset > 0)) {
      // The server's idea of the range is not ours (or the file changed size): start over.
      fs::remove(file, ec);
      fs::remove(validator_file, ec);
      last_error = "HTTP " + std::to_string(code) + " to a resumed request";
      continue;
    }
    if (rc == CURLE_HTTP_RETURNED_ERROR) {
      return make_error(ErrorCode::NotFound, "HTTP " + std::to_string(code));
    }
    last_error = errbuf[0] != '\0' ? errbuf : curl_easy_strerror(rc);
    long os_errno = 0;
    // curl 7.88 says "Couldn't connect to server"; the system's reason says which failure it was.
    if (curl_easy_getinfo(c, CURLINFO_OS_ERRNO, &os_errno) == CURLE_OK && os_errno != 0) {
      last_error += std::string(" (") + std::strerror(static_cast<int>(os_errno)) + ")";
    }
    if (!resumable(rc)) return make_error(ErrorCode::MediaError, last_error);
  }
  return make_error(ErrorCode::MediaError,
                    last_error + " (after " + std::to_string(result.transfers) + " transfers)");
}

}  // namespace leancut::fetch
