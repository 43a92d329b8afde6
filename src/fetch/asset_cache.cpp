#include "fetch/asset_cache.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "fetch/sha256.h"

namespace leancut::fetch {

namespace fs = std::filesystem;

fs::path default_cache_dir() {
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg != nullptr && xdg[0] == '/') {
    return fs::path(xdg) / "leancut" / "assets";
  }
  const char* home = std::getenv("HOME");
  return fs::path(home != nullptr && home[0] != '\0' ? home : "/tmp") / ".cache" / "leancut" /
         "assets";
}

std::optional<int64_t> parse_duration_seconds(std::string_view text) {
  if (text.empty()) return std::nullopt;
  int64_t unit = 1;
  switch (text.back()) {
    case 's':
      unit = 1;
      break;
    case 'm':
      unit = 60;
      break;
    case 'h':
      unit = 3600;
      break;
    case 'd':
      unit = 86400;
      break;
    case 'w':
      unit = 7 * 86400;
      break;
    default:
      unit = 0;
  }
  if (unit != 0) {
    text.remove_suffix(1);
  } else {
    unit = 1;
  }
  if (text.empty() || text.size() > 12) return std::nullopt;
  int64_t n = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + (c - '0');
  }
  return n * unit;
}

EntryLock& EntryLock::operator=(EntryLock&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = o.fd_;
    o.fd_ = -1;
  }
  return *this;
}

EntryLock::~EntryLock() {
  if (fd_ >= 0) ::close(fd_);
}

Status EntryLock::share() {
  if (::flock(fd_, LOCK_SH) != 0) {
    return make_error(ErrorCode::Io, std::string("flock(LOCK_SH): ") + std::strerror(errno));
  }
  return ok_status();
}

namespace {

// Opens (creating) a lock file and flocks it; `blocking` false returns an unheld lock when busy.
Result<EntryLock> take_lock(const fs::path& file, int operation, bool blocking) {
  const int fd = ::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return make_error(ErrorCode::Io, file.string() + ": " + std::strerror(errno));
  EntryLock lock(fd);
  int rc = 0;
  do {
    rc = ::flock(fd, operation | (blocking ? 0 : LOCK_NB));
  } while (rc != 0 && errno == EINTR);
  if (rc != 0) {
    if (!blocking && errno == EWOULDBLOCK) return EntryLock();
    return make_error(ErrorCode::Io, file.string() + ": flock: " + std::strerror(errno));
  }
  return lock;
}

}  // namespace

Result<AssetCache> AssetCache::open(CacheOptions options) {
  if (options.dir.empty()) options.dir = default_cache_dir();
  if (options.max_bytes < 0 || options.max_age_seconds < 0) {
    return make_error(ErrorCode::InvalidInput, "the asset cache's limits must not be negative");
  }
  std::error_code ec;
  fs::create_directories(options.dir, ec);
  if (ec || !fs::is_directory(options.dir)) {
    return make_error(ErrorCode::Io, options.dir.string() + ": cannot make the asset cache folder" +
                                         (ec ? ": " + ec.message() : ""));
  }
  return AssetCache(std::move(options));
}

int64_t AssetCache::now_unix() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string AssetCache::key_for(const std::string& url) {
  Result<Sha256> h = Sha256::make();
  LEANCUT_CHECK(h.ok());
  h->update({url.data(), url.size()});
  return h->hex_digest().substr(0, 32);
}

fs::path AssetCache::data_path(const std::string& key) const {
  return options_.dir / (key + ".data");
}
fs::path AssetCache::part_path(const std::string& key) const {
  return options_.dir / (key + ".part");
}
fs::path AssetCache::sidecar_path(const std::string& key) const {
  return options_.dir / (key + ".json");
}

Result<EntryLock> AssetCache::lock_entry(const std::string& key) const {
  return take_lock(options_.dir / (key + ".lock"), LOCK_EX, true);
}

std::optional<EntryInfo> AssetCache::read_sidecar(const std::string& key) const {
  std::ifstream in(sidecar_path(key));
  if (!in) return std::nullopt;
  nlohmann::json j = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return std::nullopt;
  EntryInfo e;
  const auto str = [&](const char* k, std::string& out) {
    if (j.contains(k) && j[k].is_string()) out = j[k].get<std::string>();
  };
  const auto num = [&](const char* k, int64_t& out) {
    if (j.contains(k) && j[k].is_number_integer()) out = j[k].get<int64_t>();
  };
  str("url", e.url);
  str("sha256", e.sha256);
  str("etag", e.etag);
  str("last_modified", e.last_modified);
  num("size", e.size);
  num("fetched_at", e.fetched_at);
  num("last_used", e.last_used);
  return e;
}

