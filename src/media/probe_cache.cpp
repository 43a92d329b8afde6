#include "media/probe_cache.h"

#include <chrono>
#include <system_error>

namespace leancut::media {

memory::CacheOptions ProbeCache::default_options() {
  memory::CacheOptions o;
  o.capacity_bytes = 4 << 20;
  return o;
}

ProbeCache::ProbeCache(memory::CacheOptions options, const Clock& clock, memory::Account* account)
    : cache_(options, clock, account) {}

std::string ProbeCache::key_for(const std::filesystem::path& path, int64_t size, int64_t mtime_ns) {
  std::string key = path.lexically_normal().string();
  key += '\0';
  key += std::to_string(size);
  key += '\0';
  key += std::to_string(mtime_ns);
  return key;
}

int64_t ProbeCache::estimated_bytes(const ProbeInfo& info) {
  int64_t bytes = static_cast<int64_t>(sizeof(ProbeInfo));
  bytes += static_cast<int64_t>(info.path.native().capacity() + info.format_name.capacity());
  if (info.video)
    bytes +=
        static_cast<int64_t>(info.video->codec.capacity() + info.video->pixel_format.capacity());
  if (info.audio) bytes += static_cast<int64_t>(info.audio->codec.capacity());
  // The key repeats the path, plus size and time digits.
  bytes += static_cast<int64_t>(info.path.native().size()) + 48;
  return bytes;
}

Result<ProbeInfo> ProbeCache::probe(const std::filesystem::path& path) {
  std::error_code size_ec;
  std::error_code time_ec;
  const auto size = std::filesystem::file_size(path, size_ec);
  const auto mtime = std::filesystem::last_write_time(path, time_ec);
  if (size_ec || time_ec) return probe_file(path);  // probe_file names the problem
  const std::string key = key_for(
      path, static_cast<int64_t>(size),
      std::chrono::duration_cast<std::chrono::nanoseconds>(mtime.time_since_epoch()).count());
  if (std::optional<ProbeInfo> hit = cache_.get(key)) {
    // Same file, perhaps named differently ("clips/../clips/a.mp4"): report the caller's name.
    hit->path = path;
    return std::move(*hit);
  }
  Result<ProbeInfo> probed = probe_file(path);
  if (probed.ok()) cache_.put(key, probed.value(), estimated_bytes(probed.value()));
  return probed;
}

}  // namespace leancut::media
