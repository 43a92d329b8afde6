// Cgroup discovery and readers: where this process's memory and CPU limits live (cgroup v1 or
// v2), what they are, and memory pressure (PSI). Every path goes through a SysRoot so tests point
// it at a fake tree (tests/fakes/cgroupfs/); production uses "/".
//
//   CgroupInfo cg = resolve_cgroup(SysRoot{});      // once: reads /proc/self/{cgroup,mountinfo}
//   CgroupMemory mem = read_cgroup_memory(cg);      // per sample: a few small files
//   int threads = effective_cpu_count(cg);          // decoder/encoder thread budget
//
// Nothing here fails a render: an absent, unreadable or malformed file leaves its field empty
// (std::optional) and resolve_cgroup() records why in CgroupInfo::notes. The one Result is
// PsiTrigger::arm, because a caller asked for it and must learn that it is not permitted.
// Free functions are thread-safe (they only read files); PsiTrigger is thread-compatible.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace leancut::memory {

// The file-system root every reader prefixes: "/" in production, a fake tree in tests. Absolute
// paths found in files (mount points in mountinfo) are taken relative to it.
struct SysRoot {
  std::filesystem::path root = "/";

  // at("/proc/self/cgroup") -> root/proc/self/cgroup.
  std::filesystem::path at(std::string_view absolute_path) const;
};

enum class CgroupVersion { None, V1, V2 };
const char* to_string(CgroupVersion version);

// Where one controller's files are for this process. Paths already carry the SysRoot prefix.
struct CgroupDir {
  CgroupVersion version = CgroupVersion::None;
  std::filesystem::path group;  // the process's own group directory
  std::filesystem::path mount;  // its mount point: limits are min'ed from `group` up to here
};

// Resolved once per process; the files inside are re-read at each sample, since limits can
// change at run time (`docker update`, systemd set-property).
struct CgroupInfo {
  CgroupDir memory;
  CgroupDir cpu;
  // The v2 group's memory.pressure (per-group PSI). Also set on v1 hybrid hosts, where PSI is
  // still accounted on the unified hierarchy. Empty when there is no cgroup2 mount.
  std::filesystem::path memory_pressure;
  std::vector<std::string> notes;  // why a controller was not found, for diagnostics
};

CgroupInfo resolve_cgroup(const SysRoot& root);

// One read of the memory controller's files. Limits are the tightest over the group and its
// ancestors up to the mount point; nullopt means "no limit" or "could not tell".
struct CgroupMemory {
  std::optional<int64_t> limit_bytes;        // v2 memory.max, v1 memory.limit_in_bytes
  std::optional<int64_t> high_bytes;         // v2 memory.high: reclaim throttles above it
  std::optional<int64_t> usage_bytes;        // v2 memory.current, v1 memory.usage_in_bytes
  std::optional<int64_t> working_set_bytes;  // usage - inactive_file (what the OOM killer sees)
  // v2 memory.events of the group (cumulative, including descendants).
  std::optional<int64_t> events_high;
  std::optional<int64_t> events_max;
  std::optional<int64_t> events_oom;
  std::optional<int64_t> events_oom_kill;
  std::optional<int64_t> failcnt;  // v1 memory.failcnt: times usage hit the limit
};

// Cost: v2 reads memory.current, memory.stat (~1.5 KiB), memory.events, plus memory.max and
// memory.high for each level; v1 reads usage, memory.stat, failcnt and one limit per level.
// About 10-15 us a file on our build VM; v1's memory.stat sums the subtree, so it grows with the
// number of child groups (ours has none).
CgroupMemory read_cgroup_memory(const CgroupInfo& info);

// One PSI line: share of wall time (percent) some or all tasks stalled on memory.
struct PsiLine {
  double avg10 = 0;
  double avg60 = 0;
  double avg300 = 0;
  int64_t total_us = 0;  // cumulative stall time
};
struct Psi {
  std::optional<PsiLine> some;
  std::optional<PsiLine> full;
};
// Reads /proc/pressure/memory or a cgroup's memory.pressure; nullopt if absent or PSI is off.
std::optional<Psi> read_psi(const std::filesystem::path& pressure_file);

