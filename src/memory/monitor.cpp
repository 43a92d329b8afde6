#include "memory/monitor.h"

#include <algorithm>
#include <limits>
#include <utility>

#include "memory/rss.h"

namespace leancut::memory {

int64_t effective_limit_bytes(std::optional<int64_t> configured_bytes, const Sample& sample) {
  int64_t limit = std::numeric_limits<int64_t>::max();
  auto bind = [&](std::optional<int64_t> v) {
    if (v && *v > 0) limit = std::min(limit, *v);
  };
  bind(configured_bytes);
  bind(sample.cgroup.limit_bytes);
  bind(sample.cgroup.high_bytes);
  bind(sample.mem_total_bytes);
  return limit;
}

Monitor::Monitor(SysRoot root, const Clock& clock)
    : root_(std::move(root)),
      clock_(&clock),
      cgroup_(resolve_cgroup(root_)),
      mem_total_bytes_(read_mem_total_bytes(root_).value_or(0)) {}

Sample Monitor::sample() const {
  Sample s;
  s.time = clock_->now();
  s.rss_bytes = read_rss_bytes(root_.at("/proc/self")).value_or(0);
  s.mem_total_bytes = mem_total_bytes_;
  s.cgroup_version = cgroup_.memory.version;
  s.cgroup = read_cgroup_memory(cgroup_);
  std::optional<Psi> psi = read_psi(cgroup_.memory_pressure);
  s.psi_from_cgroup = psi.has_value();
  if (!psi) psi = read_psi(root_.at("/proc/pressure/memory"));
  if (psi && psi->some) s.psi_some_avg10 = psi->some->avg10;
  if (psi && psi->full) s.psi_full_avg10 = psi->full->avg10;
  return s;
}

int64_t Monitor::effective_limit_bytes(std::optional<int64_t> configured_bytes) const {
  return memory::effective_limit_bytes(configured_bytes, sample());
}

int Monitor::effective_cpu_count() const {
  return memory::effective_cpu_count(cgroup_);
}

std::optional<SmapsRollup> Monitor::smaps_rollup() const {
  auto text = detail::read_file(root_.at("/proc/self/smaps_rollup"));
  if (!text) return std::nullopt;
  auto rss = detail::find_keyed_value(*text, "Rss:");
  if (!rss) return std::nullopt;
  SmapsRollup r;
  r.rss_bytes = *rss * 1024;
  r.pss_bytes = detail::find_keyed_value(*text, "Pss:").value_or(0) * 1024;
  r.anonymous_bytes = detail::find_keyed_value(*text, "Anonymous:").value_or(0) * 1024;
  r.swap_bytes = detail::find_keyed_value(*text, "Swap:").value_or(0) * 1024;
  return r;
}

}  // namespace leancut::memory
