#include "memory/cgroup.h"

#include <fcntl.h>
#include <linux/magic.h>
#include <poll.h>
#include <sched.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <thread>
#include <utility>

namespace leancut::memory {
namespace fs = std::filesystem;

namespace {

// v1 reports "no limit" as PAGE_COUNTER_MAX pages (9223372036854771712 with 4 KiB pages, a
// little less with 64 KiB pages). No machine has 4 EiB, so anything above is unlimited.
constexpr int64_t kV1UnlimitedAbove = int64_t{1} << 62;

// mountinfo and cgroup files are small; the cap only guards against a runaway file.
constexpr std::size_t kMaxFileBytes = 4 << 20;

int64_t limit_value(int64_t v) {
  return v >= kV1UnlimitedAbove ? detail::kUnlimited : v;
}

std::string_view trim(std::string_view s) {
  const auto is_space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

// Splits on any run of `sep`, dropping empty pieces.
std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < s.size()) {
    std::size_t j = s.find(sep, i);
    if (j == std::string_view::npos) j = s.size();
    if (j > i) out.push_back(s.substr(i, j - i));
    i = j + 1;
  }
  return out;
}

// Calls f(line) for each line, without the newline.
template <typename F>
void for_each_line(std::string_view text, F&& f) {
  while (!text.empty()) {
    std::size_t nl = text.find('\n');
    f(text.substr(0, nl));
    if (nl == std::string_view::npos) break;
    text.remove_prefix(nl + 1);
  }
}

// The whole of `s` as an integer, or nullopt.
std::optional<int64_t> to_int(std::string_view s) {
  int64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

std::optional<double> to_double(std::string_view s) {
  double v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

// mountinfo escapes space, tab, newline and backslash as \ooo.
std::string unescape_octal(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size() && s[i + 1] >= '0' && s[i + 1] <= '3' && s[i + 2] >= '0' &&
        s[i + 2] <= '7' && s[i + 3] >= '0' && s[i + 3] <= '7') {
      out.push_back(
          static_cast<char>((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0')));
      i += 3;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

bool contains(const std::vector<std::string>& v, std::string_view item) {
  return std::find(v.begin(), v.end(), item) != v.end();
}

// Ceil of quota/period CPUs, at least 1.
int64_t ceil_cpus(int64_t quota, int64_t period) {
  return std::max<int64_t>(1, quota / period + (quota % period != 0 ? 1 : 0));
}

void take_min(std::optional<int64_t>& acc, std::optional<int64_t> v) {
  if (v && (!acc || *v < *acc)) acc = v;
}

std::optional<int64_t> unlimited_to_nullopt(std::optional<int64_t> v) {
  if (v && *v == detail::kUnlimited) return std::nullopt;
  return v;
}

std::optional<int64_t> read_int(const fs::path& path) {
  auto text = detail::read_file(path);
  if (!text) return std::nullopt;
  return to_int(trim(*text));
}

std::optional<int64_t> read_limit(const fs::path& path) {
  auto text = detail::read_file(path);
  if (!text) return std::nullopt;
  return detail::parse_limit(*text);
}

// The group directory and each ancestor up to and including the mount point, leaf first.
std::vector<fs::path> levels(const CgroupDir& dir) {
  std::vector<fs::path> out{dir.group};
  fs::path rel = dir.group.lexically_relative(dir.mount);
  if (rel.empty() || rel == "." || *rel.begin() == "..") return out;
  fs::path p = dir.group;
  for (auto it = rel.begin(); it != rel.end(); ++it) {
    p = p.parent_path();
    out.push_back(p);
  }
  return out;
}

// Picks the mount for a hierarchy: the one whose root is the longest prefix of the process's
// group path (containers may bind the same hierarchy several times), else the first.
const detail::MountInfo* pick_mount(const std::vector<const detail::MountInfo*>& candidates,
                                    std::string_view group_path) {
  const detail::MountInfo* best = nullptr;
  std::size_t best_len = 0;
  for (const auto* m : candidates) {
    const std::string& r = m->root;
    bool prefix = r == "/" || group_path == r ||
                  (group_path.size() > r.size() && group_path.substr(0, r.size()) == r &&
                   group_path[r.size()] == '/');
    if (prefix && (best == nullptr || r.size() > best_len)) {
      best = m;
      best_len = r.size();
    }
  }
  if (best == nullptr && !candidates.empty()) best = candidates.front();
  return best;
}

// The process's group directory inside `mount`. The mount shows the subtree at `mount.root`, so
// the group is mount point + (group path - root); a container whose root IS its group (docker
// without a cgroup namespace) gets the mount point itself.
CgroupDir group_dir(const SysRoot& root, const detail::MountInfo& mount,
                    const std::string& group_path, CgroupVersion version,
                    std::vector<std::string>& notes) {
  CgroupDir dir;
  dir.version = version;
  dir.mount = root.at(mount.mount_point);
  std::string_view rel = group_path;
  if (mount.root != "/") {
    if (rel == mount.root) {
      rel = "";
    } else if (rel.size() > mount.root.size() && rel.substr(0, mount.root.size()) == mount.root &&
               rel[mount.root.size()] == '/') {
      rel.remove_prefix(mount.root.size());
    } else {
      notes.push_back("cgroup " + group_path + " is outside the mount root " + mount.root + " at " +
                      mount.mount_point + "; using the mount point");
      rel = "";
    }
  }
  while (!rel.empty() && rel.front() == '/') rel.remove_prefix(1);
  for (std::string_view part : split(rel, '/')) {
    if (part == "..") {  // a cgroup namespace moved us outside it: we cannot see our group
      notes.push_back("cgroup " + group_path + " leaves the visible hierarchy; using the mount " +
                      mount.mount_point);
      rel = "";
      break;
    }
  }
  dir.group = rel.empty() ? dir.mount : dir.mount / fs::path(rel);
  if (!fs::is_directory(dir.group)) {
    notes.push_back("cgroup directory " + dir.group.string() + " does not exist");
  }
  return dir;
}

bool v2_controller_enabled(const fs::path& group, std::string_view controller) {
  auto text = detail::read_file(group / "cgroup.controllers");
  if (!text) return true;  // cannot tell: try the files, which degrade on their own
  for (std::string_view c : split(trim(*text), ' ')) {
    if (c == controller) return true;
  }
  return false;
}

}  // namespace

fs::path SysRoot::at(std::string_view absolute_path) const {
  while (!absolute_path.empty() && absolute_path.front() == '/') absolute_path.remove_prefix(1);
  return absolute_path.empty() ? root : root / fs::path(absolute_path);
}

const char* to_string(CgroupVersion version) {
  switch (version) {
    case CgroupVersion::None:
      return "none";
    case CgroupVersion::V1:
      return "v1";
    case CgroupVersion::V2:
      return "v2";
  }
  return "?";
}

namespace detail {

std::optional<std::string> read_file(const fs::path& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  std::string out;
  char buf[4096];
  while (true) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {  // e.g. EOPNOTSUPP from a pressure file with PSI disabled
      ::close(fd);
      return std::nullopt;
    }
    if (n == 0) break;
    out.append(buf, static_cast<std::size_t>(n));
    if (out.size() > kMaxFileBytes) break;
  }
  ::close(fd);
  return out;
}

std::vector<ProcCgroupLine> parse_proc_cgroup(std::string_view text) {
  std::vector<ProcCgroupLine> out;
  for_each_line(text, [&](std::string_view line) {
    line = trim(line);
    std::size_t c1 = line.find(':');
    if (c1 == std::string_view::npos) return;
    std::size_t c2 = line.find(':', c1 + 1);
    if (c2 == std::string_view::npos) return;
    auto id = to_int(line.substr(0, c1));
    std::string_view path = line.substr(c2 + 1);
    if (!id || path.empty() || path.front() != '/') return;
    ProcCgroupLine l;
    l.hierarchy_id = static_cast<int>(*id);
    for (std::string_view c : split(line.substr(c1 + 1, c2 - c1 - 1), ',')) {
      l.controllers.emplace_back(c);
    }
    l.path = std::string(path);
    out.push_back(std::move(l));
  });
  return out;
}

std::vector<MountInfo> parse_mountinfo(std::string_view text) {
  std::vector<MountInfo> out;
  for_each_line(text, [&](std::string_view line) {
    std::vector<std::string_view> f = split(line, ' ');
    // id parent major:minor root mount_point options [optional...] - fstype source super_options
    std::size_t sep = 6;
    while (sep < f.size() && f[sep] != "-") ++sep;
    if (sep + 2 >= f.size()) return;  // no separator, or no fstype and source after it
    MountInfo m;
    m.root = unescape_octal(f[3]);
    m.mount_point = unescape_octal(f[4]);
    m.fstype = std::string(f[sep + 1]);
    if (sep + 3 < f.size()) {
      for (std::string_view o : split(f[sep + 3], ',')) m.super_options.emplace_back(o);
    }
    out.push_back(std::move(m));
  });
  return out;
}

std::optional<int64_t> parse_limit(std::string_view text) {
  text = trim(text);
  if (text == "max") return kUnlimited;
  auto v = to_int(text);
  if (!v || *v < 0) return std::nullopt;
  return limit_value(*v);
}

std::optional<int64_t> find_keyed_value(std::string_view text, std::string_view key) {
  std::optional<int64_t> found;
  bool seen = false;  // the first line with the key decides, even when malformed
  for_each_line(text, [&](std::string_view line) {
    if (seen || line.size() <= key.size() || line.substr(0, key.size()) != key) return;
    char next = line[key.size()];
    if (next != ' ' && next != '\t') return;  // "high" must not match "high_foo"
    seen = true;
    std::vector<std::string_view> rest = split(trim(line.substr(key.size())), ' ');
    if (!rest.empty()) found = to_int(trim(rest.front()));
  });
  return found;
}

std::optional<Psi> parse_psi(std::string_view text) {
  Psi psi;
  for_each_line(text, [&](std::string_view line) {
    std::vector<std::string_view> f = split(trim(line), ' ');
    if (f.empty() || (f[0] != "some" && f[0] != "full")) return;
    std::optional<double> avg10, avg60, avg300;
    std::optional<int64_t> total;
    for (std::size_t i = 1; i < f.size(); ++i) {
      std::size_t eq = f[i].find('=');
      if (eq == std::string_view::npos) return;
      std::string_view k = f[i].substr(0, eq);
      std::string_view v = f[i].substr(eq + 1);
      if (k == "avg10") avg10 = to_double(v);
      if (k == "avg60") avg60 = to_double(v);
      if (k == "avg300") avg300 = to_double(v);
      if (k == "total") total = to_int(v);
    }
    if (!avg10 || !avg60 || !avg300 || !total) return;
    PsiLine p{*avg10, *avg60, *avg300, *total};
    (f[0] == "some" ? psi.some : psi.full) = p;
  });
  if (!psi.some && !psi.full) return std::nullopt;
  return psi;
}

std::optional<int64_t> parse_cpu_max(std::string_view text) {
  std::vector<std::string_view> f = split(trim(text), ' ');
  if (f.empty() || f.size() > 2) return std::nullopt;
  if (f[0] == "max") return kUnlimited;
  if (f.size() != 2) return std::nullopt;
  auto quota = to_int(f[0]);
  auto period = to_int(f[1]);
  if (!quota || !period || *quota <= 0 || *period <= 0) return std::nullopt;
  return ceil_cpus(*quota, *period);
}

std::optional<int64_t> parse_cfs_quota(std::string_view quota_text, std::string_view period_text) {
  auto quota = to_int(trim(quota_text));
  if (!quota || *quota == 0) return std::nullopt;
  if (*quota < 0) return kUnlimited;
  auto period = to_int(trim(period_text));
  if (!period || *period <= 0) return std::nullopt;
  return ceil_cpus(*quota, *period);
}

}  // namespace detail

CgroupInfo resolve_cgroup(const SysRoot& root) {
  CgroupInfo info;
  auto cgroup_text = detail::read_file(root.at("/proc/self/cgroup"));
  auto mountinfo_text = detail::read_file(root.at("/proc/self/mountinfo"));
  if (!cgroup_text) info.notes.push_back("no /proc/self/cgroup: not in a cgroup");
  if (!mountinfo_text) info.notes.push_back("no /proc/self/mountinfo");
  if (!cgroup_text || !mountinfo_text) return info;

  std::vector<detail::ProcCgroupLine> lines = detail::parse_proc_cgroup(*cgroup_text);
  std::vector<detail::MountInfo> mounts = detail::parse_mountinfo(*mountinfo_text);

  const detail::ProcCgroupLine* v2_line = nullptr;
  for (const auto& l : lines) {
    if (l.hierarchy_id == 0 && l.controllers.empty()) v2_line = &l;
  }
  std::vector<const detail::MountInfo*> v2_mounts;
  for (const auto& m : mounts) {
    if (m.fstype == "cgroup2") v2_mounts.push_back(&m);
  }
  const detail::MountInfo* v2_mount =
      v2_line != nullptr ? pick_mount(v2_mounts, v2_line->path) : nullptr;
  std::optional<CgroupDir> v2_dir;
  if (v2_mount != nullptr) {
    v2_dir = group_dir(root, *v2_mount, v2_line->path, CgroupVersion::V2, info.notes);
    info.memory_pressure = v2_dir->group / "memory.pressure";
  }

  // A v1 controller, when mounted, owns its resource even on hybrid hosts; else the unified
  // hierarchy does, if the controller is enabled for our group.
  auto resolve_controller = [&](const std::string& controller) -> CgroupDir {
    for (const auto& l : lines) {
      if (!contains(l.controllers, controller)) continue;
      std::vector<const detail::MountInfo*> candidates;
      for (const auto& m : mounts) {
        if (m.fstype == "cgroup" && contains(m.super_options, controller)) {
          candidates.push_back(&m);
        }
      }
      if (const auto* m = pick_mount(candidates, l.path)) {
        return group_dir(root, *m, l.path, CgroupVersion::V1, info.notes);
      }
      info.notes.push_back("v1 " + controller + " controller listed but not mounted");
    }
    if (v2_dir) {
      if (v2_controller_enabled(v2_dir->group, controller)) return *v2_dir;
      info.notes.push_back(controller + " controller not enabled in " + v2_dir->group.string());
      return {};
    }
    info.notes.push_back("no " + controller + " cgroup found");
    return {};
  };
  info.memory = resolve_controller("memory");
  info.cpu = resolve_controller("cpu");
  return info;
}

CgroupMemory read_cgroup_memory(const CgroupInfo& info) {
  CgroupMemory out;
  const CgroupDir& dir = info.memory;
  if (dir.version == CgroupVersion::None) return out;
  const bool v2 = dir.version == CgroupVersion::V2;

  for (const fs::path& level : levels(dir)) {
    if (v2) {
      take_min(out.limit_bytes, read_limit(level / "memory.max"));
      take_min(out.high_bytes, read_limit(level / "memory.high"));
    } else {
      take_min(out.limit_bytes, read_limit(level / "memory.limit_in_bytes"));
    }
  }

  auto stat = detail::read_file(dir.group / "memory.stat");
  std::optional<int64_t> inactive_file;
  if (stat) {
    if (v2) {
      inactive_file = detail::find_keyed_value(*stat, "inactive_file");
    } else {
      // Covers ancestors above a container's mount root, which the walk cannot see.
      auto hierarchical = detail::find_keyed_value(*stat, "hierarchical_memory_limit");
      if (hierarchical && *hierarchical >= 0) take_min(out.limit_bytes, limit_value(*hierarchical));
      // usage_in_bytes counts the whole subtree, so subtract the subtree's inactive file pages.
      inactive_file = detail::find_keyed_value(*stat, "total_inactive_file");
      if (!inactive_file) inactive_file = detail::find_keyed_value(*stat, "inactive_file");
    }
  }
  out.limit_bytes = unlimited_to_nullopt(out.limit_bytes);
  out.high_bytes = unlimited_to_nullopt(out.high_bytes);

  out.usage_bytes = read_int(dir.group / (v2 ? "memory.current" : "memory.usage_in_bytes"));
  if (out.usage_bytes && inactive_file) {
    out.working_set_bytes = std::max<int64_t>(0, *out.usage_bytes - *inactive_file);
  }

  if (v2) {
    if (auto events = detail::read_file(dir.group / "memory.events")) {
      out.events_high = detail::find_keyed_value(*events, "high");
      out.events_max = detail::find_keyed_value(*events, "max");
      out.events_oom = detail::find_keyed_value(*events, "oom");
      out.events_oom_kill = detail::find_keyed_value(*events, "oom_kill");
    }
  } else {
    out.failcnt = read_int(dir.group / "memory.failcnt");
  }
  return out;
}

std::optional<Psi> read_psi(const fs::path& pressure_file) {
  if (pressure_file.empty()) return std::nullopt;
  auto text = detail::read_file(pressure_file);
  if (!text) return std::nullopt;
  return detail::parse_psi(*text);
}

std::optional<int64_t> read_mem_total_bytes(const SysRoot& root) {
  auto text = detail::read_file(root.at("/proc/meminfo"));
  if (!text) return std::nullopt;
  auto kib = detail::find_keyed_value(*text, "MemTotal:");
  if (!kib || *kib <= 0) return std::nullopt;
  return *kib * 1024;
}

std::optional<int> read_cgroup_cpu_limit(const CgroupInfo& info) {
  const CgroupDir& dir = info.cpu;
  if (dir.version == CgroupVersion::None) return std::nullopt;
  std::optional<int64_t> cpus;
  for (const fs::path& level : levels(dir)) {
    if (dir.version == CgroupVersion::V2) {
      if (auto text = detail::read_file(level / "cpu.max")) {
        take_min(cpus, detail::parse_cpu_max(*text));
      }
    } else {
      auto quota = detail::read_file(level / "cpu.cfs_quota_us");
      auto period = detail::read_file(level / "cpu.cfs_period_us");
      if (quota && period) take_min(cpus, detail::parse_cfs_quota(*quota, *period));
    }
  }
  cpus = unlimited_to_nullopt(cpus);
  if (!cpus) return std::nullopt;
  return static_cast<int>(std::min<int64_t>(*cpus, 1 << 20));
}

int available_cpu_count() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) == 0) {
    int n = CPU_COUNT(&set);
    if (n > 0) return n;
  }
  return std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
}

int effective_cpu_count(const CgroupInfo& info, int available_cpus) {
  int n = std::max(1, available_cpus);
  if (auto limit = read_cgroup_cpu_limit(info)) n = std::min(n, *limit);
  return std::max(1, n);
}

// --- PsiTrigger ---

Result<PsiTrigger> PsiTrigger::arm(const fs::path& pressure_file, Kind kind,
                                   std::chrono::microseconds stall,
                                   std::chrono::microseconds window) {
  using std::chrono::microseconds;
  const std::string where = "psi trigger " + pressure_file.string();
  if (window < microseconds(500'000) || window > microseconds(10'000'000) ||
      stall <= microseconds(0) || stall > window) {
    return make_error(ErrorCode::InvalidInput,
                      where + ": need 0 < stall <= window and window in [500ms, 10s]");
  }
  int fd = ::open(pressure_file.c_str(), O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    int err = errno;
    return make_error(err == ENOENT ? ErrorCode::NotFound : ErrorCode::Unsupported,
                      where + ": open: " + std::strerror(err));
  }
  PsiTrigger trigger(fd);  // closes on every return below
  // A regular file would accept the write and "fire" at once; only the kernel's files arm.
  struct statfs st {};
  if (::fstatfs(fd, &st) != 0 ||
      (st.f_type != PROC_SUPER_MAGIC && st.f_type != static_cast<long>(CGROUP2_SUPER_MAGIC))) {
    return make_error(ErrorCode::Unsupported, where + ": not a proc or cgroup2 pressure file");
  }
  std::string spec = std::string(kind == Kind::Some ? "some " : "full ") +
                     std::to_string(stall.count()) + " " + std::to_string(window.count());
  // The kernel's example writes the terminating NUL too.
  if (::write(fd, spec.c_str(), spec.size() + 1) < 0) {
    int err = errno;
    return make_error(ErrorCode::Unsupported,
                      where + ": write \"" + spec + "\": " + std::strerror(err));
  }
  return trigger;
}

PsiTrigger::PsiTrigger(PsiTrigger&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}

PsiTrigger& PsiTrigger::operator=(PsiTrigger&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(other.fd_, -1);
  }
  return *this;
}

PsiTrigger::~PsiTrigger() {
  if (fd_ >= 0) ::close(fd_);
}

Result<bool> PsiTrigger::wait(std::chrono::milliseconds timeout) const {
  pollfd p{fd_, POLLPRI, 0};
  int rc = ::poll(&p, 1, static_cast<int>(std::clamp<int64_t>(timeout.count(), 0, INT32_MAX)));
  if (rc < 0) {
    if (errno == EINTR) return false;
    return make_error(ErrorCode::Internal,
                      std::string("psi trigger: poll: ") + std::strerror(errno));
  }
  if (rc == 0) return false;
  if ((p.revents & (POLLERR | POLLNVAL | POLLHUP)) != 0) {
    return make_error(ErrorCode::NotFound, "psi trigger: the pressure file went away");
  }
  return (p.revents & POLLPRI) != 0;
}

}  // namespace leancut::memory
