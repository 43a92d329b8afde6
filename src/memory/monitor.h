// Monitor: samples what the kernel says about our memory (RSS, the cgroup's limits, usage and
// events, PSI) so pressure handling and the planner work from one timestamped value.
//
//   memory::Monitor monitor(memory::SysRoot{}, SteadyClock::instance());
//   int64_t budget_bytes = monitor.effective_limit_bytes(configured_bytes);  // planner, at start
//   memory::Sample s = monitor.sample();                                     // every tick
//   if (s.psi_some_avg10.value_or(0) > 10.0) ...                             // stalls: shed load
//
// Cost of sample(): no blocking I/O (procfs and cgroupfs are generated in memory); 6-10
// small-file reads (statm, memory.current or usage, memory.stat ~1.5 KiB, events or failcnt, one
// limit file per cgroup level, one pressure file), each an open/read/close. Measured ~90 us on
// our 2-core VM build machine (10-15 us a file; v1, 3 levels): 0.1% of a core at a 100 ms tick.
// It allocates a few KiB transiently. smaps_rollup() is not part of a sample (see there).
//
// Thread-safe: immutable after construction; sample() may run on any thread. Memory held: the
// resolved paths, under 1 KiB. The Clock is borrowed and must outlive the monitor.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>

#include "base/clock.h"
#include "memory/cgroup.h"

namespace leancut::memory {

struct Sample {
  Clock::TimePoint time;
  int64_t rss_bytes = 0;        // /proc/self/statm; 0 only when unreadable (no procfs)
  int64_t mem_total_bytes = 0;  // MemTotal; 0 when unknown
  CgroupVersion cgroup_version = CgroupVersion::None;
  CgroupMemory cgroup;  // every field optional: absent files leave it empty
  // Memory PSI in percent: the group's memory.pressure when readable (stalls inside our
  // cgroup), else the system's /proc/pressure/memory; both empty when PSI is off.
  std::optional<double> psi_some_avg10;
  std::optional<double> psi_full_avg10;
  bool psi_from_cgroup = false;
};

// The budget the process may plan for: min(configured, cgroup limit, memory.high, MemTotal),
// ignoring what is unknown. memory.high counts because above it the kernel throttles and
// reclaims, so it is the practical ceiling. INT64_MAX (the ledger's kNoLimit) when nothing binds.
int64_t effective_limit_bytes(std::optional<int64_t> configured_bytes, const Sample& sample);

// /proc/self/smaps_rollup, in bytes: Pss splits shared pages (libav's code) among their users.
struct SmapsRollup {
  int64_t rss_bytes = 0;
  int64_t pss_bytes = 0;
  int64_t anonymous_bytes = 0;  // heap and frame buffers: what our allocations cost
  int64_t swap_bytes = 0;
};

class Monitor {
 public:
  // Resolves the cgroup paths (reads /proc/self/cgroup and mountinfo) and MemTotal once.
  Monitor(SysRoot root, const Clock& clock);

  Sample sample() const;
  // effective_limit_bytes() over a fresh sample: limits can change while we run.
  int64_t effective_limit_bytes(std::optional<int64_t> configured_bytes) const;
  // Threads worth running for decode/encode (cgroup CPU quota, affinity); >= 1.
  int effective_cpu_count() const;

  // The kernel walks every mapping under the mmap lock: ~60 us for a small process here, growing
  // with the number of mappings, and it contends with our own mmap/munmap of frame buffers. For
  // reports and diagnostics, not for every tick. nullopt when unreadable.
  std::optional<SmapsRollup> smaps_rollup() const;

  const CgroupInfo& cgroup() const { return cgroup_; }

 private:
  SysRoot root_;
  const Clock* clock_;  // borrowed
  CgroupInfo cgroup_;
  int64_t mem_total_bytes_ = 0;
};

}  // namespace leancut::memory