// MemTotal from root/proc/meminfo, in bytes.
std::optional<int64_t> read_mem_total_bytes(const SysRoot& root);

// CPUs the cgroup quota allows: ceil(quota / period), tightest over the group and ancestors.
// nullopt when unlimited (v2 "max", v1 quota -1) or unknown.
std::optional<int> read_cgroup_cpu_limit(const CgroupInfo& info);
// CPUs this process may run on: sched_getaffinity's count, else hardware_concurrency; >= 1.
int available_cpu_count();
// min(cgroup CPU limit, available_cpus), >= 1: the number of busy threads worth running.
int effective_cpu_count(const CgroupInfo& info, int available_cpus = available_cpu_count());

// A PSI trigger: poll() wakes when tasks stall on memory for `stall` within any `window`, so a
// pressure thread reacts within milliseconds instead of waiting for its next sample. The kernel
// allows windows of 500 ms to 10 s; unprivileged users may need multiples of 2 s, and containers
// often may not write the file at all. Move-only; owns the file descriptor.
class PsiTrigger {
 public:
  enum class Kind { Some, Full };

  // Writes "some 150000 1000000" (stall and window in us) to `pressure_file`. Fails (NotFound,
  // Unsupported) where the file is absent, is not a proc/cgroup2 pressure file, or the kernel
  // refuses; never an error that should stop a render.
  static Result<PsiTrigger> arm(const std::filesystem::path& pressure_file, Kind kind,
                                std::chrono::microseconds stall, std::chrono::microseconds window);

  PsiTrigger(PsiTrigger&& other) noexcept;
  PsiTrigger& operator=(PsiTrigger&& other) noexcept;
  PsiTrigger(const PsiTrigger&) = delete;
  PsiTrigger& operator=(const PsiTrigger&) = delete;
  ~PsiTrigger();

  // Blocks up to `timeout`: true when the trigger fired, false on timeout. An error means the
  // trigger is dead (the cgroup was removed); re-arm or fall back to sampling.
  Result<bool> wait(std::chrono::milliseconds timeout) const;
  int fd() const { return fd_; }  // for a caller's own poll() set; borrowed

 private:
  explicit PsiTrigger(int fd) : fd_(fd) {}
  int fd_ = -1;
};

// Parsers, exposed for tests. Each takes a file's text and returns nullopt or skips lines it
// cannot read.
namespace detail {

struct ProcCgroupLine {
  int hierarchy_id = 0;
  std::vector<std::string> controllers;  // empty for the v2 line "0::/..."
  std::string path;
};
std::vector<ProcCgroupLine> parse_proc_cgroup(std::string_view text);

struct MountInfo {
  std::string root;         // the mounted subtree: "/" or, in a container, "/docker/abc"
  std::string mount_point;  // octal escapes (\040) decoded
  std::string fstype;
  std::vector<std::string> super_options;
};
std::vector<MountInfo> parse_mountinfo(std::string_view text);

// A limit file: "max" or a v1 near-INT64_MAX value -> kUnlimited; garbage -> nullopt.
inline constexpr int64_t kUnlimited = INT64_MAX;
std::optional<int64_t> parse_limit(std::string_view text);
// "key value" (memory.stat, memory.events) or "Key: value kB" (meminfo: pass "MemTotal:").
std::optional<int64_t> find_keyed_value(std::string_view text, std::string_view key);
std::optional<Psi> parse_psi(std::string_view text);
// v2 cpu.max "200000 100000" or "max 100000" -> CPUs (ceil), kUnlimited for max.
std::optional<int64_t> parse_cpu_max(std::string_view text);
// v1 cfs quota and period -> CPUs (ceil), kUnlimited for quota -1.
std::optional<int64_t> parse_cfs_quota(std::string_view quota_text, std::string_view period_text);

// Small-file read (procfs and cgroupfs files are generated per read and report size 0).
std::optional<std::string> read_file(const std::filesystem::path& path);

}  // namespace detail
}  // namespace leancut::memory