Status AssetCache::write_sidecar(const std::string& key, const EntryInfo& e) const {
  const nlohmann::json j = {{"url", e.url},
                            {"size", e.size},
                            {"sha256", e.sha256},
                            {"etag", e.etag},
                            {"last_modified", e.last_modified},
                            {"fetched_at", e.fetched_at},
                            {"last_used", e.last_used}};
  // Written beside and renamed, so a reader never sees half a sidecar.
  fs::path tmp = sidecar_path(key);
  tmp += ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << j.dump() << "\n";
    if (!out.flush()) return make_error(ErrorCode::Io, tmp.string() + ": write failed");
  }
  std::error_code ec;
  fs::rename(tmp, sidecar_path(key), ec);
  if (ec) return make_error(ErrorCode::Io, sidecar_path(key).string() + ": " + ec.message());
  return ok_status();
}

std::optional<EntryInfo> AssetCache::lookup(const std::string& key, const std::string& url) const {
  std::optional<EntryInfo> e = read_sidecar(key);
  if (!e || e->url != url) return std::nullopt;
  std::error_code ec;
  const auto size = fs::file_size(data_path(key), ec);
  if (ec || static_cast<int64_t>(size) != e->size) return std::nullopt;
  if (now_unix() - e->fetched_at > options_.max_age_seconds) return std::nullopt;
  return e;
}

Status AssetCache::touch(const std::string& key, EntryInfo info) const {
  info.last_used = now_unix();
  return write_sidecar(key, info);
}

Status AssetCache::commit(const std::string& key, EntryInfo info) const {
  // The old sidecar goes first: between the rename and the new sidecar, no reader takes the new
  // data for the old entry.
  std::error_code ec;
  fs::remove(sidecar_path(key), ec);
  fs::rename(part_path(key), data_path(key), ec);
  if (ec) return make_error(ErrorCode::Io, data_path(key).string() + ": " + ec.message());
  info.fetched_at = info.last_used = now_unix();
  return write_sidecar(key, info);
}

void AssetCache::remove(const std::string& key) const {
  std::error_code ec;
  fs::remove(sidecar_path(key), ec);
  fs::remove(data_path(key), ec);
  fs::remove(part_path(key), ec);
  fs::path validator = part_path(key);
  validator += ".validator";  // the downloader's (downloader.h)
  fs::remove(validator, ec);
}

Result<EvictStats> AssetCache::evict() const {
  // One evicting process at a time; downloads go on meanwhile (they hold their entries' locks).
  LEANCUT_ASSIGN_OR_RETURN(EntryLock guard, take_lock(options_.dir / "evict.lock", LOCK_EX, true));
  struct Entry {
    std::string key;
    EntryInfo info;
    int64_t bytes = 0;
  };
  std::vector<Entry> entries;
  std::error_code ec;
  for (const fs::directory_entry& d : fs::directory_iterator(options_.dir, ec)) {
    const fs::path& p = d.path();
    if (p.extension() != ".json") continue;
    const std::string key = p.stem().string();
    std::optional<EntryInfo> info = read_sidecar(key);
    if (!info) continue;
    std::error_code size_ec;
    const auto size = fs::file_size(data_path(key), size_ec);
    entries.push_back({key, *info, size_ec ? 0 : static_cast<int64_t>(size)});
  }
  if (ec) return make_error(ErrorCode::Io, options_.dir.string() + ": " + ec.message());
  EvictStats stats;
  // Parts abandoned longer than max_age ago (a download that failed and was never asked for
  // again) would otherwise stay forever, unseen by the size limit.
  const auto part_cutoff =
      fs::file_time_type::clock::now() - std::chrono::seconds(options_.max_age_seconds);
  for (const fs::directory_entry& d : fs::directory_iterator(options_.dir, ec)) {
    std::error_code t_ec;
    if (d.path().extension() != ".part" || d.last_write_time(t_ec) >= part_cutoff || t_ec) {
      continue;
    }
    const std::string key = d.path().stem().string();
    Result<EntryLock> lock = take_lock(options_.dir / (key + ".lock"), LOCK_EX, false);
    if (lock && lock->held() && !fs::exists(data_path(key), t_ec)) remove(key);
  }
  for (const Entry& e : entries) stats.total_bytes += e.bytes;
  // Oldest use first: stale entries go whatever the total, then LRU while over the limit.
  std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
    return a.info.last_used != b.info.last_used ? a.info.last_used < b.info.last_used
                                                : a.key < b.key;
  });
  const int64_t now = now_unix();
  for (const Entry& e : entries) {
    const bool stale = now - e.info.fetched_at > options_.max_age_seconds;
    if (!stale && stats.total_bytes <= options_.max_bytes) continue;
    Result<EntryLock> lock = take_lock(options_.dir / (e.key + ".lock"), LOCK_EX, false);
    if (!lock) return lock.error();
    if (!lock->held()) {
      ++stats.skipped_in_use;
      continue;
    }
    remove(e.key);
    ++stats.removed;
    stats.removed_bytes += e.bytes;
    stats.total_bytes -= e.bytes;
  }
  return stats;
}

}  // namespace leancut::fetch
